//! Networks (`/1.0/networks/<name>`) and their DHCP leases (`/1.0/networks/<name>/leases`).
//!
//! The CPI reads a bridge's `ipv4.address` to know the range it may hand out to
//! dynamic BOSH networks, and the leases to avoid addresses already in use.
//! Structs follow LXD's `api.Network` and `api.NetworkLease`. Networks are
//! shared with the default project unless the project has `features.networks`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::Client;
use super::error::LxdError;
use super::instances::Config;
use super::paths::encode_component;

/// LXD's `api.Network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Network name.
    pub name: String,
    /// `bridge`, `macvlan`, `physical`...
    #[serde(default, rename = "type")]
    pub network_type: String,
    /// Config (`ipv4.address` such as `10.245.0.1/16`, `ipv4.dhcp.ranges`...).
    #[serde(default)]
    pub config: Config,
    /// Whether LXD manages it (only managed networks have leases).
    #[serde(default)]
    pub managed: bool,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// `Created`, `Errored`, ...
    #[serde(default)]
    pub status: String,
    /// URLs of what uses it.
    #[serde(default)]
    pub used_by: Vec<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One DHCP lease or static allocation (`api.NetworkLease`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkLease {
    /// Host name (instance name, or `<bridge>.gw` for the gateway).
    #[serde(default)]
    pub hostname: String,
    /// MAC address (empty for the gateway).
    #[serde(default)]
    pub hwaddr: String,
    /// The leased address.
    #[serde(default)]
    pub address: String,
    /// `static`, `dynamic` or `gateway`.
    #[serde(default, rename = "type")]
    pub lease_type: String,
    /// Cluster member.
    #[serde(default)]
    pub location: String,
}

fn network_path(name: &str) -> String {
    format!("/1.0/networks/{}", encode_component(name))
}

impl Client {
    /// The network, or [`super::LxdErrorKind::NotFound`].
    pub async fn get_network(&self, name: &str) -> Result<Network, LxdError> {
        self.get(&network_path(name)).await
    }

    /// Leases of a managed network that belong to this project's instances (static
    /// `ipv4.address` allocations of their NICs). LXD filters by project: asked in a
    /// project other than `default` it lists neither the gateway nor dnsmasq's
    /// dynamic leases (verified on 5.0.2).
    pub async fn network_leases(&self, name: &str) -> Result<Vec<NetworkLease>, LxdError> {
        self.get(&format!("{}/leases", network_path(name))).await
    }

    /// Every lease of the network as LXD lists it for the `default` project: the
    /// gateway, dnsmasq's dynamic leases and the static allocations of all projects.
    /// Needs a client allowed to read the `default` project.
    pub async fn network_leases_all_projects(
        &self,
        name: &str,
    ) -> Result<Vec<NetworkLease>, LxdError> {
        self.get(&format!("{}/leases?project=default", network_path(name)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_network_and_leases() {
        // Trimmed from LXD 5.0.2 answers for the test bridge.
        let net = r#"{"config":{"ipv4.address":"10.245.0.1/16","ipv4.nat":"false"},"description":"",
            "name":"boshbr0","type":"bridge","used_by":["/1.0/profiles/default"],"managed":true,
            "status":"Created","locations":["none"]}"#;
        let leases = r#"[{"hostname":"boshbr0.gw","hwaddr":"","address":"10.245.0.1","type":"gateway","location":""}]"#;
        let net: Network = match serde_json::from_str(net) {
            Ok(n) => n,
            Err(e) => panic!("network: {e}"),
        };
        assert_eq!(
            net.config.get("ipv4.address").map(String::as_str),
            Some("10.245.0.1/16")
        );
        assert!(net.managed);
        let leases: Vec<NetworkLease> = match serde_json::from_str(leases) {
            Ok(l) => l,
            Err(e) => panic!("leases: {e}"),
        };
        assert_eq!(
            leases.first().map(|l| l.lease_type.as_str()),
            Some("gateway")
        );
    }
}
