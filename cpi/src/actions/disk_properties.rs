//! Disk cloud properties and sizes. The one key this CPI reads is `pool`, the LXD storage
//! pool for a new disk; `name` (added by the director for dynamic disks) goes into the
//! volume's description; any other key is logged and ignored, as for VMs. Sizes: LXD's
//! `size` strings (`64MiB`, `10GB`, plain bytes) read as bytes, to compare with MiB.

use serde_json::{Map, Value};

use crate::json::{FieldError, Fields, scalar_to_string};
use crate::rpc::CpiError;

/// The typed disk cloud properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskCloudProperties {
    /// `pool`: storage pool for the volume.
    pub pool: Option<String>,
    /// `name`: the dynamic disk's name, for the description.
    pub name: Option<String>,
}

impl DiskCloudProperties {
    /// Parses a disk type's cloud properties.
    pub fn parse(props: &Map<String, Value>) -> Result<Self, CpiError> {
        let mut f = Fields::from_map("cloud_properties", props.clone());
        let parsed = Self::read(&mut f)?;
        for key in f.leftover_paths() {
            tracing::warn!(key = %key, "ignoring unknown disk cloud property");
        }
        Ok(parsed)
    }

    fn read(f: &mut Fields) -> Result<Self, FieldError> {
        Ok(Self {
            pool: f.non_empty_string("pool")?,
            // Only for the description: whatever shape it has is not worth a failure.
            name: f
                .take("name")
                .and_then(|v| scalar_to_string(&v))
                .filter(|s| !s.is_empty()),
        })
    }
}

const MIB: u64 = 1024 * 1024;

/// `size` of a volume config in bytes; `None` when absent or unreadable.
pub fn size_bytes(size: &str) -> Option<u64> {
    let s = size.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1000,
        "MB" => 1000_u64.pow(2),
        "GB" => 1000_u64.pow(3),
        "TB" => 1000_u64.pow(4),
        "PB" => 1000_u64.pow(5),
        "KiB" => 1024,
        "MiB" => MIB,
        "GiB" => 1024_u64.pow(3),
        "TiB" => 1024_u64.pow(4),
        "PiB" => 1024_u64.pow(5),
        _ => return None,
    };
    n.checked_mul(factor)
}

/// MiB as bytes.
pub fn mib_bytes(mib: u64) -> u64 {
    mib.saturating_mul(MIB)
}

/// The `size` value for `mib` MiB.
pub fn size_value(mib: u64) -> String {
    format!("{mib}MiB")
}

/// A byte count for messages: whole MiB when it is one, else bytes.
pub fn show_bytes(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sizes() {
        let cases = [
            ("mib", "64MiB", Some(64 * MIB)),
            ("gib", "2GiB", Some(2048 * MIB)),
            ("gb", "1GB", Some(1_000_000_000)),
            ("bytes", "1048576", Some(MIB)),
            ("bytes with B", "10B", Some(10)),
            ("garbage", "big", None),
            ("unknown unit", "1XB", None),
            ("empty", "", None),
        ];
        for (name, s, want) in cases {
            assert_eq!(size_bytes(s), want, "case {name}");
        }
        assert_eq!(show_bytes(mib_bytes(64)), "64 MiB");
        assert_eq!(show_bytes(1000), "1000 bytes");
        assert_eq!(size_value(64), "64MiB");
    }

    #[test]
    fn properties() {
        let props = json!({"pool": "fast", "name": "pg-data", "type": "gp3"});
        let got = DiskCloudProperties::parse(props.as_object().unwrap()).unwrap();
        assert_eq!(got.pool.as_deref(), Some("fast"));
        assert_eq!(got.name.as_deref(), Some("pg-data"));
        let bad = json!({"pool": 3});
        let err = DiskCloudProperties::parse(bad.as_object().unwrap()).unwrap_err();
        assert!(err.to_string().contains("cloud_properties.pool"), "{err}");
    }
}
