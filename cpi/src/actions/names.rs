//! Names and keys this CPI puts on LXD objects (`docs/design.md` §2): object names derived
//! from a UUID, the `user.bosh.*` ownership keys, the image property that marks a repacked
//! stemcell, and the fixed guest paths. None of these keys may ever hold a secret: every
//! `user.*` key is readable from inside the guest.

/// `user.bosh.managed-by`: marks what this CPI created.
pub const MANAGED_BY_KEY: &str = "user.bosh.managed-by";
/// The value of [`MANAGED_BY_KEY`].
pub const MANAGED_BY: &str = "bosh-lxd-cpi";
/// `user.bosh.agent-id`: the agent ID the VM was created for.
pub const AGENT_ID_KEY: &str = "user.bosh.agent-id";
/// `user.bosh.director`: UUID of the director that asked for the object.
pub const DIRECTOR_KEY: &str = "user.bosh.director";
/// `user.bosh.helper-version`: guest helper version, copied from the image.
pub const HELPER_VERSION_KEY: &str = "user.bosh.helper-version";
/// `user.bosh.vm`: on an ephemeral volume, the VM it belongs to.
pub const VM_KEY: &str = "user.bosh.vm";
/// `user.bosh.meta.<key>`: BOSH metadata from `set_vm_metadata`.
pub const META_PREFIX: &str = "user.bosh.meta.";
/// `user.bosh.ipv4.<nic>`: the IPv4 address the VM's settings give a NIC, so that the
/// address picker of later dynamic networks sees it even where LXD holds no reservation.
pub const IPV4_PREFIX: &str = "user.bosh.ipv4.";
/// Every key under `user.bosh.` is the CPI's own; raw cloud `config` may not set them.
pub const RESERVED_PREFIX: &str = "user.bosh.";

/// Image property written by the stemcell repack tool (`stemcell.MF` `cloud_properties`).
pub const HELPER_VERSION_PROPERTY: &str = "bosh_lxd_helper_version";
/// Image property: the stemcell's name.
pub const STEMCELL_NAME_PROPERTY: &str = "bosh_stemcell_name";
/// Image property: the stemcell's version.
pub const STEMCELL_VERSION_PROPERTY: &str = "bosh_stemcell_version";
/// Image property (also in `metadata.yaml`, so in the fingerprint): the LXD project that
/// imported the image, so that no two projects share an image (`docs/decisions.md` §7).
pub const PROJECT_PROPERTY: &str = "bosh_lxd_project";

/// The command that adds the helper to a stock stemcell, named in `create_vm`'s refusal.
pub const REPACK_COMMAND: &str = "repack-stemcell STOCK.tgz OUT.tgz";

/// Where the ephemeral volume is mounted in the guest.
pub const EPHEMERAL_PATH: &str = "/var/vcap/data";
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
