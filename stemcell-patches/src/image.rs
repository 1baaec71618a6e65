//! The `image` rootfs tarball: each member copied as stored, the overlay's entries taking
//! the place of members with the same path and the others appended at the end.
//!
//! A directory the overlay names is only made sure of: one already in the image keeps
//! its owner and mode. Files and symbolic links of the overlay replace the image's member
//! in place (its extension members go with it), so a rootfs never holds two copies. What
//! is left is appended in path order, parents first. Added members are GNU-format,
//! root:root, with mtime [`ADDED_MTIME`], so the same inputs give the same bytes. The
//! image's `var/vcap/bosh/bin/monit` may be the monit binary: [`monit`] keeps it.

pub mod monit;

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

use anyhow::{Context, Result, bail};
use sha2::Sha256;
use tar::{EntryType, Header};

use crate::digest::HashingWriter;
use crate::overlay::{Added, Overlay};
use crate::tarstream::{BLOCK_LEN, Member, TarReader, TarWriter};
use monit::{CsrfScan, MONIT_PATH, MonitSeen};

/// Modification time of every added member: fixed, so that output bytes depend only on
/// the inputs (the Unix epoch, as reproducible builds do without a source date).
pub const ADDED_MTIME: u64 = 0;

/// Longest name that fits a GNU header; longer ones get a GNU long-name member.
const NAME_FIELD: usize = 100;

/// What a repack did (or, in a dry run, would do) to the image.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImageReport {
    /// Members read from the stock image.
    pub members: u64,
    /// Overlay entries, in output order, with what happened to each.
    pub changes: Vec<Change>,
    /// Things a user should know (a hard link to a replaced file).
    pub warnings: Vec<String>,
}

impl ImageReport {
    /// True when the image comes out as it went in.
    pub fn is_unchanged(&self) -> bool {
        self.changes
            .iter()
            .all(|c| matches!(c, Change::Same(_) | Change::KeptDir(_)))
    }
}

/// What happened to one overlay entry; each names the path as written in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Took the place of a different member at the same path.
    Replaced(String),
    /// The member at that path was already exactly the overlay's.
    Same(String),
    /// A directory the image already had, kept as it was.
    KeptDir(String),
    /// Appended: the image had nothing at that path.
    Added(String),
    /// The image's member at an overlay path, kept as it was under another name (the
    /// monit binary, kept as `monit-actual`).
    KeptAs {
        /// Its path in the image.
        from: String,
        /// Its path in the output.
        to: String,
    },
}

/// Copies the rootfs tarball `input` to `out` with the overlay applied.
pub fn repack_image<R: Read, W: Write>(
    input: R,
    out: W,
    overlay: &Overlay,
) -> Result<(ImageReport, W)> {
    let mut reader = TarReader::new(input);
    let mut writer = TarWriter::new(out);
    let mut report = ImageReport::default();
    let mut found = BTreeSet::new();
    let mut lead: Option<Vec<u8>> = None;
    let mut shape = Shape::default();
    let mut monit = MonitSeen::default();
    while let Some(member) = reader.next_member()? {
        report.members += 1;
        let (lead_len, norm) = normalize(&member.path);
        lead.get_or_insert_with(|| member.path[..lead_len].to_vec());
        shape.note(norm, &member);
        let key = std::str::from_utf8(norm).ok();
        match key.and_then(|k| overlay.get(k).map(|a| (k, a))) {
            Some((key, Added::Dir { .. })) => {
                found.insert(key.to_string());
                report.changes.push(Change::KeptDir(member.display_path()));
                copy_member(&mut reader, &mut writer, &member, None)?;
            }
            Some((key, added @ Added::File { .. })) if key == MONIT_PATH => {
                found.insert(key.to_string());
                let changes = monit.place(&mut reader, &mut writer, &member, lead_len, added)?;
                report.changes.extend(changes);
            }
            Some((key, added)) => {
                found.insert(key.to_string());
                let name = [&member.path[..lead_len], norm].concat();
                let change = replace(&mut reader, &mut writer, &member, &name, added, &[])?;
                report.changes.push(change);
            }
            None => {
                let actual = monit.note_stock(key, &member)?;
                warn_hard_link(&member, overlay, &mut report.warnings);
                let mut scan = CsrfScan::default();
                copy_member(
                    &mut reader,
                    &mut writer,
                    &member,
                    actual.then_some(&mut scan),
                )?;
                if actual {
                    monit.note_scan(member.display_path(), &scan);
                }
            }
        }
    }
    reader.finish()?;
    shape.check()?;
    if matches!(overlay.get(MONIT_PATH), Some(Added::File { .. })) {
        report.warnings.extend(monit.warnings());
    }
    let lead = lead.unwrap_or_default();
    for (path, added) in &overlay.entries {
        if found.contains(path) {
            continue;
        }
        let mut name = [&lead[..], path.as_bytes()].concat();
        if matches!(added, Added::Dir { .. }) {
            name.push(b'/');
        }
        write_added(&mut writer, &name, added)?;
        report
            .changes
            .push(Change::Added(String::from_utf8_lossy(&name).into_owned()));
    }
    Ok((report, writer.finish()?))
}

/// Path of the BOSH agent in a stemcell's rootfs: without it no VM of the stemcell would
/// ever answer the director.
pub const AGENT_PATH: &str = "var/vcap/bosh/bin/bosh-agent";

/// What makes the tarball a stemcell's root filesystem, noted member by member.
#[derive(Debug, Default)]
struct Shape {
    etc: bool,
    bin: bool,
    agent: bool,
}

impl Shape {
    fn note(&mut self, norm: &[u8], member: &Member) {
        let under =
            |d: &[u8]| norm == d || (norm.starts_with(d) && norm.get(d.len()) == Some(&b'/'));
        self.etc |= under(b"etc");
        self.bin |= under(b"bin") || under(b"usr/bin");
        self.agent |= norm == AGENT_PATH.as_bytes()
            && matches!(
                member.entry_type(),
                EntryType::Regular | EntryType::Continuous | EntryType::Symlink | EntryType::Link
            );
    }

    /// Refuses an archive that is no root filesystem, or one with no agent.
    fn check(&self) -> Result<()> {
        if !(self.etc && self.bin) {
            bail!("not a root filesystem tarball: it has no ./etc or no ./bin (nor ./usr/bin)");
        }
        if !self.agent {
            bail!(
                "not a BOSH stemcell: its image has no /{AGENT_PATH} (a file or a link), so no VM \
                 made from it would ever answer the director; repack a stemcell that has the agent"
            );
        }
        Ok(())
    }
}

/// Splits a member path into its leading `./` or `/` and the normalised relative path
/// (no leading `./`, no trailing `/`): `./etc/` → (2, `etc`).
pub fn normalize(path: &[u8]) -> (usize, &[u8]) {
    let mut start = 0;
    loop {
        let rest = &path[start..];
        if rest.starts_with(b"./") {
            start += 2;
        } else if rest.starts_with(b"/") {
            start += 1;
        } else {
            break;
        }
    }
    let mut end = path.len();
    while end > start && path[end - 1] == b'/' {
        end -= 1;
    }
    if &path[start..end] == b"." {
        end = start;
    }
    (start, &path[start..end])
}

/// Copies `member` as stored, its data shown to `scan` on the way when there is one.
fn copy_member<R: Read, W: Write>(
    reader: &mut TarReader<R>,
    writer: &mut TarWriter<W>,
    member: &Member,
    scan: Option<&mut CsrfScan>,
) -> Result<()> {
    writer.write_blocks(&member.prefix)?;
    writer.write_blocks(member.header.as_bytes())?;
    writer.write_blocks(&member.sparse_blocks)?;
    let out = writer.inner_mut();
    match scan {
        Some(scan) => reader.copy_data(&mut monit::Tee { out, scan }),
        None => reader.copy_data(out),
    }
    .with_context(|| format!("copying {}", member.display_path()))?;
    writer.pad(member.size)
}

/// Writes the overlay's entry in place of `member`, whose first bytes of data, `head`, may
/// have been read already; [`Change::Same`] when it is identical.
fn replace<R: Read, W: Write>(
    reader: &mut TarReader<R>,
    writer: &mut TarWriter<W>,
    member: &Member,
    name: &[u8],
    added: &Added,
    head: &[u8],
) -> Result<Change> {
    let blocks = added_blocks(name, added)?;
    let stock_blocks = [
        &member.prefix[..],
        member.header.as_bytes(),
        &member.sparse_blocks,
    ]
    .concat();
    let mut same = blocks == stock_blocks;
    if same && let Added::File { sha256, .. } = added {
        let mut hasher = HashingWriter::<_, Sha256>::new(io::sink());
        hasher.write_all(head)?;
        reader.copy_data(&mut hasher)?;
        same = hasher.finish().1 == *sha256;
    }
    write_added(writer, name, added)?;
    let path = member.display_path();
    Ok(if same {
        Change::Same(path)
    } else {
        Change::Replaced(path)
    })
}

/// Warns when a hard link in the image points at a path the overlay replaces: it would
/// then link to the overlay's file.
fn warn_hard_link(member: &Member, overlay: &Overlay, warnings: &mut Vec<String>) {
    if member.entry_type() != EntryType::Link {
        return;
    }
    let Some(target) = &member.link else { return };
    let (_, norm) = normalize(target);
    let replaced = std::str::from_utf8(norm)
        .ok()
        .and_then(|k| overlay.get(k))
        .is_some_and(|a| !matches!(a, Added::Dir { .. }));
    if replaced {
        warnings.push(format!(
            "{} is a hard link to {}, which the overlay replaces: it links to the overlay's file",
            member.display_path(),
            String::from_utf8_lossy(target)
        ));
    }
}

fn write_added<W: Write>(writer: &mut TarWriter<W>, name: &[u8], added: &Added) -> Result<()> {
    writer.write_blocks(&added_blocks(name, added)?)?;
    if let Added::File { source, size, .. } = added {
        let mut f = source.open().with_context(|| format!("opening {source}"))?;
        writer
            .write_data(&mut f, *size)
            .with_context(|| format!("copying {source} (changed while repacking?)"))?;
    }
    Ok(())
}

/// The extension members and header of an added entry.
fn added_blocks(name: &[u8], added: &Added) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut header = root_header()?;
    let (kind, mode, size, link) = match added {
        Added::Dir { .. } => (EntryType::Directory, 0o755, 0, None),
        Added::File { size, mode, .. } => (EntryType::Regular, *mode, *size, None),
        Added::Symlink { target } => (EntryType::Symlink, 0o777, 0, Some(target.as_slice())),
    };
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    if name.len() > NAME_FIELD {
        long_member(&mut out, EntryType::GNULongName, name)?;
    }
    if let Some(link) = link
        && link.len() > NAME_FIELD
    {
        long_member(&mut out, EntryType::GNULongLink, link)?;
    }
    let gnu = header.as_gnu_mut().context("a GNU header has GNU fields")?;
    fill(&mut gnu.name, name);
    if let Some(link) = link {
        fill(&mut gnu.linkname, link);
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    Ok(out)
}

/// A GNU long-name or long-link member carrying `text` (NUL-terminated, as GNU tar does).
fn long_member(out: &mut Vec<u8>, kind: EntryType, text: &[u8]) -> Result<()> {
    let mut header = root_header()?;
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(text.len() as u64 + 1);
    let gnu = header.as_gnu_mut().context("a GNU header has GNU fields")?;
    fill(&mut gnu.name, b"././@LongLink");
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    let mut data = text.to_vec();
    data.push(0);
    data.resize(data.len().div_ceil(BLOCK_LEN) * BLOCK_LEN, 0);
    out.extend_from_slice(&data);
    Ok(())
}

fn root_header() -> Result<Header> {
    let mut header = Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(ADDED_MTIME);
    header.set_username("root")?;
    header.set_groupname("root")?;
    Ok(header)
}

/// Copies as much of `value` as fits into a NUL-padded header field.
fn fill(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    field[n..].fill(0);
}

#[cfg(test)]
mod tests;
