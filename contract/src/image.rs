//! The stemcell as the repack tool marks it and the CPI reads it: `stemcell.MF`
//! `cloud_properties` keys, which the director passes to `create_stemcell` and the CPI keeps
//! as image properties, and the stemcell formats both list.

/// `cloud_properties.bosh_lxd_helper_version` in `stemcell.MF`, then an image property:
/// the guest helper the repack added. `create_vm` refuses an image without it and copies
/// it into the instance key [`crate::keys::HELPER_VERSION_KEY`].
pub const HELPER_VERSION_PROPERTY: &str = "bosh_lxd_helper_version";
/// Image property: the stemcell's name.
pub const STEMCELL_NAME_PROPERTY: &str = "bosh_stemcell_name";
/// Image property: the stemcell's version.
pub const STEMCELL_VERSION_PROPERTY: &str = "bosh_stemcell_version";
/// Image property (also in `metadata.yaml`, so in the fingerprint): the LXD project that
/// imported the image (`docs/decisions.md` §7).
pub const PROJECT_PROPERTY: &str = "bosh_lxd_project";
/// Stemcell formats the CPI accepts (`info`) and a repack lists in `stemcell.MF`.
pub const STEMCELL_FORMATS: [&str; 2] = ["warden-tar", "general-tar"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Stemcells already repacked and images already imported carry these names.
    #[test]
    fn properties_keep_their_spelling() {
        assert_eq!(HELPER_VERSION_PROPERTY, "bosh_lxd_helper_version");
        assert_eq!(STEMCELL_NAME_PROPERTY, "bosh_stemcell_name");
        assert_eq!(STEMCELL_VERSION_PROPERTY, "bosh_stemcell_version");
        assert_eq!(PROJECT_PROPERTY, "bosh_lxd_project");
        assert_eq!(STEMCELL_FORMATS, ["warden-tar", "general-tar"]);
    }
}
