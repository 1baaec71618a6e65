//! What a repack adds to the rootfs: the overlay tree (built in, or a directory read at run
//! time) plus the helper.
//!
//! The overlay mirrors the rootfs (`overlay/README.md` describes each file). Its
//! top-level `README.md` is not part of it, and a `.keep` file stands for its otherwise
//! empty directory. Every added entry belongs to root:root; regular files get 0755 when
//! their source has an execute bit and 0644 otherwise (git keeps only that bit),
//! directories 0755, symbolic links 0777. Parent directories of added entries are added
//! too when the image lacks them. The overlay may not hold `monit-actual`: that name is
//! kept for the image's monit binary (`image::monit`). The built-in tree and the same
//! tree read from a directory give the same entries, so the same repack id.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bosh_lxd_contract::paths;
use sha2::{Digest, Sha256};

use crate::digest::{HashingWriter, hex, hex12};
use crate::embedded::{self, RawKind};

/// Where the helper goes in the rootfs: where the boot hooks and the CPI run it.
pub const HELPER_PATH: &str = paths::in_rootfs(paths::HELPER);
/// The monit binary the overlay's wrapper starts: `image::monit` keeps the image's monit
/// under this name, so the overlay may not hold it.
pub const MONIT_ACTUAL_PATH: &str = "var/vcap/bosh/bin/monit-actual";

/// Bumped when the way entries are added changes, so that the repack id changes too.
const FORMAT: &str = "bosh-lxd-repack/2";

/// Where the content of an added file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on this machine, read when it is written.
    File(PathBuf),
    /// Bytes built into this program.
    BuiltIn(&'static [u8]),
}

impl Source {
    /// A reader of the content.
    pub fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            Source::File(path) => Box::new(File::open(path)?),
            Source::BuiltIn(bytes) => Box::new(*bytes),
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::BuiltIn(_) => f.write_str("(built into repack-stemcell)"),
        }
    }
}

/// Which overlay tree a repack adds.
#[derive(Debug, Clone, Copy)]
pub enum Tree<'a> {
    /// The tree built into this program.
    BuiltIn,
    /// A directory given with `--overlay`.
    Dir(&'a Path),
}

impl fmt::Display for Tree<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tree::BuiltIn => f.write_str("(built into repack-stemcell)"),
            Tree::Dir(dir) => write!(f, "{}", dir.display()),
        }
    }
}

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
        /// Where its content is.
        source: Source,
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

/// A file or link found in an overlay tree, before the tree's rules apply.
enum Found {
    File { exec: bool, source: Source },
    Symlink(Vec<u8>),
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
    /// Reads the overlay `tree` and adds the `helper` binary at [`HELPER_PATH`].
    pub fn load(tree: Tree<'_>, helper: &Source) -> Result<Overlay> {
        let mut entries = BTreeMap::new();
        match tree {
            Tree::BuiltIn => built_in(&mut entries)?,
            Tree::Dir(dir) => {
                match fs::metadata(dir) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => bail!("overlay {} is not a directory", dir.display()),
                    Err(e) => bail!(
                        "overlay {}: {e}; give --overlay a directory that mirrors the rootfs \
                         (like stemcell-patches/overlay), or leave --overlay out to use the \
                         built-in one",
                        dir.display()
                    ),
                }
                walk(dir, "", &mut entries)?;
            }
        }
        let helper_entry = helper_file(helper)?;
        let helper_version = helper_version(&helper_entry);
        if entries.contains_key(HELPER_PATH) {
            bail!("overlay {tree} has its own /{HELPER_PATH}; the helper comes from --helper");
        }
        if entries.contains_key(MONIT_ACTUAL_PATH) {
            bail!(
                "overlay {tree} has its own /{MONIT_ACTUAL_PATH}; that name is kept for the \
                 image's monit binary"
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

    /// The `helper_version` a repack with the built-in helper gives it, if there is one.
    pub fn built_in_helper_version() -> Option<String> {
        let bytes = embedded::HELPER?;
        Some(helper_version(&Added::File {
            source: Source::BuiltIn(bytes),
            size: bytes.len() as u64,
            mode: 0o755,
            sha256: Sha256::digest(bytes).to_vec(),
        }))
    }

    /// The entry for a relative path, if the overlay has one.
    pub fn get(&self, path: &str) -> Option<&Added> {
        self.entries.get(path)
    }
}

/// `<crate version>+<first 12 hex of the helper's SHA-256>`.
fn helper_version(helper: &Added) -> String {
    let sha256 = match helper {
        Added::File { sha256, .. } => sha256.as_slice(),
        _ => &[],
    };
    format!("{}+{}", env!("CARGO_PKG_VERSION"), hex12(sha256))
}

/// Reads the tree built into this program into `out`.
fn built_in(out: &mut BTreeMap<String, Added>) -> Result<()> {
    for raw in embedded::OVERLAY {
        let (rel, name) = raw.path.rsplit_once('/').unwrap_or(("", raw.path));
        let found = match raw.kind {
            RawKind::File { exec, bytes } => Found::File {
                exec,
                source: Source::BuiltIn(bytes),
            },
            RawKind::Symlink(target) => Found::Symlink(target.to_vec()),
        };
        place(out, rel, name, found)?;
    }
    Ok(())
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
        let path = item.path();
        let meta = fs::symlink_metadata(&path).with_context(|| format!("{}", path.display()))?;
        let found = if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).with_context(|| format!("{}", path.display()))?;
            Found::Symlink(target.as_os_str().as_bytes().to_vec())
        } else if meta.is_dir() {
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            walk(root, &child, out)?;
            continue;
        } else if meta.is_file() {
            Found::File {
                exec: meta.permissions().mode() & 0o111 != 0,
                source: Source::File(path),
            }
        } else {
            bail!(
                "overlay entry {} is neither a file, a directory nor a symlink",
                path.display()
            );
        };
        place(out, rel, name, found)?;
    }
    Ok(())
}

/// Applies the tree's rules to the file or link `name` found in directory `rel`.
fn place(out: &mut BTreeMap<String, Added>, rel: &str, name: &str, found: Found) -> Result<()> {
    if rel.is_empty() && name == "README.md" {
        return Ok(());
    }
    if name == ".keep" {
        if !rel.is_empty() {
            out.insert(rel.to_string(), Added::Dir { explicit: true });
        }
        return Ok(());
    }
    let child = if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    };
    let added = match found {
        Found::File { exec, source } => file_entry(source, if exec { 0o755 } else { 0o644 })?,
        Found::Symlink(target) => Added::Symlink { target },
    };
    out.insert(child, added);
    Ok(())
}

fn helper_file(helper: &Source) -> Result<Added> {
    let head = match helper {
        Source::BuiltIn(bytes) => bytes[..bytes.len().min(1 << 16)].to_vec(),
        Source::File(path) => read_head(path)?,
    };
    match elf_interpreter(&head) {
        None => bail!("helper {helper} is not a 64-bit ELF executable"),
        Some(true) => bail!(
            "helper {helper} is dynamically linked; the stemcell needs the static build of \
             `scripts/build-helper`"
        ),
        Some(false) => file_entry(helper.clone(), 0o755),
    }
}

/// The first 64 KiB of the helper file at `path`.
fn read_head(path: &Path) -> Result<Vec<u8>> {
    let what_to_do = "give --helper the static helper that `scripts/build-helper` prints, \
                      or leave --helper out to use the one built in";
    let meta = fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("helper {}: {e}; {what_to_do}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "helper {} is not a regular file; {what_to_do}",
            path.display()
        );
    }
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .map_err(|e| anyhow::anyhow!("reading helper {}: {e}; {what_to_do}", path.display()))?;
    Ok(head)
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

fn file_entry(source: Source, mode: u32) -> Result<Added> {
    let mut f = source.open().with_context(|| format!("opening {source}"))?;
    let mut hasher = HashingWriter::<_, Sha256>::new(io::sink());
    io::copy(&mut f, &mut hasher).with_context(|| format!("reading {source}"))?;
    let (_, sha256, size) = hasher.finish();
    Ok(Added::File {
        source,
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
