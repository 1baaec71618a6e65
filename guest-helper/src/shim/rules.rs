//! The mount/umount shim's rule table: a pure function from the argv the shim was
//! called with, plus a mount-table snapshot, to what the shim does. Every rule matches
//! one exact argv shape the agent uses (bosh-agent's `platform/linux_platform.go` and
//! mounters; run for real in `tests/tests/agent_real_disks.rs`); anything else passes
//! through untouched.
//!
//! 1. `mount "" <target> -o remount -o <flag>...` (RemountInPlace, empty source) →
//!    `mount -o remount,bind,<flag>... <target>`: a per-mount flag change, which works
//!    unprivileged and never reconfigures the superblock under the rootfs.
//! 2. `umount /warden-cpi-dev/<cid>` (unmount_disk) → first unmount the binds of that
//!    volume on the migration target and `/var/vcap/store`, then the real call; else
//!    the VM keeps writing to a volume LXD reports as unused.
//! 3. `mount /warden-cpi-dev/<cid> /var/vcap/store_migration_target -o bind` while
//!    `/var/vcap/store` already shows that volume (a repeated mount_disk) → no-op.
//! 4. `mount` with no arguments (the agent's mount listing) while the migration target
//!    binds an attached disk → the listing names `/warden-cpi-dev/<cid>` as that line's
//!    source instead of the backing device. The agent's migrate_disk remounts the
//!    source it reads there onto `/var/vcap/store`; with the device (`/dev/vda`, also
//!    the source of `/`) that remount is refused, with the disk path it can go through.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::mountinfo::{MountInfo, MountTable};
use crate::paths::{DISK_DEVICES, MIGRATION_TARGET, STORE};
use crate::settings::check_cid;

/// Which program the shim stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `mount`.
    Mount,
    /// `umount`.
    Umount,
}

impl Tool {
    /// The tool named by argv\[0\]'s basename, if it is one.
    pub fn from_argv0(argv0: &OsStr) -> Option<Tool> {
        match Path::new(argv0).file_name()?.to_str()? {
            "mount" => Some(Tool::Mount),
            "umount" => Some(Tool::Umount),
            _ => None,
        }
    }
}

/// What the shim does with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Exec the real program with the argv unchanged.
    PassThrough,
    /// Exec the real program with this argv instead (rule 1).
    Rewrite {
        /// The new argv, argv\[0\] included.
        argv: Vec<OsString>,
        /// Why, for the log.
        why: String,
    },
    /// Unmount these mount points, in order, then pass the call through (rule 2).
    UnmountFirst {
        /// One entry per layer to remove.
        targets: Vec<PathBuf>,
        /// Why, for the log.
        why: String,
    },
    /// Do nothing and succeed (rule 3).
    NoOp {
        /// Why, for the log.
        why: String,
    },
    /// Run the real listing and replace the source column of these mount points (rule 4).
    Listing {
        /// Mount point → source to show.
        sources: Vec<(PathBuf, String)>,
    },
}

/// Decide a call. `mounts` is `None` when the mount table could not be read; then only
/// the rule that needs no table applies.
pub fn decide(tool: Tool, argv: &[OsString], mounts: Option<&MountTable>) -> Decision {
    let decision = match tool {
        Tool::Mount => remount_in_place(argv)
            .or_else(|| mounts.and_then(|m| repeated_bind(argv, m)))
            .or_else(|| mounts.and_then(|m| listing(argv, m))),
        Tool::Umount => mounts.and_then(|m| unmount_disk(argv, m)),
    };
    decision.unwrap_or(Decision::PassThrough)
}

/// Whether `decide` could do anything but pass through or rewrite for this argv
/// given a mount table: the shim reads `/proc/self/mountinfo` only then, so that the
/// common calls of job scripts cost one exec and nothing more.
pub fn needs_table(tool: Tool, argv: &[OsString]) -> bool {
    match tool {
        Tool::Umount => {
            argv.len() == 2 && argv[1].to_str().is_some_and(|a| device_cid(a).is_some())
        }
        Tool::Mount => {
            argv.len() == 1
                || argv
                    .iter()
                    .skip(1)
                    .any(|a| Path::new(a) == Path::new(MIGRATION_TARGET))
        }
    }
}

/// A parsed mount command line: positional arguments, `-o` option words, and whether
/// anything else (another flag, non-UTF-8) was present.
#[derive(Debug, Default)]
struct MountArgs<'a> {
    positional: Vec<&'a str>,
    options: Vec<&'a str>,
    bind_flag: bool,
    other: bool,
}

fn parse_mount_args(argv: &[OsString]) -> MountArgs<'_> {
    let mut args = MountArgs::default();
    let mut words = argv.iter().skip(1);
    while let Some(word) = words.next() {
        let Some(word) = word.to_str() else {
            args.other = true;
            continue;
        };
        match word {
            "-o" => match words.next().and_then(|w| w.to_str()) {
                Some(value) => args.options.extend(value.split(',')),
                None => args.other = true,
            },
            "--bind" | "-B" => args.bind_flag = true,
            w if w.starts_with('-') => args.other = true,
            w => args.positional.push(w),
        }
    }
    args
}

fn remount_in_place(argv: &[OsString]) -> Option<Decision> {
    let args = parse_mount_args(argv);
    let [source, target] = args.positional.as_slice() else {
        return None;
    };
    let wanted = source.is_empty()
        && !target.is_empty()
        && !args.other
        && !args.bind_flag
        && args.options.contains(&"remount")
        && !args.options.contains(&"bind");
    if !wanted {
        return None;
    }
    let mut options = vec!["remount", "bind"];
    options.extend(
        args.options
            .iter()
            .filter(|o| **o != "remount" && !o.is_empty()),
    );
    let joined = options.join(",");
    let new_argv = vec![
        argv[0].clone(),
        "-o".into(),
        joined.clone().into(),
        (*target).into(),
    ];
    Some(Decision::Rewrite {
        argv: new_argv,
        why: format!(
            "in-place remount of {target} with an empty source: -o {joined}, a per-mount change"
        ),
    })
}

/// `/warden-cpi-dev/<cid>` as a cid, if `path` is exactly that.
fn device_cid(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(DISK_DEVICES)?.strip_prefix('/')?;
    let cid = rest.strip_suffix('/').unwrap_or(rest);
    check_cid(cid).ok().map(|()| cid)
}

fn repeated_bind(argv: &[OsString], mounts: &MountTable) -> Option<Decision> {
    let args = parse_mount_args(argv);
    let [source, target] = args.positional.as_slice() else {
        return None;
    };
    let is_bind = args.bind_flag || args.options.contains(&"bind");
    if args.other || !is_bind || Path::new(target) != Path::new(MIGRATION_TARGET) {
        return None;
    }
    let cid = device_cid(source)?;
    let volume = mounts.top(source)?.volume();
    let store = mounts.top(STORE)?;
    volume.covers(store).then(|| Decision::NoOp {
        why: format!(
            "{STORE} already binds disk {cid}; a second bind at {MIGRATION_TARGET} is skipped"
        ),
    })
}

fn unmount_disk(argv: &[OsString], mounts: &MountTable) -> Option<Decision> {
    let [_, path] = argv else { return None };
    let path = path.to_str()?;
    let cid = device_cid(path)?;
    let volume = mounts.top(path)?.volume();
    let mut targets = Vec::new();
    for mount_point in [MIGRATION_TARGET, STORE] {
        let layers = mounts.stacked_layers_of(mount_point, &volume);
        targets.extend(std::iter::repeat_n(PathBuf::from(mount_point), layers));
    }
    if targets.is_empty() {
        return None;
    }
    Some(Decision::UnmountFirst {
        why: format!(
            "unmount_disk of {cid}: its binds go first so that the volume is really released"
        ),
        targets,
    })
}

fn listing(argv: &[OsString], mounts: &MountTable) -> Option<Decision> {
    if argv.len() != 1 {
        return None;
    }
    let target = mounts.top(MIGRATION_TARGET)?;
    let source = bind_source(target, mounts)?;
    Some(Decision::Listing {
        sources: vec![(PathBuf::from(MIGRATION_TARGET), source)],
    })
}

/// The attached disk path that `bind` is a bind of (plus the sub-path, if any).
fn bind_source(bind: &MountInfo, mounts: &MountTable) -> Option<String> {
    mounts.mounts.iter().find_map(|device| {
        let cid = device
            .mount_point
            .strip_prefix(DISK_DEVICES)
            .ok()?
            .to_str()?;
        check_cid(cid).ok()?;
        let top = mounts.top(&device.mount_point)?;
        if top.id != device.id || !device.volume().covers(bind) {
            return None;
        }
        let rest = bind.root.strip_prefix(&device.root).ok()?;
        let path = if rest.as_os_str().is_empty() {
            device.mount_point.clone()
        } else {
            device.mount_point.join(rest)
        };
        path.to_str().map(str::to_string)
    })
}

/// Replace the source column (`<source> on <mount point> type ...`) of the listed
/// mount points; every other byte of the listing is kept.
pub fn rewrite_listing(listing: &[u8], sources: &[(PathBuf, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(listing.len());
    for line in listing.split_inclusive(|b| *b == b'\n') {
        let mut fields = line.splitn(4, |b| *b == b' ');
        let (_, on, point) = (fields.next(), fields.next(), fields.next());
        let replacement = (on == Some(b"on".as_slice()))
            .then(|| {
                sources
                    .iter()
                    .find(|(p, _)| point == Some(p.as_os_str().as_encoded_bytes()))
            })
            .flatten();
        match (replacement, line.iter().position(|b| *b == b' ')) {
            (Some((_, source)), Some(space)) => {
                out.extend_from_slice(source.as_bytes());
                out.extend_from_slice(&line[space..]);
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
