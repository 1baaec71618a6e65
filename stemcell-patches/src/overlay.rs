//! What a repack adds to the rootfs: the overlay tree (read at run time) plus the helper.
//!
//! The overlay directory mirrors the rootfs (`overlay/README.md` describes each file).
//! Its top-level `README.md` is not part of it, and a `.keep` file stands for its
//! otherwise empty directory. Every added entry belongs to root:root; regular files get
//! 0755 when their source has an execute bit and 0644 otherwise (git keeps only that
//! bit), directories 0755, symbolic links 0777. Parent directories of added entries are
//! added too when the image lacks them. The overlay may not hold `monit-actual`: that
//! name is kept for the image's monit binary (`image::monit`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::digest::{HashingWriter, hex, hex12};
use crate::image::monit::MONIT_ACTUAL_PATH;

/// Where the helper goes in the rootfs.
pub const HELPER_PATH: &str = "var/vcap/bosh/bin/bosh-lxd-helper";

/// Bumped when the way entries are added changes, so that the repack id changes too.
const FORMAT: &str = "bosh-lxd-repack/2";

/// One path the repack puts into the rootfs (paths are relative, without `./`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A directory: created when missing, a directory already in the image is kept.
    Dir {
        /// Named by the overlay (`.keep`) rather than only the parent of another entry.
        explicit: bool,
    },
    /// A regular file, read from `source` when it is written.
    File {
        /// The file on this machine.
        source: PathBuf,
        /// Its size when the overlay was read (checked again when copied).
        size: u64,
        /// 0o755 or 0o644.
        mode: u32,
        /// SHA-256 of the content.
        sha256: Vec<u8>,
    },
    /// A symbolic link to `target`.
    Symlink {
        /// The link's target, as stored in the overlay.
        target: Vec<u8>,
    },
}

/// Everything one repack adds, keyed and ordered by path.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Added entries by relative path; a parent sorts before its children.
    pub entries: BTreeMap<String, Added>,
    /// `<crate version>+<first 12 hex of the helper's SHA-256>`.
    pub helper_version: String,
    /// First 12 hex of a SHA-256 over every added entry: what the version suffix names.
    pub repack_id: String,
}

impl Overlay {
    /// Reads the overlay tree at `dir` and adds the helper binary at [`HELPER_PATH`].
    pub fn load(dir: &Path, helper: &Path) -> Result<Overlay> {
        let mut entries = BTreeMap::new();
        let meta = fs::metadata(dir).with_context(|| format!("overlay {}", dir.display()))?;
        if !meta.is_dir() {
            bail!("overlay {} is not a directory", dir.display());
        }
        walk(dir, "", &mut entries)?;
        let helper_entry = helper_file(helper)?;
        let Added::File { sha256, .. } = &helper_entry else {
            bail!("helper {} is not a regular file", helper.display());
        };
        let helper_version = format!("{}+{}", env!("CARGO_PKG_VERSION"), hex12(sha256));
        if entries.contains_key(HELPER_PATH) {
            bail!(
                "overlay {} has its own /{HELPER_PATH}; the helper comes from --helper",
                dir.display()
            );
        }
        if entries.contains_key(MONIT_ACTUAL_PATH) {
            bail!(
                "overlay {} has its own /{MONIT_ACTUAL_PATH}; that name is kept for the \
                 image's monit binary",
                dir.display()
            );
        }
        entries.insert(HELPER_PATH.to_string(), helper_entry);
        add_parents(&mut entries);
        let repack_id = hex12(&digest(&entries));
        Ok(Overlay {
            entries,
            helper_version,
            repack_id,
        })
    }

    /// The entry for a relative path, if the overlay has one.
    pub fn get(&self, path: &str) -> Option<&Added> {
        self.entries.get(path)
    }
}

/// Reads the tree under `root.join(rel)` into `out`.
fn walk(root: &Path, rel: &str, out: &mut BTreeMap<String, Added>) -> Result<()> {
    let dir = root.join(rel);
    let listing = fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
    for item in listing {
        let item = item.with_context(|| format!("listing {}", dir.display()))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else {
            bail!("overlay file name {:?} is not UTF-8", item.path());
        };
        if (rel.is_empty() && name == "README.md") || name == ".keep" {
            if name == ".keep" && !rel.is_empty() {
                out.insert(rel.to_string(), Added::Dir { explicit: true });
            }
            continue;
        }
        let child = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let path = item.path();
        let meta = fs::symlink_metadata(&path).with_context(|| format!("{}", path.display()))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).with_context(|| format!("{}", path.display()))?;
            let target = target.as_os_str().as_bytes().to_vec();
            out.insert(child, Added::Symlink { target });
        } else if meta.is_dir() {
            walk(root, &child, out)?;
        } else if meta.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            out.insert(child, file_entry(&path, mode)?);
        } else {
            bail!(
                "overlay entry {} is neither a file, a directory nor a symlink",
                path.display()
            );
        }
    }
    Ok(())
}

fn helper_file(helper: &Path) -> Result<Added> {
    let meta = fs::metadata(helper).with_context(|| format!("helper {}", helper.display()))?;
    if !meta.is_file() {
        bail!("helper {} is not a regular file", helper.display());
    }
    let mut head = Vec::new();
    File::open(helper)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .with_context(|| format!("reading helper {}", helper.display()))?;
    match elf_interpreter(&head) {
        None => bail!("helper {} is not a 64-bit ELF executable", helper.display()),
        Some(true) => bail!(
            "helper {} is dynamically linked; the stemcell needs the static build of \
             `scripts/build-helper`",
            helper.display()
        ),
        Some(false) => file_entry(helper, 0o755),
    }
}

/// Whether a 64-bit little-endian ELF file asks for a program interpreter (is dynamically
/// linked): `None` when `head` (the file's start) is not such a file. The helper runs on
/// whatever libc a stemcell has, so only a static one will do (`elf(5)`: `PT_INTERP`).
fn elf_interpreter(head: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?));
    let phoff = usize::try_from(u64::from_le_bytes(head.get(0x20..0x28)?.try_into().ok()?)).ok()?;
    let (phentsize, phnum) = (usize::from(u16_at(0x36)?), usize::from(u16_at(0x38)?));
    let mut interp = false;
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let kind = u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?);
        interp |= kind == PT_INTERP;
    }
    Some(interp)
}

fn file_entry(path: &Path, mode: u32) -> Result<Added> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = HashingWriter::<_, Sha256>::new(io::sink());
    io::copy(&mut f, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    let (_, sha256, size) = hasher.finish();
    Ok(Added::File {
        source: path.to_path_buf(),
        size,
        mode,
        sha256,
    })
}

/// Adds an implicit directory entry for every missing parent of an entry.
fn add_parents(entries: &mut BTreeMap<String, Added>) {
    let parents: Vec<String> = entries
        .keys()
        .flat_map(|p| {
            p.match_indices('/')
                .map(|(i, _)| p[..i].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for parent in parents {
        entries
            .entry(parent)
            .or_insert(Added::Dir { explicit: false });
    }
}

/// SHA-256 over a canonical listing of the entries (path, kind, mode, content digest):
/// everything that decides the bytes a repack writes.
fn digest(entries: &BTreeMap<String, Added>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(FORMAT.as_bytes());
    h.update(b"\n");
    for (path, added) in entries {
        let line = match added {
            Added::Dir { .. } => format!("dir {path}\n"),
            Added::File { mode, sha256, .. } => {
                format!("file {mode:o} {path} {}\n", hex(sha256))
            }
            Added::Symlink { target } => {
                format!("symlink {path} {}\n", hex(target))
            }
        };
        h.update(line.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests;
