//! The kernel's network state and the few changes `boot` makes to it, behind the
//! [`NetLink`] trait (domain verbs: list, set up, set MTU, add address, add route,
//! announce), with [`RtNetLink`] over rtnetlink(7) as the real one (and a packet socket
//! for the announcement, [`crate::garp`]). IPv4 and the main table only.
//!
//! rtnetlink is async; the helper is not. [`RtNetLink`] owns a current-thread tokio
//! runtime with the netlink connection spawned on it and blocks on each request.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Name (`eth0`).
    pub name: String,
    /// Hardware address, lower case `aa:bb:..`; `None` when it has none (`lo` has zeros).
    pub mac: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// MTU.
    pub mtu: Option<u32>,
    /// IPv4 addresses with prefix length.
    pub addresses: Vec<(Ipv4Addr, u8)>,
}

/// One IPv4 route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network (0.0.0.0 for the default route).
    pub destination: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// Next hop, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Output interface index.
    pub oif: Option<u32>,
}

impl Route {
    /// True for `default`.
    pub fn is_default(&self) -> bool {
        self.prefix == 0
    }
}

/// Links and routes, read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetState {
    /// Every interface.
    pub links: Vec<Link>,
    /// Main-table IPv4 routes.
    pub routes: Vec<Route>,
}

impl NetState {
    /// The interface with `mac` (lower case).
    pub fn link_by_mac(&self, mac: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.mac.as_deref() == Some(mac))
    }
}

/// The network operations of the helper.
pub trait NetLink {
    /// Current links (with addresses) and routes.
    fn state(&mut self) -> Result<NetState>;
    /// `ip link set <index> up`.
    fn set_up(&mut self, index: u32) -> Result<()>;
    /// `ip link set <index> mtu <mtu>`.
    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()>;
    /// `ip addr add <address>/<prefix> dev <index>`.
    fn add_address(&mut self, index: u32, address: Ipv4Addr, prefix: u8) -> Result<()>;
    /// `ip route add|replace <route>` (gateway and output interface as given).
    fn add_route(&mut self, route: &Route, replace: bool) -> Result<()>;
    /// `arping -U -c 1 -I <index> <address>`: one gratuitous ARP for `address`, just added.
    fn announce(&mut self, index: u32, address: Ipv4Addr) -> Result<()>;
}

/// [`NetLink`] over an rtnetlink socket.
#[derive(Debug)]
pub struct RtNetLink {
    runtime: tokio::runtime::Runtime,
    handle: Handle,
}

impl RtNetLink {
    /// Open a netlink connection on a current-thread runtime.
    pub fn open() -> Result<RtNetLink> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("starting a current-thread tokio runtime for rtnetlink")?;
        let (connection, handle, _) = runtime
            .block_on(async { rtnetlink::new_connection() })
            .context("opening a NETLINK_ROUTE socket")?;
        runtime.spawn(connection);
        Ok(RtNetLink { runtime, handle })
    }

    async fn links(handle: &Handle) -> Result<Vec<Link>> {
        let mut out = Vec::new();
        let mut stream = handle.link().get().execute();
        while let Some(msg) = stream.try_next().await.context("listing links")? {
            let mut link = Link {
                index: msg.header.index,
                name: String::new(),
                mac: None,
                up: msg.header.flags.contains(LinkFlags::Up),
                mtu: None,
                addresses: Vec::new(),
            };
            for attr in msg.attributes {
                match attr {
                    LinkAttribute::IfName(n) => link.name = n,
                    LinkAttribute::Mtu(m) => link.mtu = Some(m),
                    LinkAttribute::Address(bytes) if bytes.iter().any(|b| *b != 0) => {
                        link.mac = Some(format_mac(&bytes));
                    }
                    _ => {}
                }
            }
            out.push(link);
        }
        let mut addrs = handle.address().get().execute();
        while let Some(msg) = addrs.try_next().await.context("listing addresses")? {
            let local = msg.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            });
            let address = local.or_else(|| {
                msg.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
                    _ => None,
                })
            });
            if let (Some(ip), Some(link)) = (
                address,
                out.iter_mut().find(|l| l.index == msg.header.index),
            ) {
                link.addresses.push((ip, msg.header.prefix_len));
            }
        }
        Ok(out)
    }

    async fn routes(handle: &Handle) -> Result<Vec<Route>> {
        let mut out = Vec::new();
        let filter = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let mut stream = handle.route().get(filter).execute();
        while let Some(msg) = stream.try_next().await.context("listing routes")? {
            if let Some(route) = route_of(&msg) {
                out.push(route);
            }
        }
        Ok(out)
    }
}

/// The main-table unicast IPv4 route in `msg`, if it is one.
fn route_of(msg: &RouteMessage) -> Option<Route> {
    let mut table = u32::from(msg.header.table);
    let mut route = Route {
        destination: Ipv4Addr::UNSPECIFIED,
        prefix: msg.header.destination_prefix_length,
        gateway: None,
        oif: None,
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => route.destination = *ip,
            RouteAttribute::Gateway(RouteAddress::Inet(ip)) => route.gateway = Some(*ip),
            RouteAttribute::Oif(i) => route.oif = Some(*i),
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    (table == u32::from(RouteHeader::RT_TABLE_MAIN)).then_some(route)
}

/// `00:16:3e:aa:bb:cc`.
pub fn format_mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl NetLink for RtNetLink {
    fn state(&mut self) -> Result<NetState> {
        let handle = self.handle.clone();
        self.runtime.block_on(async move {
            Ok(NetState {
                links: RtNetLink::links(&handle).await?,
                routes: RtNetLink::routes(&handle).await?,
            })
        })
    }

    fn set_up(&mut self, index: u32) -> Result<()> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        let req = self.handle.link().set(msg).execute();
        self.runtime
            .block_on(req)
            .with_context(|| format!("setting link {index} up"))
    }

    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
        let req = self.handle.link().set(msg).execute();
        self.runtime
            .block_on(req)
            .with_context(|| format!("setting the MTU of link {index} to {mtu}"))
    }

    fn add_address(&mut self, index: u32, address: Ipv4Addr, prefix: u8) -> Result<()> {
        let req = self
            .handle
            .address()
            .add(index, IpAddr::V4(address), prefix)
            .execute();
        self.runtime
            .block_on(req)
            .with_context(|| format!("adding {address}/{prefix} to link {index}"))
    }

    fn announce(&mut self, index: u32, address: Ipv4Addr) -> Result<()> {
        let handle = self.handle.clone();
        let links = self.runtime.block_on(RtNetLink::links(&handle))?;
        let mac = links
            .iter()
            .find(|l| l.index == index)
            .and_then(|l| l.mac.as_deref())
            .and_then(crate::garp::parse_mac)
            .with_context(|| format!("link {index} has no Ethernet address"))?;
        crate::garp::announce(index, mac, address)
    }

    fn add_route(&mut self, route: &Route, replace: bool) -> Result<()> {
        let mut builder = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(route.destination, route.prefix);
        if let Some(gateway) = route.gateway {
            builder = builder.gateway(gateway);
        }
        if let Some(oif) = route.oif {
            builder = builder.output_interface(oif);
        }
        let mut req = self.handle.route().add(builder.build());
        if replace {
            req = req.replace();
        }
        self.runtime.block_on(req.execute()).with_context(|| {
            format!(
                "adding the route {}/{} via {:?} on link {:?}",
                route.destination, route.prefix, route.gateway, route.oif
            )
        })
    }
}
