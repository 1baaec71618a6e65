//! Typed identifiers the director hands to the CPI: VM, disk, stemcell and snapshot CIDs and
//! the agent ID. Each is a non-empty string; an empty one is refused when it is built or
//! deserialized, so action code never sees `""` as a CID.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An identifier was built from an empty string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} must be a non-empty string")]
pub struct EmptyId {
    /// What was being built, e.g. "VM CID".
    pub kind: &'static str,
}

/// Defines one identifier newtype: construction, string access, display and serde.
macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// What this identifier is, for messages ("VM CID", "disk CID", ...).
            pub const KIND: &'static str = $kind;

            /// Wraps `value`, refusing an empty string.
            pub fn new(value: impl Into<String>) -> Result<Self, EmptyId> {
                let value = value.into();
                if value.is_empty() {
                    Err(EmptyId { kind: $kind })
                } else {
                    Ok(Self(value))
                }
            }

            /// The identifier as the director spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = EmptyId;
            fn from_str(s: &str) -> Result<Self, EmptyId> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = EmptyId;
            fn try_from(s: String) -> Result<Self, EmptyId> {
                Self::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_string(NonEmptyVisitor).map(Self)
            }
        }
    };
}

/// Accepts a string and refuses an empty one; shared by every identifier's `Deserialize`.
struct NonEmptyVisitor;

impl Visitor<'_> for NonEmptyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-empty string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        if v.is_empty() {
            Err(E::invalid_value(Unexpected::Str(""), &self))
        } else {
            Ok(v)
        }
    }
}

define_id!(
    /// A VM CID: the name of the LXD instance (`vm-<uuid>` for VMs this CPI created).
    VmCid,
    "VM CID"
);
define_id!(
    /// A persistent disk CID: the name of an LXD custom volume (`disk-<uuid>`).
    DiskCid,
    "disk CID"
);
define_id!(
    /// A stemcell CID: an LXD image alias (`stemcell-<uuid>`).
    StemcellCid,
    "stemcell CID"
);
define_id!(
    /// A snapshot CID: names a snapshot of a persistent disk's volume.
    SnapshotCid,
    "snapshot CID"
);
define_id!(
    /// The BOSH agent ID given to `create_vm`; the agent also uses it as its hostname.
    AgentId,
    "agent ID"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_strings_are_refused_everywhere() {
        assert_eq!(VmCid::new(""), Err(EmptyId { kind: "VM CID" }));
        assert!("".parse::<DiskCid>().is_err());
        assert!(StemcellCid::try_from(String::new()).is_err());
        let err = serde_json::from_str::<SnapshotCid>(r#""""#).unwrap_err();
        assert!(
            err.to_string().contains("expected a non-empty string"),
            "{err}"
        );
        let err = serde_json::from_str::<AgentId>("7").unwrap_err();
        assert!(
            err.to_string().contains("expected a non-empty string"),
            "{err}"
        );
    }

    #[test]
    fn round_trips_through_json_as_a_plain_string() {
        let cid: VmCid = serde_json::from_str(r#""vm-1234""#).unwrap();
        assert_eq!(cid.as_str(), "vm-1234");
        assert_eq!(cid.to_string(), "vm-1234");
        assert_eq!(serde_json::to_string(&cid).unwrap(), r#""vm-1234""#);
        assert_eq!(
            EmptyId { kind: VmCid::KIND }.to_string(),
            "VM CID must be a non-empty string"
        );
    }
}
