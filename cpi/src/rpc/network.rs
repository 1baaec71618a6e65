//! `create_vm`'s `networks` argument (bosh.io/docs/cpi-api-v2-method/create-vm/): one
//! [`NetworkSpec`] per BOSH network name, with the keys the CPI reads typed and every other
//! key kept for the agent settings file (bosh-agent `settings/settings.go`, `Network`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::args::ArgError;
use crate::json::{FieldError, Fields};

/// The kind of a BOSH network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// The director chose the IP.
    Manual,
    /// The CPI picks the IP and reports it back (v2 `create_vm` answer).
    Dynamic,
    /// A virtual IP; logged and ignored by this CPI.
    Vip,
}

/// One network as the director describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSpec {
    /// `type`; absent means manual, as the director's manual networks once omitted it.
    #[serde(rename = "type")]
    pub kind: NetworkType,
    /// `ip` (manual networks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `netmask`, dotted quad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    /// `gateway`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// `dns` nameservers; empty when absent or null.
    pub dns: Vec<String>,
    /// `default`: which of `dns`, `gateway`, `addressable` this network provides.
    pub default: Vec<String>,
    /// Subnet `cloud_properties`, e.g. the LXD `network` (bridge) to use.
    pub cloud_properties: Map<String, Value>,
    /// Every other key (`prefix`, `mac`, `routes`, `alias`, ...), kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `networks` argument: network name to spec, in name order.
pub type Networks = BTreeMap<String, NetworkSpec>;

impl NetworkSpec {
    /// Decodes one network; errors name `<network>.<key>`.
    pub fn from_json(name: &str, value: Value) -> Result<Self, FieldError> {
        let mut f = Fields::new(name, value)?;
        let kind = match f.string("type")?.as_deref() {
            None | Some("manual") => NetworkType::Manual,
            Some("dynamic") => NetworkType::Dynamic,
            Some("vip") => NetworkType::Vip,
            Some(other) => {
                return Err(f.error(
                    "type",
                    format!("expected \"manual\", \"dynamic\" or \"vip\", got {other:?}"),
                ));
            }
        };
        Ok(Self {
            kind,
            ip: f.string("ip")?,
            netmask: f.string("netmask")?,
            gateway: f.string("gateway")?,
            dns: f.string_list("dns")?.unwrap_or_default(),
            default: f.string_list("default")?.unwrap_or_default(),
            cloud_properties: f.object("cloud_properties")?.unwrap_or_default(),
            extra: f.into_rest(),
        })
    }

    /// Whether this network provides the default gateway.
    pub fn is_default_gateway(&self) -> bool {
        self.default.iter().any(|d| d == "gateway")
    }
}

/// Decodes the whole `networks` object.
pub(crate) fn networks(value: Value) -> Result<Networks, ArgError> {
    let Value::Object(map) = value else {
        return Err(ArgError::Expected {
            expected: "an object",
            got: crate::json::describe(&value),
        });
    };
    map.into_iter()
        .map(|(name, spec)| Ok((name.clone(), NetworkSpec::from_json(&name, spec)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_keys_and_extras_survive() {
        let nets = networks(json!({"default": {
            "type": "manual", "ip": "10.0.0.10", "netmask": "255.255.255.0",
            "gateway": "10.0.0.1", "dns": ["10.0.0.2"], "default": ["dns", "gateway"],
            "cloud_properties": {"network": "boshbr0"}, "prefix": "24", "mac": null}}))
        .unwrap();
        let net = &nets["default"];
        assert_eq!(net.kind, NetworkType::Manual);
        assert_eq!(net.ip.as_deref(), Some("10.0.0.10"));
        assert!(net.is_default_gateway());
        assert_eq!(net.extra["prefix"], "24");
        let back = serde_json::to_value(net).unwrap();
        assert_eq!(back["type"], "manual");
        assert_eq!(back["prefix"], "24");
        assert_eq!(back["cloud_properties"]["network"], "boshbr0");
    }

    #[test]
    fn bad_networks_name_the_field() {
        let cases = [
            (
                "not an object",
                json!([]),
                "expected an object, got an array",
            ),
            (
                "spec not an object",
                json!({"n": 1}),
                "n: expected an object, got integer 1",
            ),
            (
                "bad type",
                json!({"n": {"type": "bridged"}}),
                "n.type: expected \"manual\", \"dynamic\" or \"vip\", got \"bridged\"",
            ),
            (
                "bad ip",
                json!({"n": {"ip": 10}}),
                "n.ip: expected a string, got integer 10",
            ),
            (
                "bad dns",
                json!({"n": {"dns": "8.8.8.8"}}),
                "n.dns: expected an array of strings, got string \"8.8.8.8\"",
            ),
        ];
        for (name, value, want) in cases {
            assert_eq!(
                networks(value).unwrap_err().to_string(),
                want,
                "case {name}"
            );
        }
        let dynamic = networks(json!({"d": {"type": "dynamic", "dns": null}})).unwrap();
        assert_eq!(
            (dynamic["d"].kind, dynamic["d"].dns.len()),
            (NetworkType::Dynamic, 0)
        );
    }
}
