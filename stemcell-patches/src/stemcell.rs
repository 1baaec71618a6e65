//! The outer stemcell tarball: one pass reads it, repacking `image` into a spool file,
//! holding `stemcell.MF` and spooling every other member as stored; a second step writes
//! the output in the input's member order into a nameless file beside OUT, named only
//! when complete (`stemcell.MF` holds the image's SHA-1).

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::bufread::MultiGzDecoder;

use crate::image::{ImageReport, normalize, repack_image};
use crate::manifest::{Choices, FieldChange, Manifest};
use crate::output::Pending;
use crate::overlay::Overlay;
use crate::progress::{Progress, ProgressReader};
use crate::spool::{GzipSpool, Spooled};
use crate::tarstream::{Member, TarReader, TarWriter};

/// Gzip level of the image: gzip's default, as stemcell builders use.
pub const IMAGE_LEVEL: u32 = 6;
/// Gzip level of the outer tarball; almost all of it is the already compressed image.
pub const OUTER_LEVEL: u32 = 6;
/// Largest `stemcell.MF` accepted (real ones are under 1 KiB).
const MAX_MANIFEST: u64 = 1 << 20;

/// What to repack, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The stock stemcell.
    pub input: PathBuf,
    /// Where the repacked stemcell goes; must not exist.
    pub output: PathBuf,
    /// `--name`.
    pub name: Option<String>,
    /// `--stemcell-version`.
    pub version: Option<String>,
    /// Read and report only; write nothing.
    pub dry_run: bool,
    /// Show progress on stderr when it is a terminal.
    pub progress: bool,
}

/// What a repack did (or would do).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The image's changes.
    pub image: ImageReport,
    /// The manifest's changed keys.
    pub manifest: Vec<FieldChange>,
    /// The output's name and version.
    pub name: String,
    /// See `name`.
    pub version: String,
}

/// Where each member of the input goes in the output, in order.
enum Slot {
    Manifest(Member),
    Image(Member),
    Other { start: u64, len: u64 },
}

/// Everything the read pass found.
struct ReadPass {
    slots: Vec<Slot>,
    manifest: Option<Manifest>,
    image: Option<(ImageReport, Option<Spooled>)>,
    others: Option<File>,
}

/// Refuses a missing input, an existing output and a missing output directory, each
/// with what to do.
pub fn check_paths(opts: &Options) -> Result<()> {
    let input = opts.input.display();
    match fs::metadata(&opts.input) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "stemcell {input} does not exist: give the path of a stock warden stemcell \
             tarball (bosh-stemcell-*-warden-*.tgz)"
        ),
        Ok(meta) if meta.is_dir() => bail!(
            "stemcell {input} is a directory: give the path of a stock warden stemcell \
             tarball (bosh-stemcell-*-warden-*.tgz)"
        ),
        _ => {}
    }
    if fs::symlink_metadata(&opts.output).is_ok() {
        bail!(
            "output {} already exists: remove it or choose another path",
            opts.output.display()
        );
    }
    out_dir(&opts.output).map(|_| ())
}

/// Repacks `opts.input` into `opts.output` with `overlay` added to the image.
pub fn repack(opts: &Options, overlay: &Overlay) -> Result<Outcome> {
    let input = opts.input.display().to_string();
    check_paths(opts)?;
    let dir = out_dir(&opts.output)?;
    let read = read_input(opts, overlay, &dir).map_err(|e| explain(e, &input))?;
    let manifest = read
        .manifest
        .with_context(|| format!("{input} is not a stemcell: it has no stemcell.MF"))?;
    let (report, spooled) = read
        .image
        .with_context(|| format!("stemcell {input} has no image"))?;
    // A dry run compresses nothing: the SHA-1 stays when no member changes (true of a
    // repack by this tool with the same helper and overlay).
    let old_sha1 = manifest.get("sha1").unwrap_or_default();
    let sha1 = match &spooled {
        Some(s) => s.sha1.as_str(),
        None if report.is_unchanged() => old_sha1.as_str(),
        None => "(SHA-1 of the new image)",
    };
    let choices = Choices {
        name: opts.name.as_deref(),
        version: opts.version.as_deref(),
        helper_version: &overlay.helper_version,
        repack_id: &overlay.repack_id,
        sha1,
    };
    let (text, changes) = manifest
        .rewrite(&choices)
        .with_context(|| format!("stemcell.MF of {input}"))?;
    let outcome = Outcome {
        image: report,
        manifest: changes,
        name: opts.name.clone().map_or_else(|| manifest.name(), Ok)?,
        version: manifest.new_version(&choices)?,
    };
    if let (Some(spooled), Some(others)) = (spooled, read.others) {
        write_output(opts, &dir, &read.slots, &text, spooled, others)
            .with_context(|| format!("writing {}", opts.output.display()))?;
    }
    Ok(outcome)
}

/// Names the input in a read error, and says so when the cause is a file that ends early.
fn explain(err: anyhow::Error, input: &str) -> anyhow::Error {
    let early = err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::UnexpectedEof)
    });
    if early {
        err.context(format!(
            "stemcell {input} is truncated (it ends in the middle of its data)"
        ))
    } else {
        err.context(format!("stemcell {input}"))
    }
}

fn out_dir(output: &Path) -> Result<PathBuf> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!(
            "output directory {} does not exist: create it or choose another path",
            dir.display()
        );
    }
    Ok(dir)
}

/// Opens `file`, gunzipping it when it starts with the gzip magic.
fn maybe_gunzip<'a>(file: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::with_capacity(1 << 16, file);
    let magic = buffered.fill_buf()?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}

fn read_input(opts: &Options, overlay: &Overlay, dir: &Path) -> Result<ReadPass> {
    let file = File::open(&opts.input).context("opening it")?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let label = format!("reading {}", opts.input.display());
    let counted = ProgressReader::new(file, Progress::new(label, total, opts.progress));
    let mut reader = TarReader::new(maybe_gunzip(counted)?);
    let mut others = match opts.dry_run {
        true => None,
        false => Some(tempfile::tempfile_in(dir).context("creating a spool file")?),
    };
    let mut found = ReadPass {
        slots: Vec::new(),
        manifest: None,
        image: None,
        others: None,
    };
    while let Some(member) = reader.next_member()? {
        let (_, name) = normalize(&member.path);
        match name {
            b"stemcell.MF" | b"image" if member.pax_size => {
                bail!(
                    "{}: a pax size record is not supported here",
                    member.display_path()
                )
            }
            b"stemcell.MF" => {
                if member.size > MAX_MANIFEST {
                    bail!(
                        "stemcell.MF is {} bytes, more than a manifest has",
                        member.size
                    );
                }
                let mut bytes = Vec::new();
                reader
                    .copy_data(&mut bytes)
                    .context("reading stemcell.MF")?;
                found.manifest = Some(Manifest::parse(&bytes).context("stemcell.MF")?);
                found.slots.push(Slot::Manifest(member));
            }
            b"image" => {
                if found.image.is_some() {
                    bail!("it has two members named image");
                }
                if !member.entry_type().is_file() {
                    bail!("its image is not a regular file");
                }
                let image = repack_image_member(&mut reader, overlay, dir, opts.dry_run)
                    .context("image")?;
                found.image = Some(image);
                found.slots.push(Slot::Image(member));
            }
            _ => {
                if let Some(spool) = others.as_mut() {
                    let start = spool.stream_position()?;
                    spool.write_all(&member.prefix)?;
                    spool.write_all(member.header.as_bytes())?;
                    spool.write_all(&member.sparse_blocks)?;
                    reader.copy_data(spool)?;
                    let pad = crate::tarstream::padded(member.size) - member.size;
                    spool.write_all(&vec![0u8; usize::try_from(pad)?])?;
                    let len = spool.stream_position()? - start;
                    found.slots.push(Slot::Other { start, len });
                }
            }
        }
    }
    let counted = reader.finish()?;
    drop(counted);
    found.others = others;
    Ok(found)
}

/// Repacks the image member the reader is on into a spool file (or nowhere, dry run).
fn repack_image_member<R: Read>(
    reader: &mut TarReader<R>,
    overlay: &Overlay,
    dir: &Path,
    dry_run: bool,
) -> Result<(ImageReport, Option<Spooled>)> {
    let rootfs = maybe_gunzip(reader.data())?;
    if dry_run {
        let (report, _) = repack_image(rootfs, io::sink(), overlay)?;
        return Ok((report, None));
    }
    let file = tempfile::tempfile_in(dir).context("creating a spool file")?;
    let mut spool = GzipSpool::new(file, IMAGE_LEVEL);
    match repack_image(rootfs, &mut spool, overlay) {
        Ok((report, _)) => Ok((report, Some(spool.finish()?))),
        // A failed compressor is the cause of the failed write: report it first.
        Err(e) => Err(spool.finish().err().unwrap_or(e)),
    }
}

fn write_output(
    opts: &Options,
    dir: &Path,
    slots: &[Slot],
    manifest: &str,
    image: Spooled,
    mut others: File,
) -> Result<()> {
    let pending = Pending::create(dir, &opts.output)?;
    let mut tar = TarWriter::new(GzipSpool::new(pending.file().try_clone()?, OUTER_LEVEL));
    let label = format!("writing {}", opts.output.display());
    let mut image_data = Some(ProgressReader::new(
        image.file,
        Progress::new(label, image.size, opts.progress),
    ));
    for slot in slots {
        match slot {
            Slot::Manifest(member) => {
                let bytes = manifest.as_bytes();
                write_header(&mut tar, member, bytes.len() as u64)?;
                tar.write_data(&mut &bytes[..], bytes.len() as u64)?;
            }
            Slot::Image(member) => {
                let mut data = image_data.take().context("one image")?;
                write_header(&mut tar, member, image.size)?;
                tar.write_data(&mut data, image.size)?;
                data.finish();
            }
            Slot::Other { start, len } => {
                others.seek(SeekFrom::Start(*start))?;
                let copied = io::copy(&mut (&mut others).take(*len), tar.inner_mut())?;
                if copied != *len {
                    bail!("spool file is shorter than written");
                }
            }
        }
    }
    tar.finish()?.finish()?;
    pending.commit(&opts.output)
}

/// Writes `member`'s extension members and header with its size set to `size`.
fn write_header<W: Write>(tar: &mut TarWriter<W>, member: &Member, size: u64) -> Result<()> {
    let mut header = member.header.clone();
    header.set_size(size);
    header.set_cksum();
    tar.write_blocks(&member.prefix)?;
    tar.write_blocks(header.as_bytes())
}

#[cfg(test)]
mod tests;
