//! Names and keys this CPI puts on LXD objects (`ARCHITECTURE.md` §2): object names derived
//! from a UUID, device names, and (from `bosh-lxd-contract`, shared with the helper and the
//! repack tool) the `user.bosh.*` keys, the image properties and the ephemeral mount point.
//! None of these keys may ever hold a secret: every `user.*` key is readable from inside
//! the guest.

pub use bosh_lxd_contract::image::{
    HELPER_VERSION_PROPERTY, PROJECT_PROPERTY, STEMCELL_NAME_PROPERTY, STEMCELL_VERSION_PROPERTY,
};
pub use bosh_lxd_contract::keys::{
    AGENT_ID_KEY, DIRECTOR_KEY, HELPER_VERSION_KEY, IPV4_PREFIX, MANAGED_BY, MANAGED_BY_KEY,
    META_PREFIX, RESERVED_PREFIX, VM_KEY,
};
/// Where the ephemeral volume is mounted in the guest.
pub use bosh_lxd_contract::paths::DATA_DIR as EPHEMERAL_PATH;

/// The command that adds the helper to a stock stemcell, named in `create_vm`'s refusal.
pub const REPACK_COMMAND: &str = "repack-stemcell STOCK.tgz OUT.tgz";

/// Name of the instance device that mounts the ephemeral volume.
pub const EPHEMERAL_DEVICE: &str = "ephemeral";
/// Name of the instance's root disk device.
pub const ROOT_DEVICE: &str = "root";

/// A fresh UUID for a new object name.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The VM CID / instance name for `uuid`.
pub fn vm_name(uuid: &str) -> String {
    format!("vm-{uuid}")
}

/// The ephemeral volume of the VM created with `uuid`.
pub fn ephemeral_volume_name(uuid: &str) -> String {
    format!("eph-{uuid}")
}

/// The stemcell CID / image alias for `uuid`.
pub fn stemcell_alias(uuid: &str) -> String {
    format!("stemcell-{uuid}")
}

/// For a VM named `vm-<uuid>`, the name its ephemeral volume was given.
pub fn ephemeral_volume_of(vm: &str) -> Option<String> {
    vm.strip_prefix("vm-")
        .filter(|uuid| !uuid.is_empty())
        .map(ephemeral_volume_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        assert_eq!(vm_name("u1"), "vm-u1");
        assert_eq!(stemcell_alias("u1"), "stemcell-u1");
        assert_eq!(ephemeral_volume_of("vm-u1").as_deref(), Some("eph-u1"));
        assert_eq!(ephemeral_volume_of("c-u1"), None, "old CPI names: no guess");
        assert_eq!(ephemeral_volume_of("vm-"), None);
        assert_eq!(new_uuid().len(), 36);
    }
}
