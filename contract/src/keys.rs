//! The `user.bosh.*` config keys the CPI writes on instances and volumes. Every `user.*`
//! key of an instance is readable from inside the guest (the helper reads the disk keys
//! through the guest API), so none of them may ever hold a secret.

/// Every key under `user.bosh.` is the CPI's own; raw cloud `config` may not set them.
pub const RESERVED_PREFIX: &str = "user.bosh.";
/// `user.bosh.managed-by`: marks what this CPI created.
pub const MANAGED_BY_KEY: &str = "user.bosh.managed-by";
/// The value of [`MANAGED_BY_KEY`].
pub const MANAGED_BY: &str = "bosh-lxd-cpi";
/// `user.bosh.agent-id`: the agent ID the VM was created for.
pub const AGENT_ID_KEY: &str = "user.bosh.agent-id";
/// `user.bosh.director`: UUID of the director that asked for the object.
pub const DIRECTOR_KEY: &str = "user.bosh.director";
/// `user.bosh.helper-version`: the guest helper version, copied at `create_vm` from the
/// image property [`crate::image::HELPER_VERSION_PROPERTY`]. A VM without it was made by
/// another CPI and has no helper.
pub const HELPER_VERSION_KEY: &str = "user.bosh.helper-version";
/// `user.bosh.vm`: on an ephemeral volume, the VM it belongs to.
pub const VM_KEY: &str = "user.bosh.vm";
/// `user.bosh.meta.<key>`: BOSH metadata from `set_vm_metadata` / `set_disk_metadata`.
pub const META_PREFIX: &str = "user.bosh.meta.";
/// `user.bosh.ipv4.<nic>`: the IPv4 address the VM's settings give a NIC.
pub const IPV4_PREFIX: &str = "user.bosh.ipv4.";
/// `user.bosh.disk.<cid>`: one per attached persistent disk, holding its guest path
/// ([`crate::paths::disk_device_path`]). The CPI writes them; the helper's `boot` reads
/// them through the guest API.
pub const DISK_KEY_PREFIX: &str = "user.bosh.disk.";

/// `user.bosh.disk.<cid>`.
pub fn disk_key(cid: &str) -> String {
    format!("{DISK_KEY_PREFIX}{cid}")
}

/// The disk cid a `user.bosh.disk.<cid>` key names; `None` for another key or an empty cid.
pub fn disk_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(DISK_KEY_PREFIX)
        .filter(|cid| !cid.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spelling VMs already carry: changing one strands them.
    #[test]
    fn keys_keep_their_spelling() {
        let pinned = [
            (MANAGED_BY_KEY, "user.bosh.managed-by"),
            (MANAGED_BY, "bosh-lxd-cpi"),
            (AGENT_ID_KEY, "user.bosh.agent-id"),
            (DIRECTOR_KEY, "user.bosh.director"),
            (HELPER_VERSION_KEY, "user.bosh.helper-version"),
            (VM_KEY, "user.bosh.vm"),
            (META_PREFIX, "user.bosh.meta."),
            (IPV4_PREFIX, "user.bosh.ipv4."),
            (DISK_KEY_PREFIX, "user.bosh.disk."),
        ];
        for (got, want) in pinned {
            assert_eq!(got, want);
        }
        for key in [
            MANAGED_BY_KEY,
            AGENT_ID_KEY,
            HELPER_VERSION_KEY,
            DISK_KEY_PREFIX,
        ] {
            assert!(key.starts_with(RESERVED_PREFIX), "{key}");
        }
    }

    #[test]
    fn disk_keys_round_trip() {
        assert_eq!(disk_key("disk-1"), "user.bosh.disk.disk-1");
        assert_eq!(disk_of_key(&disk_key("disk-1")), Some("disk-1"));
        assert_eq!(disk_of_key("user.bosh.disk."), None);
        assert_eq!(disk_of_key("user.bosh.agent-id"), None);
    }
}
