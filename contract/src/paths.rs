//! Guest paths more than one program uses: where the CPI writes the settings and mounts
//! the disks, where the repack puts the helper and the CPI runs it, and the agent's files
//! the helper reads. Guest-absolute; the helper maps them under its `--root` in tests.

/// The agent settings file: the CPI writes it (mode 0600), the stemcell's `agent.json`
/// names it as the agent's settings source, the helper reads disks and networks from it.
pub const AGENT_SETTINGS: &str = "/var/vcap/bosh/warden-cpi-agent-env.json";
/// The cid of the disk the agent mounted last, as the agent writes it: a bare string, no
/// JSON, no newline. The helper's `boot` mounts that disk again.
pub const MANAGED_DISK: &str = "/var/vcap/bosh/managed_disk_settings.json";
/// The agent's copy of the disk hints it received through `add_persistent_disk`.
pub const DISK_HINTS: &str = "/var/vcap/bosh/persistent_disk_hints.json";
/// The guest helper: the repack adds it, the boot hooks and the CPI's `detach_disk` run it.
pub const HELPER: &str = "/var/vcap/bosh/bin/bosh-lxd-helper";
/// The helper's own log, next to the agent's.
pub const HELPER_LOG: &str = "/var/vcap/bosh/log/bosh-lxd-helper.log";
/// Parent of the disk devices the CPI adds, one `<cid>` directory per attached disk (the
/// warden CPI's layout; the repack's overlay creates it).
pub const DISK_DEVICES: &str = "/warden-cpi-dev";
/// Where the CPI mounts the ephemeral volume; the helper restores its layout at boot.
pub const DATA_DIR: &str = "/var/vcap/data";
/// Where the agent binds the persistent disk, and the helper binds it again at boot.
pub const STORE: &str = "/var/vcap/store";

/// `/warden-cpi-dev/<cid>`: where the CPI mounts disk `cid`, the value of its
/// `user.bosh.disk.<cid>` key, and its hint in the settings.
pub fn disk_device_path(cid: &str) -> String {
    format!("{DISK_DEVICES}/{cid}")
}

/// `path` relative to the root of the image (`var/vcap/...`), as the repack's archive
/// entries name it.
pub const fn in_rootfs(path: &'static str) -> &'static str {
    match path.as_bytes() {
        [b'/', ..] => path.split_at(1).1,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stemcells already repacked and VMs already running use these paths.
    #[test]
    fn paths_keep_their_spelling() {
        let pinned = [
            (AGENT_SETTINGS, "/var/vcap/bosh/warden-cpi-agent-env.json"),
            (MANAGED_DISK, "/var/vcap/bosh/managed_disk_settings.json"),
            (DISK_HINTS, "/var/vcap/bosh/persistent_disk_hints.json"),
            (HELPER, "/var/vcap/bosh/bin/bosh-lxd-helper"),
            (HELPER_LOG, "/var/vcap/bosh/log/bosh-lxd-helper.log"),
            (DISK_DEVICES, "/warden-cpi-dev"),
            (DATA_DIR, "/var/vcap/data"),
            (STORE, "/var/vcap/store"),
        ];
        for (got, want) in pinned {
            assert_eq!(got, want);
        }
        assert_eq!(disk_device_path("disk-1"), "/warden-cpi-dev/disk-1");
        assert_eq!(in_rootfs(HELPER), "var/vcap/bosh/bin/bosh-lxd-helper");
        assert_eq!(in_rootfs("var/x"), "var/x");
    }
}
