//! Gzipped tar archives: written byte for byte reproducibly, and read back into memory.
//!
//! Written archives hold the items plus one entry per parent directory, sorted by path
//! components (a directory before what it holds), owned by 0:0, with a fixed mtime and
//! mode 0755 (directories, files with an exec bit) or 0644. Names are written into the
//! headers as given, so `./` prefixes survive (the `tar` crate's path setters drop them);
//! names of 100 bytes or more get a GNU long-name entry, as GNU tar writes them. The gzip
//! header carries no file name and mtime 0, so the bytes depend only on the content.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::GzBuilder;
use flate2::read::GzDecoder;
use tar::{EntryType, Header};

/// The mtime of every entry.
pub const MTIME: u64 = 0;
/// Room for a name in the old tar header, terminating NUL excluded.
const NAME_ROOM: usize = 99;
/// The name GNU tar gives a long-name entry.
const LONG_LINK: &[u8] = b"././@LongLink";

/// One regular file to archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Path relative to the archive root, `/`-separated, without `./`.
    pub path: String,
    /// The file's bytes.
    pub data: Vec<u8>,
    /// Whether any exec bit is set (mode 0755 rather than 0644).
    pub exec: bool,
}

#[cfg(test)]
impl Item {
    /// An item from borrowed parts, for the tests' tables.
    pub(crate) fn new(path: &str, data: &[u8], exec: bool) -> Item {
        Item {
            path: path.into(),
            data: data.to_vec(),
            exec,
        }
    }
}

/// How names start in an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// `./job.MF`, with a `./` entry for the root: `tar -czf X -C dir .` (jobs, packages).
    DotSlash,
    /// `release.MF`: `tar -czf X release.MF jobs packages` (the outer archive).
    Bare,
}

/// The mode of a file: 0755 if any exec bit is set, else 0644.
pub fn file_mode(exec: bool) -> u32 {
    if exec { 0o755 } else { 0o644 }
}

/// What is written for one entry, before the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node<'a> {
    Dir(String),
    File(&'a Item),
}

impl Node<'_> {
    fn path(&self) -> &str {
        match self {
            Node::Dir(p) => p,
            Node::File(i) => &i.path,
        }
    }
}

/// The entries of an archive of `items`, directories included, in the order written.
fn plan(items: &[Item]) -> Result<Vec<Node<'_>>> {
    let mut seen = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    for item in items {
        let parts: Vec<&str> = item.path.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            bail!("cannot archive `{}`: not a plain relative path", item.path);
        }
        if !seen.insert(item.path.as_str()) {
            bail!("cannot archive `{}` twice", item.path);
        }
        for n in 1..parts.len() {
            dirs.insert(parts[..n].join("/"));
        }
    }
    if let Some(clash) = dirs.iter().find(|d| seen.contains(d.as_str())) {
        bail!("cannot archive `{clash}` both as a file and as a directory");
    }
    let mut nodes: Vec<Node<'_>> = dirs.into_iter().map(Node::Dir).collect();
    nodes.extend(items.iter().map(Node::File));
    nodes.sort_by(|a, b| compare_paths(a.path(), b.path()));
    Ok(nodes)
}

/// Orders paths by their components, so a directory comes right before its contents
/// (plain byte order would put `a-b` between `a` and `a/x`).
pub fn compare_paths(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// A header for one entry: owner 0:0, fixed mtime, the given name, type, mode and size.
fn header(name: &[u8], kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    let room = &mut h.as_old_mut().name;
    let n = name.len().min(NAME_ROOM);
    room[..n].copy_from_slice(&name[..n]);
    h.set_cksum();
    h
}

/// Appends one entry, preceded by a GNU long-name entry if its name does not fit.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    kind: EntryType,
    mode: u32,
    data: &[u8],
) -> Result<()> {
    let bytes = name.as_bytes();
    if bytes.len() > NAME_ROOM {
        let mut long = bytes.to_vec();
        long.push(0);
        let h = header(LONG_LINK, EntryType::GNULongName, 0o644, long.len() as u64);
        tar.append(&h, long.as_slice())
            .with_context(|| format!("writing the long name of {name}"))?;
    }
    let h = header(bytes, kind, mode, data.len() as u64);
    tar.append(&h, data)
        .with_context(|| format!("writing {name}"))
}

/// A reproducible gzipped tar of `items` (see the module comment).
pub fn write(items: &[Item], names: Names) -> Result<Vec<u8>> {
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    let prefix = match names {
        Names::DotSlash => {
            append(&mut tar, "./", EntryType::Directory, 0o755, &[])?;
            "./"
        }
        Names::Bare => "",
    };
    for node in plan(items)? {
        match node {
            Node::Dir(path) => {
                let name = format!("{prefix}{path}/");
                append(&mut tar, &name, EntryType::Directory, 0o755, &[])?;
            }
            Node::File(item) => {
                let name = format!("{prefix}{}", item.path);
                let mode = file_mode(item.exec);
                append(&mut tar, &name, EntryType::Regular, mode, &item.data)?;
            }
        }
    }
    let gz = tar.into_inner().context("finishing the tar stream")?;
    gz.finish().context("finishing the gzip stream")
}

/// One entry read back from an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name as stored, `./` and trailing `/` included.
    pub name: String,
    /// The name without a leading `./` or trailing `/` (empty for the root).
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Mode bits from the header.
    pub mode: u32,
    /// The bytes (empty for anything but regular files).
    pub data: Vec<u8>,
}

impl Entry {
    /// Whether any exec bit is set.
    pub fn exec(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

/// Strips a leading `./` (or a lone `.`) and a trailing `/`.
pub fn normalize(name: &str) -> String {
    let mut s = name;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    if s == "." {
        s = "";
    }
    s.trim_end_matches('/').to_string()
}

/// Every entry of the gzipped tar `bytes`, in archive order. Absolute names and `..`
/// components are refused, as is anything but files and directories.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut out = Vec::new();
    for entry in archive.entries().context("not a gzipped tar")? {
        let mut entry = entry.context("reading an entry header")?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .context("an entry name is not UTF-8")?;
        if name.starts_with('/') || name.split('/').any(|p| p == "..") {
            bail!("entry `{name}` points outside the archive");
        }
        let kind = entry.header().entry_type();
        let is_dir = match kind {
            EntryType::Directory => true,
            EntryType::Regular | EntryType::Continuous => false,
            other => bail!("entry `{name}` is a {other:?}, not a file or directory"),
        };
        let mode = entry
            .header()
            .mode()
            .with_context(|| format!("mode of `{name}`"))?;
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .with_context(|| format!("reading `{name}`"))?;
        out.push(Entry {
            path: normalize(&name),
            name,
            is_dir,
            mode,
            data,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(bytes: &[u8]) -> Vec<String> {
        read(bytes).unwrap().into_iter().map(|e| e.name).collect()
    }

    #[test]
    fn entries_are_sorted_with_directories_before_their_contents() {
        let items = [
            Item::new("packaging", b"p", false),
            Item::new("a-b", b"", false),
            Item::new("a/x", b"", false),
            Item::new("A", b"", false),
        ];
        let bytes = write(&items, Names::DotSlash).unwrap();
        assert_eq!(
            names(&bytes),
            ["./", "./A", "./a/", "./a/x", "./a-b", "./packaging"]
        );
    }

    #[test]
    fn bare_names_have_no_prefix_and_no_root_entry() {
        let items = [
            Item::new("jobs/j.tgz", b"j", false),
            Item::new("release.MF", b"m", false),
        ];
        let bytes = write(&items, Names::Bare).unwrap();
        assert_eq!(names(&bytes), ["jobs/", "jobs/j.tgz", "release.MF"]);
    }

    #[test]
    fn modes_owners_and_times_are_fixed() {
        let items = [
            Item::new("bin/run", b"#!", true),
            Item::new("conf", b"c", false),
        ];
        let bytes = write(&items, Names::DotSlash).unwrap();
        let mut archive = tar::Archive::new(GzDecoder::new(bytes.as_slice()));
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.mtime().unwrap(), MTIME);
            seen.push((
                String::from_utf8(e.path_bytes().to_vec()).unwrap(),
                h.mode().unwrap(),
            ));
        }
        assert_eq!(
            seen,
            [
                ("./".to_string(), 0o755),
                ("./bin/".to_string(), 0o755),
                ("./bin/run".to_string(), 0o755),
                ("./conf".to_string(), 0o644)
            ]
        );
        assert_eq!((file_mode(true), file_mode(false)), (0o755, 0o644));
    }

    #[test]
    fn the_gzip_header_has_no_name_and_no_time() {
        let bytes = write(&[Item::new("f", b"x", false)], Names::Bare).unwrap();
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0], "no FNAME flag");
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "mtime 0");
    }

    #[test]
    fn writing_twice_gives_the_same_bytes_whatever_the_item_order() {
        let a = [Item::new("x/y", b"1", true), Item::new("z", b"2", false)];
        let b = [Item::new("z", b"2", false), Item::new("x/y", b"1", true)];
        assert_eq!(
            write(&a, Names::DotSlash).unwrap(),
            write(&b, Names::DotSlash).unwrap()
        );
    }

    #[test]
    fn long_names_and_contents_read_back() {
        let long = format!("templates/{}/run.erb", "d".repeat(120));
        let items = [
            Item::new(&long, b"long", false),
            Item::new("monit", b"", false),
        ];
        let entries = read(&write(&items, Names::DotSlash).unwrap()).unwrap();
        let e = entries.iter().find(|e| e.path == long).unwrap();
        assert_eq!(
            (e.name.as_str(), e.data.as_slice()),
            (format!("./{long}").as_str(), &b"long"[..])
        );
        assert!(!e.exec());
    }

    #[test]
    fn bad_paths_and_duplicates_are_refused() {
        for bad in ["../x", "/x", "a//b", "./x", ""] {
            assert!(
                write(&[Item::new(bad, b"", false)], Names::Bare).is_err(),
                "{bad}"
            );
        }
        let dup = [Item::new("x", b"", false), Item::new("x", b"", false)];
        assert!(write(&dup, Names::Bare).is_err());
        let clash = [Item::new("x", b"", false), Item::new("x/y", b"", false)];
        assert!(write(&clash, Names::Bare).is_err());
    }

    #[test]
    fn normalize_strips_dot_slash_and_trailing_slash() {
        assert_eq!(normalize("./"), "");
        assert_eq!(normalize("./templates/"), "templates");
        assert_eq!(normalize("./job.MF"), "job.MF");
        assert_eq!(normalize("release.MF"), "release.MF");
    }
}
