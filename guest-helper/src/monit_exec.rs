//! `monit-exec -- <argv>`: start monit with the kernel's uptime (`ARCHITECTURE.md` §4).
//!
//! monit 5.2.5 derives process start times from `/proc/uptime`, which lxcfs
//! virtualises to the container's age, while `/proc/<pid>/stat` counts from host boot
//! (seen on LXD 5.0.2 and Incus 6.0). So: a new mount namespace (`unshare(2)` `CLONE_NEWNS`), `/`
//! made a recursive *slave* (mount(2) `MS_SLAVE|MS_REC`, never private: the agent binds
//! the persistent disk on `/var/vcap/store` in the container's namespace after monit has
//! started, and the jobs, monit's children, must see that bind and its removal), every
//! stacked lxcfs layer on `/proc/uptime` unmounted, then execvp(3). Any failure is
//! logged and the argv is exec'd anyway: wrong vitals beat no monit.

#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use crate::mountinfo::{MountInfo, MountTable};
use crate::paths::{PROC_UPTIME, SELF_MOUNTINFO};

/// Filesystem type lxcfs's FUSE mounts show in mountinfo.
pub const LXCFS_FS_TYPE: &str = "fuse.lxcfs";
/// Most layers removed before giving up (a stack deeper than this is not lxcfs's doing).
pub const MAX_LAYERS: usize = 16;

/// The mount-namespace operations `monit-exec` needs, so tests can fake them.
pub trait NsOps {
    /// `unshare(CLONE_NEWNS)`.
    fn unshare_mount_ns(&mut self) -> Result<()>;
    /// `mount(NULL, "/", NULL, MS_SLAVE|MS_REC, NULL)`.
    fn make_root_rslave(&mut self) -> Result<()>;
    /// The mount table of the calling process.
    fn mount_table(&mut self) -> Result<MountTable>;
    /// Unmount the top mount on `path` (not lazily).
    fn umount(&mut self, path: &str) -> Result<()>;
}

/// What the namespace set-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A new namespace was created (false: there was nothing to hide).
    pub unshared: bool,
    /// lxcfs layers removed from `/proc/uptime`.
    pub removed: usize,
    /// Whether the container's `/` was a shared mount before (else later mounts of the
    /// agent cannot reach monit whatever we do).
    pub root_was_shared: bool,
}

/// True when the top mount on `path` is an lxcfs FUSE mount.
pub fn lxcfs_on_top(table: &MountTable, path: &str) -> bool {
    table.top(path).is_some_and(is_lxcfs)
}

/// True for an lxcfs mount.
pub fn is_lxcfs(mount: &MountInfo) -> bool {
    mount.fs_type == LXCFS_FS_TYPE
}

/// True when `/` is in a peer group (propagates mounts to and from others).
pub fn root_is_shared(table: &MountTable) -> bool {
    table
        .top("/")
        .is_some_and(|m| m.optional.iter().any(|o| o.starts_with("shared:")))
}

/// Set up the namespace: nothing when `/proc/uptime` is not lxcfs's; otherwise unshare,
/// rslave, then unmount lxcfs layers until `/proc/uptime` is the kernel's.
pub fn prepare(ops: &mut dyn NsOps) -> Result<Outcome> {
    let before = ops.mount_table()?;
    let mut outcome = Outcome {
        root_was_shared: root_is_shared(&before),
        ..Outcome::default()
    };
    if !lxcfs_on_top(&before, PROC_UPTIME) {
        return Ok(outcome);
    }
    ops.unshare_mount_ns()?;
    outcome.unshared = true;
    ops.make_root_rslave()?;
    loop {
        let table = ops.mount_table()?;
        if !lxcfs_on_top(&table, PROC_UPTIME) {
            return Ok(outcome);
        }
        if outcome.removed >= MAX_LAYERS {
            bail!("{PROC_UPTIME} still shows lxcfs after {MAX_LAYERS} unmounts; giving up");
        }
        ops.umount(PROC_UPTIME)?;
        outcome.removed += 1;
    }
}

/// Run `monit-exec`: prepare the namespace, log, exec. Returns only if exec failed.
pub fn run(argv: &[OsString], started: Instant) -> Result<Infallible> {
    let Some(program) = argv.first() else {
        bail!("monit-exec: no command given (usage: monit-exec -- <argv>)");
    };
    let c_argv = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .context("monit-exec: an argument contains a NUL byte")?;
    match prepare(&mut RealNs) {
        Ok(o) if !o.unshared => tracing::info!(
            "monit-exec: {PROC_UPTIME} is not lxcfs's; no namespace needed ({} µs)",
            started.elapsed().as_micros()
        ),
        Ok(o) => {
            if !o.root_was_shared {
                tracing::warn!(
                    "monit-exec: / was not a shared mount: mounts made later in the \
                     container (the persistent disk) will not reach {program:?}"
                );
            }
            tracing::info!(
                "monit-exec: own mount namespace, / rslave, {} lxcfs layer(s) removed from \
                 {PROC_UPTIME}; ready in {} µs",
                o.removed,
                started.elapsed().as_micros()
            );
        }
        Err(e) => tracing::error!(
            "monit-exec: {e:#}; running {program:?} unchanged (its uptimes may be wrong)"
        ),
    }
    let err = nix::unistd::execvp(&c_argv[0], &c_argv)
        .err()
        .map_or_else(|| "unknown".to_string(), |e| e.desc().to_string());
    bail!("monit-exec: exec of {program:?} failed: {err}")
}

/// The real system calls.
#[derive(Debug, Default)]
pub struct RealNs;

impl NsOps for RealNs {
    fn unshare_mount_ns(&mut self) -> Result<()> {
        nix::sched::unshare(CloneFlags::CLONE_NEWNS).context("unshare(CLONE_NEWNS)")
    }

    fn make_root_rslave(&mut self) -> Result<()> {
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .context("making / a recursive slave mount (MS_SLAVE|MS_REC)")
    }

    fn mount_table(&mut self) -> Result<MountTable> {
        MountTable::read(Path::new(SELF_MOUNTINFO))
    }

    fn umount(&mut self, path: &str) -> Result<()> {
        nix::mount::umount2(path, MntFlags::empty()).with_context(|| format!("umount {path}"))
    }
}
