//! Networking from the agent settings: LXD gives these images no configuration (no DHCP
//! client, no udev), so `boot` brings the interfaces up itself.
//!
//! [`plan`] is pure: settings + current links and routes → the changes, in order (links
//! up, MTU, addresses, then routes, so that every gateway is on-link when its route is
//! added). Nothing is ever removed: an address or route already there is kept, so a
//! second run plans nothing. [`bring_up`] reads, plans, applies through [`NetLink`]
//! (announcing each address it adds with a gratuitous ARP) and writes `/etc/resolv.conf`
//! and the hostname ([`files`]).

pub mod files;

use std::net::Ipv4Addr;
use std::time::Instant;

use anyhow::Result;

use crate::netlink::{NetLink, NetState, Route};
use crate::netsettings::{NetKind, NetSettings};
use crate::note::{Level, Note};
use crate::paths::GuestRoot;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetAction {
    /// Set the link administratively up.
    LinkUp {
        /// Interface index.
        index: u32,
        /// Interface name, for the log.
        name: String,
    },
    /// Set the MTU.
    SetMtu {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
        /// New MTU.
        mtu: u32,
    },
    /// Add an address.
    AddAddress {
        /// Interface index.
        index: u32,
        /// Interface name.
        name: String,
        /// Address.
        address: Ipv4Addr,
        /// Prefix length.
        prefix: u8,
    },
    /// Add a route (`replace`: a different default route is there already).
    AddRoute {
        /// The route, output interface included.
        route: Route,
        /// Replace an existing route to the same destination.
        replace: bool,
    },
}

/// Changes and explanations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPlan {
    /// Changes, in order.
    pub actions: Vec<NetAction>,
    /// Explanations for the log.
    pub notes: Vec<Note>,
}

impl NetPlan {
    fn note(&mut self, level: Level, text: String) {
        self.notes.push(Note { level, text });
    }
}

/// Decide the changes that make `state` match `settings`.
pub fn plan(settings: &NetSettings, state: &NetState) -> NetPlan {
    let mut p = NetPlan::default();
    for (name, why) in &settings.invalid {
        p.note(
            Level::Warn,
            format!("network {name}: not configured: {why}"),
        );
    }
    let mut ups = Vec::new();
    let mut mtus = Vec::new();
    let mut addrs = Vec::new();
    let mut routes = Vec::new();
    if let Some(lo) = state.links.iter().find(|l| l.name == "lo" && !l.up) {
        ups.push(NetAction::LinkUp {
            index: lo.index,
            name: lo.name.clone(),
        });
    }
    let mut default_taken: Option<&str> = None;
    for net in &settings.networks {
        match &net.kind {
            NetKind::Manual => {}
            NetKind::Vip => continue,
            // The CPI picks a dynamic network's address itself and writes it into the
            // settings: configure it like a manual one. Without an address it would need a
            // DHCP client, which the helper is not.
            NetKind::Dynamic if net.address.is_some() => {}
            NetKind::Dynamic => {
                p.note(
                    Level::Warn,
                    format!(
                        "network {}: type dynamic without an ip needs a DHCP client, which \
                         the helper is not; not configured",
                        net.name
                    ),
                );
                continue;
            }
            NetKind::Other(kind) => {
                p.note(
                    Level::Warn,
                    format!(
                        "network {}: unknown type {kind:?}; not configured",
                        net.name
                    ),
                );
                continue;
            }
        }
        let Some(mac) = &net.mac else {
            p.note(
                Level::Warn,
                format!(
                    "network {}: no mac in the settings; cannot tell its interface",
                    net.name
                ),
            );
            continue;
        };
        let Some(link) = state.link_by_mac(mac) else {
            p.note(
                Level::Warn,
                format!("network {}: no interface has the mac {mac}", net.name),
            );
            continue;
        };
        let name = link.name.clone();
        if !link.up
            && !ups
                .iter()
                .any(|a| matches!(a, NetAction::LinkUp { index, .. } if *index == link.index))
        {
            ups.push(NetAction::LinkUp {
                index: link.index,
                name: name.clone(),
            });
        }
        if let Some(mtu) = net.mtu.filter(|m| link.mtu != Some(*m)) {
            mtus.push(NetAction::SetMtu {
                index: link.index,
                name: name.clone(),
                mtu,
            });
        }
        if let Some((address, prefix)) = net.address {
            match link.addresses.iter().find(|(a, _)| *a == address) {
                Some((_, have)) if *have != prefix => p.note(Level::Warn, format!(
                    "network {}: {name} has {address}/{have}, the settings say /{prefix}; kept as is",
                    net.name)),
                Some(_) => {}
                None => addrs.push(NetAction::AddAddress { index: link.index, name: name.clone(), address, prefix }),
            }
        }
        for extra in &net.routes {
            let route = Route {
                destination: extra.destination,
                prefix: extra.prefix,
                gateway: Some(extra.gateway),
                oif: Some(link.index),
            };
            if !has_route(state, &route) {
                routes.push(NetAction::AddRoute {
                    route,
                    replace: false,
                });
            }
        }
        if !net.default_gateway {
            continue;
        }
        let Some(gateway) = net.gateway else {
            p.note(
                Level::Warn,
                format!(
                    "network {}: default gateway wanted but no gateway given",
                    net.name
                ),
            );
            continue;
        };
        if let Some(first) = default_taken {
            p.note(
                Level::Warn,
                format!(
                    "network {}: the default route already comes from network {first}; ignored",
                    net.name
                ),
            );
            continue;
        }
        default_taken = Some(&net.name);
        let route = Route {
            destination: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            gateway: Some(gateway),
            oif: Some(link.index),
        };
        let current: Vec<&Route> = state.routes.iter().filter(|r| r.is_default()).collect();
        if current.iter().any(|r| same_route(r, &route)) {
            continue;
        }
        if let Some(other) = current.first() {
            p.note(Level::Info, format!(
                "network {}: replacing the default route via {:?} with one via {gateway} on {name}",
                net.name, other.gateway));
        }
        routes.push(NetAction::AddRoute {
            route,
            replace: !current.is_empty(),
        });
    }
    p.actions = [ups, mtus, addrs, routes].concat();
    p
}

fn same_route(have: &Route, want: &Route) -> bool {
    have.destination == want.destination
        && have.prefix == want.prefix
        && have.gateway == want.gateway
        && (want.oif.is_none() || have.oif == want.oif)
}

fn has_route(state: &NetState, route: &Route) -> bool {
    state.routes.iter().any(|r| same_route(r, route))
}

/// Apply `plan`; returns how many actions failed (each is logged with its interface).
pub fn apply(plan: &NetPlan, net: &mut dyn NetLink) -> usize {
    let mut failures = 0;
    for action in &plan.actions {
        let (result, done) = match action {
            NetAction::LinkUp { index, name } => (net.set_up(*index), format!("{name}: up")),
            NetAction::SetMtu { index, name, mtu } => {
                (net.set_mtu(*index, *mtu), format!("{name}: mtu {mtu}"))
            }
            NetAction::AddAddress {
                index,
                name,
                address,
                prefix,
            } => (
                net.add_address(*index, *address, *prefix),
                format!("{name}: address {address}/{prefix}"),
            ),
            NetAction::AddRoute { route, replace } => {
                (net.add_route(route, *replace), describe(route))
            }
        };
        match result {
            Ok(()) => tracing::info!("network: {done}"),
            Err(e) => {
                failures += 1;
                tracing::error!("network: {done}: {e:#}");
                continue;
            }
        }
        if let NetAction::AddAddress {
            index,
            name,
            address,
            ..
        } = action
        {
            announce(net, *index, name, *address);
        }
    }
    failures
}

/// One gratuitous ARP for an address just added, so neighbours holding it with another MAC
/// correct their entry now. Not counted as a failure when it fails: the address works, and
/// a neighbour learns the MAC when its entry expires.
fn announce(net: &mut dyn NetLink, index: u32, name: &str, address: Ipv4Addr) {
    match net.announce(index, address) {
        Ok(()) => tracing::info!("network: {name}: announced {address} (gratuitous ARP)"),
        Err(e) => tracing::warn!(
            "network: {name}: announcing {address} failed, neighbours learn its MAC when \
             their entry expires: {e:#}"
        ),
    }
}

/// `0.0.0.0/0 via 10.0.0.1 on link 2`, for the log.
fn describe(route: &Route) -> String {
    let mut text = format!("route {}/{}", route.destination, route.prefix);
    if let Some(gateway) = route.gateway {
        text.push_str(&format!(" via {gateway}"));
    }
    if let Some(oif) = route.oif {
        text.push_str(&format!(" on link {oif}"));
    }
    text
}

/// Bring the network up from `settings`: interfaces, DNS, hostname. Returns how many
/// steps failed.
pub fn bring_up(root: &GuestRoot, settings: &NetSettings, net: &mut dyn NetLink) -> Result<usize> {
    let started = Instant::now();
    let state = net.state()?;
    let plan = plan(settings, &state);
    for note in &plan.notes {
        match note.level {
            Level::Info => tracing::info!("network: {}", note.text),
            Level::Warn => tracing::warn!("network: {}", note.text),
        }
    }
    let mut failures = apply(&plan, net);
    let links_ms = started.elapsed().as_secs_f64() * 1000.0;
    failures += files::write_all(root, settings);
    tracing::info!(
        "network: {} change(s) in {links_ms:.2} ms (interfaces), {:.2} ms with DNS and hostname; {failures} failed",
        plan.actions.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(failures)
}

#[cfg(test)]
#[path = "network/tests.rs"]
mod tests;
