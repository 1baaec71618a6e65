//! Every fixed guest path the helper reads or writes, in one place, behind a root prefix.
//!
//! Paths are kept as guest-absolute strings (what the agent and mountinfo show);
//! [`GuestRoot::host`] maps one onto the filesystem the helper really touches, so
//! tests can point the whole helper at a temporary directory (`--root`).

use std::path::{Path, PathBuf};

/// The agent settings file the CPI writes (warden-style File settings source).
pub const AGENT_SETTINGS: &str = "/var/vcap/bosh/warden-cpi-agent-env.json";
/// The agent's copy of the disk hints it received through `add_persistent_disk`.
pub const DISK_HINTS: &str = "/var/vcap/bosh/persistent_disk_hints.json";
/// The cid of the disk the agent mounted last: a bare string, no JSON, no newline.
pub const MANAGED_DISK: &str = "/var/vcap/bosh/managed_disk_settings.json";
/// Where the agent binds the persistent disk.
pub const STORE: &str = "/var/vcap/store";
/// Where the agent binds a second disk while `/var/vcap/store` is taken.
pub const MIGRATION_TARGET: &str = "/var/vcap/store_migration_target";
/// Parent of LXD's disk device mounts, one `<cid>` directory per attached disk.
pub const DISK_DEVICES: &str = "/warden-cpi-dev";
/// The ephemeral data directory (an LXD custom volume).
pub const DATA_DIR: &str = "/var/vcap/data";
/// The agent's system directory on the data disk (logs, run).
pub const DATA_SYS: &str = "/var/vcap/data/sys";
/// The agent mounts a tmpfs here; the monit units test for it before starting.
pub const DATA_SYS_RUN: &str = "/var/vcap/data/sys/run";
/// The helper's own log, next to the agent's.
pub const HELPER_LOG: &str = "/var/vcap/bosh/log/bosh-lxd-helper.log";
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

/// Prefix of the user keys that mirror attached disks on the instance.
pub const DISK_KEY_PREFIX: &str = "user.bosh.disk.";

/// The guest path of the LXD disk device of `cid`: also the disk hint.
pub fn disk_device_path(cid: &str) -> String {
    format!("{DISK_DEVICES}/{cid}")
}

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
