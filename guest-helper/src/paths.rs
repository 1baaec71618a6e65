//! Every fixed guest path the helper reads or writes, behind a root prefix: those the CPI
//! and the repack tool use too come from `bosh-lxd-contract`, the helper's own are here.
//!
//! Paths are kept as guest-absolute strings (what the agent and mountinfo show);
//! [`GuestRoot::host`] maps one onto the filesystem the helper really touches, so
//! tests can point the whole helper at a temporary directory (`--root`).

use std::path::{Path, PathBuf};

pub use bosh_lxd_contract::keys::DISK_KEY_PREFIX;
pub use bosh_lxd_contract::paths::{
    AGENT_SETTINGS, DATA_DIR, DISK_DEVICES, DISK_HINTS, HELPER_LOG, MANAGED_DISK, STORE,
    disk_device_path,
};

/// Where the agent binds a second disk while `/var/vcap/store` is taken.
pub const MIGRATION_TARGET: &str = "/var/vcap/store_migration_target";
/// The agent's system directory on the data disk (logs, run).
pub const DATA_SYS: &str = "/var/vcap/data/sys";
/// The agent mounts a tmpfs here; the monit units test for it before starting.
pub const DATA_SYS_RUN: &str = "/var/vcap/data/sys/run";
/// The guest API socket of LXD.
pub const LXD_SOCKET: &str = "/dev/lxd/sock";
/// The guest API socket of Incus.
pub const INCUS_SOCKET: &str = "/dev/incus/sock";
/// The mount table of the helper's own mount namespace.
pub const SELF_MOUNTINFO: &str = "/proc/self/mountinfo";
/// The process table.
pub const PROC: &str = "/proc";
/// System uptime and idle time in seconds; lxcfs overlays it with the container's age.
pub const PROC_UPTIME: &str = "/proc/uptime";
/// The DNS resolver configuration `boot` writes from the settings.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// The persistent hostname `boot` writes from the settings.
pub const ETC_HOSTNAME: &str = "/etc/hostname";
/// The real `mount` the shim hands calls to.
pub const REAL_MOUNT: &str = "/bin/mount";
/// The real `umount` the shim hands calls to.
pub const REAL_UMOUNT: &str = "/bin/umount";
/// Fallbacks for images whose `/bin` is not the usr-merged link.
pub const REAL_MOUNT_USR: &str = "/usr/bin/mount";
/// See [`REAL_MOUNT_USR`].
pub const REAL_UMOUNT_USR: &str = "/usr/bin/umount";

/// The root the guest paths hang from: `/` in production, a tempdir in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRoot {
    root: PathBuf,
}

impl Default for GuestRoot {
    fn default() -> Self {
        GuestRoot::new("/")
    }
}

impl GuestRoot {
    /// A root at `root`.
    pub fn new(root: impl Into<PathBuf>) -> GuestRoot {
        GuestRoot { root: root.into() }
    }

    /// The path the helper opens for the guest path `guest` (absolute or not).
    pub fn host(&self, guest: impl AsRef<Path>) -> PathBuf {
        let guest = guest.as_ref();
        let relative = guest.strip_prefix("/").unwrap_or(guest);
        if relative.as_os_str().is_empty() {
            return self.root.clone();
        }
        self.root.join(relative)
    }

    /// `/proc/<pid>/<leaf>` under this root.
    pub fn proc_entry(&self, pid: u32, leaf: &str) -> PathBuf {
        self.host(format!("{PROC}/{pid}/{leaf}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_maps_guest_paths_under_the_root() {
        let cases = [
            ("/", "/var/vcap/store", "/var/vcap/store"),
            ("/tmp/r", "/var/vcap/store", "/tmp/r/var/vcap/store"),
            ("/tmp/r", "var/vcap/store", "/tmp/r/var/vcap/store"),
            ("/tmp/r", "/", "/tmp/r"),
        ];
        for (root, guest, want) in cases {
            let got = GuestRoot::new(root).host(guest);
            assert_eq!(got, PathBuf::from(want), "root {root} guest {guest}");
        }
    }

    #[test]
    fn disk_device_path_is_the_hint() {
        assert_eq!(disk_device_path("disk-a"), "/warden-cpi-dev/disk-a");
        assert_eq!(
            GuestRoot::new("/r").proc_entry(7, "mountinfo"),
            PathBuf::from("/r/proc/7/mountinfo")
        );
        assert_eq!(GuestRoot::default().host("/x"), PathBuf::from("/x"));
    }
}
