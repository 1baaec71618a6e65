//! The network part of the agent settings file: `networks.<name>` (bosh-agent
//! `settings/settings.go`, `Network`), plus the hostname (`vm.name`, else `agent_id`).
//!
//! IPv4 only: an IPv6 address in a network is kept as an error for that network, so the
//! rest still comes up. Unknown fields are ignored; a field of the wrong type makes the
//! network invalid (with the reason), never the whole file.

use std::net::Ipv4Addr;

use anyhow::{Context, Result, bail};
use bosh_lxd_contract::settings::{AGENT_ID, NETWORK_MAC, NETWORKS, VM_NAME};
use serde_json::Value;

/// `networks.<name>.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetKind {
    /// Static address from the director.
    Manual,
    /// DHCP (the helper has no DHCP client).
    Dynamic,
    /// A public address handled outside the VM.
    Vip,
    /// Anything else, as written.
    Other(String),
}

/// One extra route of a network (`routes[]`, capitalised keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination network.
    pub destination: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// Next hop.
    pub gateway: Ipv4Addr,
}

/// One network as the helper needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The key in `networks`.
    pub name: String,
    /// `type`.
    pub kind: NetKind,
    /// `mac`, lower case; how the interface is found.
    pub mac: Option<String>,
    /// `ip` with its prefix (`prefix`, else from `netmask`).
    pub address: Option<(Ipv4Addr, u8)>,
    /// `gateway`.
    pub gateway: Option<Ipv4Addr>,
    /// `default` contains `gateway`.
    pub default_gateway: bool,
    /// `default` contains `dns`.
    pub default_dns: bool,
    /// `dns`, as written.
    pub dns: Vec<String>,
    /// `mtu`, if given.
    pub mtu: Option<u32>,
    /// `routes`.
    pub routes: Vec<RouteSpec>,
}

/// Everything `boot` configures from the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetSettings {
    /// Valid networks, sorted by name.
    pub networks: Vec<NetworkSpec>,
    /// Networks that could not be understood: (name, why).
    pub invalid: Vec<(String, String)>,
    /// `vm.name`, else `agent_id`.
    pub hostname: Option<String>,
}

impl NetSettings {
    /// The nameservers for `/etc/resolv.conf`: those of the network whose `default` has
    /// `dns`, else of every network in name order; duplicates dropped.
    pub fn nameservers(&self) -> Vec<String> {
        let chosen: Vec<&NetworkSpec> = match self.networks.iter().find(|n| n.default_dns) {
            Some(n) => vec![n],
            None => self.networks.iter().collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for server in chosen.iter().flat_map(|n| n.dns.iter()) {
            if !out.contains(server) {
                out.push(server.clone());
            }
        }
        out
    }
}

/// Interpret the settings document.
pub fn parse(doc: &Value) -> NetSettings {
    let mut settings = NetSettings {
        hostname: hostname(doc),
        ..NetSettings::default()
    };
    if let Some(Value::Object(networks)) = doc.pointer(NETWORKS) {
        for (name, net) in networks {
            match parse_network(name, net) {
                Ok(spec) => settings.networks.push(spec),
                Err(e) => settings.invalid.push((name.clone(), format!("{e:#}"))),
            }
        }
    }
    settings.networks.sort_by(|a, b| a.name.cmp(&b.name));
    settings
}

fn hostname(doc: &Value) -> Option<String> {
    let usable = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    usable(doc.pointer(VM_NAME)).or_else(|| usable(doc.pointer(AGENT_ID)))
}

fn parse_network(name: &str, net: &Value) -> Result<NetworkSpec> {
    let Value::Object(_) = net else {
        bail!("not an object");
    };
    let kind = match text(net, "type")?.as_deref() {
        None | Some("manual") => NetKind::Manual,
        Some("dynamic") => NetKind::Dynamic,
        Some("vip") => NetKind::Vip,
        Some(other) => NetKind::Other(other.to_string()),
    };
    let defaults = strings(net, "default")?;
    let address = match text(net, "ip")? {
        None => None,
        Some(ip) => {
            let ip = ipv4(&ip).context("ip")?;
            Some((ip, prefix_of(net).context("netmask/prefix")?))
        }
    };
    Ok(NetworkSpec {
        name: name.to_string(),
        kind,
        mac: text(net, NETWORK_MAC)?.map(|m| m.to_ascii_lowercase()),
        address,
        gateway: text(net, "gateway")?
            .map(|g| ipv4(&g))
            .transpose()
            .context("gateway")?,
        default_gateway: defaults.iter().any(|d| d == "gateway"),
        default_dns: defaults.iter().any(|d| d == "dns"),
        dns: strings(net, "dns")?,
        mtu: number(net, "mtu")?
            .map(|m| u32::try_from(m).context("mtu out of range"))
            .transpose()?,
        routes: routes(net)?,
    })
}

/// The prefix length: `prefix` when present, else counted from `netmask`.
fn prefix_of(net: &Value) -> Result<u8> {
    if let Some(p) = number(net, "prefix")? {
        return u8::try_from(p)
            .ok()
            .filter(|p| *p <= 32)
            .with_context(|| format!("prefix {p} is not 0-32"));
    }
    let mask = text(net, "netmask")?.context("neither prefix nor netmask given")?;
    netmask_prefix(&mask)
}

/// `255.255.255.0` → 24; refuses masks whose ones are not contiguous.
pub fn netmask_prefix(mask: &str) -> Result<u8> {
    let bits = u32::from(ipv4(mask)?);
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) != 0 {
        bail!("netmask {mask} is not contiguous");
    }
    u8::try_from(ones).context("prefix length")
}

fn routes(net: &Value) -> Result<Vec<RouteSpec>> {
    let Some(list) = net.get("routes").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = list else {
        bail!("routes is not an array");
    };
    items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let field = |k: &str| -> Result<String> {
                text(r, k)?.with_context(|| format!("routes[{i}] has no {k}"))
            };
            Ok(RouteSpec {
                destination: ipv4(&field("Destination")?)
                    .with_context(|| format!("routes[{i}]"))?,
                prefix: netmask_prefix(&field("Netmask")?)
                    .with_context(|| format!("routes[{i}]"))?,
                gateway: ipv4(&field("Gateway")?).with_context(|| format!("routes[{i}]"))?,
            })
        })
        .collect()
}

fn ipv4(s: &str) -> Result<Ipv4Addr> {
    s.trim()
        .parse()
        .with_context(|| format!("{s:?} is not an IPv4 address"))
}

fn text(v: &Value, key: &str) -> Result<Option<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => bail!("{key} is not a string"),
    }
}

/// A number given as JSON number or numeric string (`"prefix": "24"`).
fn number(v: &Value, key: &str) -> Result<Option<u64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .with_context(|| format!("{key} is not a whole number")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{key} {s:?} is not a number")),
        Some(_) => bail!("{key} is not a number"),
    }
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .with_context(|| format!("{key} holds a non-string")),
        Some(_) => bail!("{key} is not an array"),
    }
}

#[cfg(test)]
#[path = "netsettings_tests.rs"]
mod tests;
