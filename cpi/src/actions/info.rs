//! `info`: the contract version and stemcell formats this CPI speaks
//! (BOSH CPI API v2, `info`: bosh.io/docs/cpi-api-v2-method/info/).

use serde_json::{Value, json};

/// The highest CPI API version this CPI implements. bosh-cli caps at 2 and the director
/// accepts 2, so this stays 2 until `create_stemcell`'s v3 tags are worth claiming.
pub const API_VERSION: u32 = 2;

/// Stemcell formats this CPI imports; the director only uploads stemcells whose
/// `stemcell_formats` intersect this list (a repack lists the same).
pub use bosh_lxd_contract::image::STEMCELL_FORMATS;

/// The `info` answer: `{"api_version": 2, "stemcell_formats": [...]}`.
pub fn info() -> Value {
    json!({"api_version": API_VERSION, "stemcell_formats": STEMCELL_FORMATS})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_v2_and_warden_formats() {
        assert_eq!(
            info(),
            json!({"api_version": 2, "stemcell_formats": ["warden-tar", "general-tar"]})
        );
    }
}
