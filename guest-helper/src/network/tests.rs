//! Table tests of the network plan, and of apply against a recording fake [`NetLink`].

use serde_json::json;

use super::*;
use crate::netlink::Link;
use crate::netsettings::parse;

const MAC0: &str = "00:16:3e:00:00:01";
const MAC1: &str = "00:16:3e:00:00:02";

fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn link(index: u32, name: &str, mac: Option<&str>, up: bool, addrs: &[(Ipv4Addr, u8)]) -> Link {
    Link {
        index,
        name: name.into(),
        mac: mac.map(str::to_string),
        up,
        mtu: Some(1500),
        addresses: addrs.to_vec(),
    }
}

/// A fresh LXD container: lo up, eth0 and eth1 down, no address, no route.
fn fresh() -> NetState {
    NetState {
        links: vec![
            link(1, "lo", None, true, &[(ip(127, 0, 0, 1), 8)]),
            link(2, "eth0", Some(MAC0), false, &[]),
            link(3, "eth1", Some(MAC1), false, &[]),
        ],
        routes: vec![],
    }
}

fn two_networks() -> NetSettings {
    parse(&json!({"networks": {
        "a": {"type": "manual", "ip": "10.245.7.2", "netmask": "255.255.0.0",
              "gateway": "10.245.0.1", "default": ["dns", "gateway"], "mac": MAC0},
        "b": {"type": "manual", "ip": "10.245.8.3", "netmask": "255.255.255.0",
              "gateway": "10.245.8.1", "mac": MAC1, "mtu": 1400}
    }}))
}

fn default_via(gateway: Ipv4Addr, oif: u32) -> Route {
    Route {
        destination: Ipv4Addr::UNSPECIFIED,
        prefix: 0,
        gateway: Some(gateway),
        oif: Some(oif),
    }
}

/// A recording fake that also applies the changes to its state, like the kernel would.
#[derive(Debug, Default)]
struct FakeNet {
    state: NetState,
    calls: Vec<String>,
}

impl NetLink for FakeNet {
    fn state(&mut self) -> Result<NetState> {
        Ok(self.state.clone())
    }
    fn set_up(&mut self, index: u32) -> Result<()> {
        self.calls.push(format!("up {index}"));
        self.state
            .links
            .iter_mut()
            .filter(|l| l.index == index)
            .for_each(|l| l.up = true);
        Ok(())
    }
    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        self.calls.push(format!("mtu {index} {mtu}"));
        self.state
            .links
            .iter_mut()
            .filter(|l| l.index == index)
            .for_each(|l| l.mtu = Some(mtu));
        Ok(())
    }
    fn add_address(&mut self, index: u32, address: Ipv4Addr, prefix: u8) -> Result<()> {
        self.calls.push(format!("addr {index} {address}/{prefix}"));
        for l in self.state.links.iter_mut().filter(|l| l.index == index) {
            l.addresses.push((address, prefix));
        }
        Ok(())
    }
    fn announce(&mut self, index: u32, address: Ipv4Addr) -> Result<()> {
        self.calls.push(format!("announce {index} {address}"));
        Ok(())
    }
    fn add_route(&mut self, route: &Route, replace: bool) -> Result<()> {
        self.calls.push(format!(
            "route {}/{} {:?} {replace}",
            route.destination, route.prefix, route.gateway
        ));
        if replace {
            self.state
                .routes
                .retain(|r| (r.destination, r.prefix) != (route.destination, route.prefix));
        }
        self.state.routes.push(route.clone());
        Ok(())
    }
}

#[test]
fn plans_per_case() {
    struct Case {
        name: &'static str,
        state: NetState,
        settings: NetSettings,
        actions: Vec<NetAction>,
        warns: usize,
    }
    let up = |index, name: &str| NetAction::LinkUp {
        index,
        name: name.into(),
    };
    let addr = |index, name: &str, address, prefix| NetAction::AddAddress {
        index,
        name: name.into(),
        address,
        prefix,
    };
    let mut configured = fresh();
    configured.links[1].up = true;
    configured.links[1].addresses.push((ip(10, 245, 7, 2), 16));
    configured.links[2].up = true;
    configured.links[2].mtu = Some(1400);
    configured.links[2].addresses.push((ip(10, 245, 8, 3), 24));
    configured.routes.push(default_via(ip(10, 245, 0, 1), 2));
    let mut other_default = configured.clone();
    other_default.routes = vec![default_via(ip(10, 245, 0, 254), 2)];
    let mut wrong_prefix = fresh();
    wrong_prefix.links[1]
        .addresses
        .push((ip(10, 245, 7, 2), 24));
    wrong_prefix.links[1]
        .addresses
        .push((ip(10, 245, 99, 9), 16));
    let mut lo_down = fresh();
    lo_down.links[0].up = false;
    let cases = vec![
        Case {
            name: "fresh container, two networks",
            state: fresh(),
            settings: two_networks(),
            actions: vec![
                up(2, "eth0"),
                up(3, "eth1"),
                NetAction::SetMtu {
                    index: 3,
                    name: "eth1".into(),
                    mtu: 1400,
                },
                addr(2, "eth0", ip(10, 245, 7, 2), 16),
                addr(3, "eth1", ip(10, 245, 8, 3), 24),
                NetAction::AddRoute {
                    route: default_via(ip(10, 245, 0, 1), 2),
                    replace: false,
                },
            ],
            warns: 0,
        },
        Case {
            name: "already configured: nothing",
            state: configured,
            settings: two_networks(),
            actions: vec![],
            warns: 0,
        },
        Case {
            name: "another default route is replaced",
            state: other_default,
            settings: two_networks(),
            actions: vec![NetAction::AddRoute {
                route: default_via(ip(10, 245, 0, 1), 2),
                replace: true,
            }],
            warns: 0,
        },
        Case {
            name: "same address with another prefix is kept, foreign addresses too",
            state: wrong_prefix,
            settings: two_networks(),
            actions: vec![
                up(2, "eth0"),
                up(3, "eth1"),
                NetAction::SetMtu {
                    index: 3,
                    name: "eth1".into(),
                    mtu: 1400,
                },
                addr(3, "eth1", ip(10, 245, 8, 3), 24),
                NetAction::AddRoute {
                    route: default_via(ip(10, 245, 0, 1), 2),
                    replace: false,
                },
            ],
            warns: 1,
        },
        Case {
            name: "lo down is brought up; unknown mac, no mac, dynamic, vip, invalid are notes",
            state: lo_down,
            settings: parse(&json!({"networks": {
                "nomac": {"ip": "10.0.0.2", "netmask": "255.0.0.0"},
                "unknown": {"ip": "10.0.0.3", "netmask": "255.0.0.0", "mac": "00:16:3e:ff:ff:ff"},
                "dyn": {"type": "dynamic", "mac": MAC0},
                "pub": {"type": "vip", "ip": "1.2.3.4", "netmask": "255.255.255.255"},
                "bad": {"ip": "10.0.0.4"}
            }})),
            actions: vec![up(1, "lo")],
            warns: 4,
        },
        Case {
            name: "a dynamic network with the address the CPI picked is configured statically",
            state: fresh(),
            settings: parse(&json!({"networks": {
                "dyn": {"type": "dynamic", "ip": "10.245.3.7", "netmask": "255.255.0.0",
                        "gateway": "10.245.0.1", "default": ["gateway"], "mac": MAC0}
            }})),
            actions: vec![
                up(2, "eth0"),
                addr(2, "eth0", ip(10, 245, 3, 7), 16),
                NetAction::AddRoute {
                    route: default_via(ip(10, 245, 0, 1), 2),
                    replace: false,
                },
            ],
            warns: 0,
        },
        Case {
            name: "two networks claim the gateway: the first by name wins; extra routes added",
            state: fresh(),
            settings: parse(&json!({"networks": {
                "a": {"ip": "10.1.0.2", "netmask": "255.255.0.0", "gateway": "10.1.0.1",
                      "default": ["gateway"], "mac": MAC0,
                      "routes": [{"Destination": "10.9.0.0", "Netmask": "255.255.0.0", "Gateway": "10.1.0.9"}]},
                "b": {"ip": "10.2.0.2", "netmask": "255.255.0.0", "gateway": "10.2.0.1",
                      "default": ["gateway"], "mac": MAC1}
            }})),
            actions: vec![
                up(2, "eth0"),
                up(3, "eth1"),
                addr(2, "eth0", ip(10, 1, 0, 2), 16),
                addr(3, "eth1", ip(10, 2, 0, 2), 16),
                NetAction::AddRoute {
                    route: Route {
                        destination: ip(10, 9, 0, 0),
                        prefix: 16,
                        gateway: Some(ip(10, 1, 0, 9)),
                        oif: Some(2),
                    },
                    replace: false,
                },
                NetAction::AddRoute {
                    route: default_via(ip(10, 1, 0, 1), 2),
                    replace: false,
                },
            ],
            warns: 1,
        },
    ];
    for case in cases {
        let got = plan(&case.settings, &case.state);
        assert_eq!(got.actions, case.actions, "{}: actions", case.name);
        let warns = got.notes.iter().filter(|n| n.level == Level::Warn).count();
        assert_eq!(warns, case.warns, "{}: warnings {:?}", case.name, got.notes);
    }
}

#[test]
fn apply_then_plan_again_is_empty() {
    let mut net = FakeNet {
        state: fresh(),
        calls: vec![],
    };
    let settings = two_networks();
    let first = plan(&settings, &net.state().expect("state"));
    assert_eq!(apply(&first, &mut net), 0);
    assert_eq!(
        net.calls,
        [
            "up 2",
            "up 3",
            "mtu 3 1400",
            "addr 2 10.245.7.2/16",
            "announce 2 10.245.7.2",
            "addr 3 10.245.8.3/24",
            "announce 3 10.245.8.3",
            "route 0.0.0.0/0 Some(10.245.0.1) false",
        ]
    );
    let second = plan(&settings, &net.state().expect("state"));
    assert!(
        second.actions.is_empty(),
        "idempotent: {:?}",
        second.actions
    );
}
