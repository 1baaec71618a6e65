//! Parser for `/proc/<pid>/mountinfo` (proc(5)), and the volume identity the helper
//! compares mounts by: device `maj:min` plus the mount's root inside that filesystem.
//!
//! A bind mount keeps the device and root of what it binds, which is how a bind of a
//! disk onto `/var/vcap/store` is recognised as the same volume as the LXD device mount
//! at `/warden-cpi-dev/<cid>` (on a dir pool every mount shows the same `/dev/vda`, so
//! the source column alone tells nothing).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Unique mount id.
    pub id: u32,
    /// Id of the parent mount.
    pub parent: u32,
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Path inside the filesystem that forms the root of this mount.
    pub root: PathBuf,
    /// Mount point, relative to the reader's root.
    pub mount_point: PathBuf,
    /// Per-mount options (`rw,relatime`).
    pub options: String,
    /// Optional fields (`shared:245`, `master:1`).
    pub optional: Vec<String>,
    /// Filesystem type (`ext4`, `btrfs`).
    pub fs_type: String,
    /// Mount source as the kernel reports it (`/dev/vda`).
    pub source: String,
    /// Superblock options.
    pub super_options: String,
}

/// What makes two mounts the same volume: device plus root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeId {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Root of the volume inside its filesystem.
    pub root: PathBuf,
}

impl VolumeId {
    /// True when `mount` shows this volume: same device, and a root equal to the
    /// volume's root or below it (a bind of a sub-directory of the volume).
    pub fn covers(&self, mount: &MountInfo) -> bool {
        mount.major == self.major && mount.minor == self.minor && mount.root.starts_with(&self.root)
    }
}

impl MountInfo {
    /// The identity of the volume this mount shows.
    pub fn volume(&self) -> VolumeId {
        VolumeId {
            major: self.major,
            minor: self.minor,
            root: self.root.clone(),
        }
    }
}

/// A mount table: the lines of one mountinfo file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountTable {
    /// The mounts, oldest first as the kernel lists them.
    pub mounts: Vec<MountInfo>,
}

impl MountTable {
    /// Read and parse a mountinfo file.
    pub fn read(path: &Path) -> Result<MountTable> {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The topmost mount on `mount_point` (the one a path lookup reaches), if any.
    pub fn top(&self, mount_point: impl AsRef<Path>) -> Option<&MountInfo> {
        let mount_point = mount_point.as_ref();
        self.mounts
            .iter()
            .rev()
            .find(|m| m.mount_point == mount_point)
    }

    /// Whether `path` is a mount point.
    pub fn is_mount_point(&self, path: impl AsRef<Path>) -> bool {
        self.top(path).is_some()
    }

    /// How many mounts, counted from the top of the stack on `mount_point`, show
    /// `volume`. Unmounting that many times removes exactly those layers.
    pub fn stacked_layers_of(&self, mount_point: impl AsRef<Path>, volume: &VolumeId) -> usize {
        let mount_point = mount_point.as_ref();
        self.mounts
            .iter()
            .rev()
            .filter(|m| m.mount_point == mount_point)
            .take_while(|m| volume.covers(m))
            .count()
    }
}

/// Parse a whole mountinfo file.
pub fn parse(text: &[u8]) -> Result<MountTable> {
    let mut mounts = Vec::new();
    for (index, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mount = parse_line(line).with_context(|| format!("line {}", index + 1))?;
        mounts.push(mount);
    }
    Ok(MountTable { mounts })
}

/// Parse one mountinfo line.
pub fn parse_line(line: &[u8]) -> Result<MountInfo> {
    let fields: Vec<&[u8]> = line
        .split(|b| *b == b' ')
        .filter(|f| !f.is_empty())
        .collect();
    let Some(dash) = fields.iter().position(|f| *f == b"-") else {
        bail!("no ' - ' separator in {:?}", String::from_utf8_lossy(line));
    };
    if dash < 6 || fields.len() < dash + 3 {
        bail!("too few fields in {:?}", String::from_utf8_lossy(line));
    }
    let (major, minor) = parse_dev(fields[2])?;
    Ok(MountInfo {
        id: number(fields[0], "mount id")?,
        parent: number(fields[1], "parent id")?,
        major,
        minor,
        root: unescape_path(fields[3]),
        mount_point: unescape_path(fields[4]),
        options: text(fields[5]),
        optional: fields[6..dash].iter().map(|f| text(f)).collect(),
        fs_type: text(fields[dash + 1]),
        source: text(fields[dash + 2]),
        super_options: fields.get(dash + 3).map(|f| text(f)).unwrap_or_default(),
    })
}

fn number(field: &[u8], what: &str) -> Result<u32> {
    let s = std::str::from_utf8(field).with_context(|| format!("{what} is not text"))?;
    s.parse()
        .with_context(|| format!("{what} {s:?} is not a number"))
}

fn parse_dev(field: &[u8]) -> Result<(u32, u32)> {
    let s = std::str::from_utf8(field).context("maj:min is not text")?;
    let Some((major, minor)) = s.split_once(':') else {
        bail!("maj:min {s:?} has no colon");
    };
    let major = major.parse().with_context(|| format!("major in {s:?}"))?;
    let minor = minor.parse().with_context(|| format!("minor in {s:?}"))?;
    Ok((major, minor))
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(&unescape(field)).into_owned()
}

fn unescape_path(field: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(unescape(field)))
}

/// Undo the kernel's `\ooo` octal escapes (space, tab, newline, backslash).
pub fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && i + 4 <= field.len()
            && let Some(byte) = octal(&field[i + 1..i + 4])
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

fn octal(digits: &[u8]) -> Option<u8> {
    let mut value: u32 = 0;
    for d in digits {
        if !(b'0'..=b'7').contains(d) {
            return None;
        }
        value = value * 8 + u32::from(d - b'0');
    }
    u8::try_from(value).ok()
}

#[cfg(test)]
mod tests;
