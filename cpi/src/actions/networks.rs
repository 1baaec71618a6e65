//! NICs for `create_vm`'s networks (`ARCHITECTURE.md` §3): one NIC per non-VIP BOSH network,
//! on the LXD network its subnet `cloud_properties.network` names (else `lxd.network`),
//! each with a fixed `hwaddr` that the settings file repeats as `mac`. The MAC is derived
//! from the NIC's IPv4 address ([`mac_for_ip`]), so a VM recreated on an address keeps its
//! MAC. Manual networks keep the director's IP; dynamic networks get a free address picked
//! here; VIP networks get no NIC. The network holding the default gateway becomes `eth0`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use bosh_lxd_contract::settings::NETWORK_MAC;
use serde_json::{Map, Value};

use super::errors::creation_error;
use super::ipv4::{self, Subnet};
use super::names::IPV4_PREFIX;
use crate::lxd::{Client, Config, Device, Devices, Network, NetworkLease};
use crate::rpc::{CpiError, NetworkSpec, NetworkType, Networks};

/// What the networks add to a new VM.
#[derive(Debug, Default)]
pub struct NetworkPlan {
    /// NIC devices by name (`eth0`, `eth1`...).
    pub devices: Devices,
    /// `user.bosh.ipv4.<nic>` keys.
    pub config: Config,
    /// Networks for the settings file and the v2 answer: the director's specs without
    /// `cloud_properties`, with `mac`, `preconfigured` and dynamic addresses filled in.
    pub settings: Map<String, Value>,
}

/// For a failed creation or first start whose LXD `message` names the MAC of one of the
/// VM's `networks` (the settings entries): LXD refuses a MAC already on another NIC of the
/// same network, and the MAC stands for an address, so say which.
pub fn address_in_use(networks: &Map<String, Value>, message: &str) -> Option<String> {
    networks.iter().find_map(|(name, entry)| {
        let mac = entry.get("mac")?.as_str()?;
        let ip = entry.get("ip")?.as_str()?;
        let derived = ip.parse().is_ok_and(|ip| mac_for_ip(ip) == mac);
        (derived && message.contains(mac)).then(|| {
            format!(
                "address {ip} of network {name} is in use: another NIC on its LXD network has \
                 MAC {mac}, which this CPI derives from that address"
            )
        })
    })
}

/// The LXD network a BOSH network's NIC goes on.
pub fn lxd_network<'a>(
    name: &str,
    spec: &'a NetworkSpec,
    default: &'a str,
) -> Result<&'a str, CpiError> {
    match spec.cloud_properties.get("network") {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(CpiError::cloud(format!(
            "networks.{name}.cloud_properties.network: expected the name of an LXD network"
        ))),
    }
}

/// The LXD networks on which an address must be picked (lock them while picking).
pub fn dynamic_lxd_networks(networks: &Networks, default: &str) -> Result<Vec<String>, CpiError> {
    let mut out = BTreeSet::new();
    for (name, spec) in networks {
        if spec.kind == NetworkType::Dynamic {
            out.insert(lxd_network(name, spec, default)?.to_owned());
        }
    }
    Ok(out.into_iter().collect())
}

/// The first two bytes of every MAC derived from an IPv4 address: `02` marks a locally
/// administered unicast address (no vendor's range), `b0` is this CPI's.
pub const DERIVED_MAC_PREFIX: [u8; 2] = [0x02, 0xb0];

/// The MAC of a NIC holding `ip`: [`DERIVED_MAC_PREFIX`] and the address's four bytes, so a
/// VM recreated on the same address answers with the MAC its neighbours already hold
/// (`docs/decisions.md` §10). One address, one MAC, and no two addresses share one.
pub fn mac_for_ip(ip: Ipv4Addr) -> String {
    let [p0, p1] = DERIVED_MAC_PREFIX;
    let [a, b, c, d] = ip.octets();
    format!("{p0:02x}:{p1:02x}:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// A MAC address in LXD's range (`00:16:3e`) with three random bytes, for a NIC without
/// an IPv4 address.
pub fn random_mac() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!("00:16:3e:{:02x}:{:02x}:{:02x}", b[0] & 0x7f, b[1], b[2])
}

/// The MAC for a NIC with `ip`: derived from it, unless another NIC of this VM has that
/// MAC already (the same address on two networks), where the guest could not tell the two
/// apart; then, like a NIC without an IPv4 address, a random one.
fn nic_mac(name: &str, ip: Option<Ipv4Addr>, taken: &Devices) -> String {
    let Some(ip) = ip else {
        return random_mac();
    };
    let mac = mac_for_ip(ip);
    if taken.values().any(|d| d.get("hwaddr") == Some(&mac)) {
        tracing::warn!(network = %name, %ip, "another NIC of this VM has the same address: random MAC");
        return random_mac();
    }
    mac
}

/// Plans the NICs. Reads each LXD network once; for dynamic networks also the leases and
/// the project's instances, whose addresses are avoided.
pub async fn plan(
    client: &Client,
    default: &str,
    networks: &Networks,
) -> Result<NetworkPlan, CpiError> {
    let mut plan = NetworkPlan::default();
    let mut lxd: BTreeMap<String, Network> = BTreeMap::new();
    let mut used = BTreeSet::new();
    if networks.values().any(|s| s.kind == NetworkType::Dynamic) {
        used = used_addresses(client, &lxd_names(networks, default)?).await?;
    }
    // The director's addresses of this call are taken too, whatever the NIC order.
    let manual = networks.values().filter(|s| s.kind == NetworkType::Manual);
    used.extend(manual.filter_map(|s| s.ip.as_deref()?.parse::<Ipv4Addr>().ok()));
    for (index, (name, spec)) in nic_order(networks).into_iter().enumerate() {
        let net_name = lxd_network(name, spec, default)?;
        if !lxd.contains_key(net_name) {
            let net = client.get_network(net_name).await.map_err(|e| {
                creation_error(format!("network {name}: LXD network {net_name}"), e)
            })?;
            lxd.insert(net_name.to_owned(), net);
        }
        let Some(net) = lxd.get(net_name) else {
            continue;
        };
        let subnet = net
            .config
            .get("ipv4.address")
            .and_then(|a| Subnet::parse(a));
        let ip = match spec.kind {
            NetworkType::Dynamic => Some(pick_address(name, net, subnet, &used)?),
            NetworkType::Manual | NetworkType::Vip => manual_ip(name, spec)?,
        };
        let nic = format!("eth{index}");
        let mac = nic_mac(name, ip, &plan.devices);
        if let Some(ip) = ip {
            used.insert(ip);
            plan.config
                .insert(format!("{IPV4_PREFIX}{nic}"), ip.to_string());
        }
        plan.devices
            .insert(nic.clone(), nic_device(&nic, &mac, net, subnet, ip));
        plan.settings.insert(
            name.clone(),
            settings_entry(spec, Some(&mac), ip.zip(subnet)),
        );
    }
    for (name, spec) in networks.iter().filter(|(_, s)| s.kind == NetworkType::Vip) {
        tracing::info!(network = %name, "VIP network: no NIC, passed to the agent only");
        plan.settings
            .insert(name.clone(), settings_entry(spec, None, None));
    }
    Ok(plan)
}

/// Non-VIP networks, the default-gateway one first, then by name.
fn nic_order(networks: &Networks) -> Vec<(&String, &NetworkSpec)> {
    let mut nics: Vec<_> = networks
        .iter()
        .filter(|(_, s)| s.kind != NetworkType::Vip)
        .collect();
    nics.sort_by_key(|(name, spec)| (!spec.is_default_gateway(), name.as_str()));
    nics
}

fn lxd_names(networks: &Networks, default: &str) -> Result<BTreeSet<String>, CpiError> {
    networks
        .iter()
        .map(|(n, s)| lxd_network(n, s, default).map(str::to_owned))
        .collect()
}

/// The director's address of a manual network: IPv4 (reserved and recorded), or IPv6
/// (passed to the agent only).
fn manual_ip(name: &str, spec: &NetworkSpec) -> Result<Option<Ipv4Addr>, CpiError> {
    let Some(ip) = spec.ip.as_deref() else {
        return Err(CpiError::cloud(format!(
            "networks.{name}: a manual network needs an ip"
        )));
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => Ok(Some(v4)),
        Ok(std::net::IpAddr::V6(_)) => Ok(None),
        Err(_) => Err(CpiError::cloud(format!(
            "networks.{name}.ip: {ip:?} is not an IP address"
        ))),
    }
}

/// A free address for dynamic network `name` on `net`.
fn pick_address(
    name: &str,
    net: &Network,
    subnet: Option<Subnet>,
    used: &BTreeSet<Ipv4Addr>,
) -> Result<Ipv4Addr, CpiError> {
    let no_range = || {
        CpiError::cloud(format!(
            "dynamic network {name}: LXD network {} has no IPv4 subnet (ipv4.address) to pick an address from",
            net.name
        ))
    };
    let subnet = subnet.ok_or_else(no_range)?;
    let ranges = match net.config.get("ipv4.dhcp.ranges") {
        Some(r) if !r.trim().is_empty() => ipv4::parse_ranges(r, &subnet),
        _ => subnet.hosts().into_iter().collect(),
    };
    let mut avoid = used.clone();
    avoid.insert(subnet.gateway);
    let seed = uuid::Uuid::new_v4().as_u64_pair().0;
    ipv4::pick(&ranges, &avoid, seed).ok_or_else(|| {
        CpiError::vm_creation_failed(
            format!(
                "dynamic network {name}: no free address left on LXD network {}",
                net.name
            ),
            false,
        )
    })
}

/// Addresses in use on `networks`: every lease LXD knows (all projects when allowed), the
/// static `ipv4.address` of this project's NICs, and the `user.bosh.ipv4.*` keys.
async fn used_addresses(
    client: &Client,
    networks: &BTreeSet<String>,
) -> Result<BTreeSet<Ipv4Addr>, CpiError> {
    let mut used = BTreeSet::new();
    for net in networks {
        let leases: Vec<NetworkLease> = match client.network_leases_all_projects(net).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(network = %net, error = %e, "leases of all projects unreadable, using this project's");
                client
                    .network_leases(net)
                    .await
                    .map_err(|e| creation_error(format!("reading the leases of {net}"), e))?
            }
        };
        used.extend(
            leases
                .iter()
                .filter_map(|l| l.address.parse::<Ipv4Addr>().ok()),
        );
    }
    let instances = client
        .list_instances_full()
        .await
        .map_err(|e| creation_error("listing instances for used addresses", e))?;
    for inst in &instances {
        let nics = inst.expanded_devices.values().filter(|d| is_nic(d));
        let static_ips = nics.filter_map(|d| d.get("ipv4.address"));
        let keys = inst
            .config
            .iter()
            .filter(|(k, _)| k.starts_with(IPV4_PREFIX))
            .map(|(_, v)| v);
        used.extend(
            static_ips
                .chain(keys)
                .filter_map(|a| a.parse::<Ipv4Addr>().ok()),
        );
    }
    Ok(used)
}

fn is_nic(device: &Device) -> bool {
    device.get("type").map(String::as_str) == Some("nic")
}

/// The NIC device: on a managed network by `network`, else bridged to the host bridge.
/// LXD reserves the address (`ipv4.address`) where it can: a managed bridge with DHCP
/// whose subnet holds it.
fn nic_device(
    nic: &str,
    mac: &str,
    net: &Network,
    subnet: Option<Subnet>,
    ip: Option<Ipv4Addr>,
) -> Device {
    let mut d = Device::new();
    d.insert("type".into(), "nic".into());
    d.insert("name".into(), nic.into());
    d.insert("hwaddr".into(), mac.into());
    if net.managed {
        d.insert("network".into(), net.name.clone());
    } else {
        d.insert("nictype".into(), "bridged".into());
        d.insert("parent".into(), net.name.clone());
    }
    let dhcp = net.config.get("ipv4.dhcp").map(String::as_str) != Some("false");
    let bridge = net.managed && net.network_type == "bridge" && dhcp;
    let Some(ip) = ip else {
        return d;
    };
    if bridge && subnet.is_some_and(|s| s.contains(ip)) {
        d.insert("ipv4.address".into(), ip.to_string());
    } else {
        tracing::warn!(
            nic,
            %ip,
            network = %net.name,
            "LXD does not reserve this address: the network is not a managed bridge with DHCP on a subnet holding it"
        );
    }
    d
}

/// One network of the settings file: the director's spec minus `cloud_properties`, plus
/// `mac`, `preconfigured`, and for a dynamic network the picked address.
fn settings_entry(
    spec: &NetworkSpec,
    mac: Option<&str>,
    dynamic: Option<(Ipv4Addr, Subnet)>,
) -> Value {
    let mut entry = match serde_json::to_value(spec) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    entry.remove("cloud_properties");
    if let Some(mac) = mac {
        entry.insert(NETWORK_MAC.into(), Value::String(mac.to_owned()));
    }
    entry.insert("preconfigured".into(), Value::Bool(true));
    if let (NetworkType::Dynamic, Some((ip, subnet))) = (spec.kind, dynamic) {
        entry.insert("ip".into(), Value::String(ip.to_string()));
        entry.insert(
            "netmask".into(),
            Value::String(subnet.netmask().to_string()),
        );
        entry.insert("prefix".into(), Value::String(subnet.prefix.to_string()));
        if spec.gateway.is_none() {
            entry.insert("gateway".into(), Value::String(subnet.gateway.to_string()));
        }
    }
    Value::Object(entry)
}

#[cfg(test)]
#[path = "networks_tests.rs"]
mod tests;
