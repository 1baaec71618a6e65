//! Unit tests of the NIC planning that needs no LXD.

use serde_json::json;

use super::*;
use crate::lxd::Network;

fn specs(value: Value) -> Networks {
    let Value::Object(map) = value else {
        panic!("networks must be an object")
    };
    map.into_iter()
        .map(|(n, v)| {
            let spec = NetworkSpec::from_json(&n, v).unwrap();
            (n, spec)
        })
        .collect()
}

fn bridge(name: &str, config: Value) -> Network {
    serde_json::from_value(
        json!({"name": name, "type": "bridge", "managed": true, "config": config}),
    )
    .unwrap()
}

#[test]
fn default_gateway_network_comes_first_and_vips_get_no_nic() {
    let nets = specs(json!({
        "a": {"type": "manual", "ip": "10.245.1.2"},
        "b": {"type": "manual", "ip": "10.245.1.3", "default": ["dns", "gateway"]},
        "v": {"type": "vip", "ip": "192.0.2.1"}}));
    let order: Vec<&str> = nic_order(&nets).iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(order, ["b", "a"]);
}

#[test]
fn subnet_cloud_properties_choose_the_lxd_network() {
    let nets = specs(json!({
        "a": {"type": "dynamic", "cloud_properties": {"network": "other"}},
        "b": {"type": "dynamic"},
        "c": {"type": "manual", "ip": "10.0.0.1", "cloud_properties": {"network": 3}}}));
    assert_eq!(lxd_network("a", &nets["a"], "boshbr0").unwrap(), "other");
    assert_eq!(lxd_network("b", &nets["b"], "boshbr0").unwrap(), "boshbr0");
    let err = lxd_network("c", &nets["c"], "boshbr0").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("networks.c.cloud_properties.network"),
        "{err}"
    );
    assert_eq!(
        dynamic_lxd_networks(&nets, "boshbr0").unwrap(),
        ["boshbr0", "other"],
        "manual networks need no pick"
    );
}

#[test]
fn nic_devices_reserve_addresses_only_where_lxd_can() {
    let subnet = Subnet::parse("10.245.0.1/16");
    let ip = |s: &str| Some(s.parse::<Ipv4Addr>().unwrap());
    let managed = bridge("boshbr0", json!({"ipv4.address": "10.245.0.1/16"}));
    let no_dhcp = bridge(
        "boshbr0",
        json!({"ipv4.address": "10.245.0.1/16", "ipv4.dhcp": "false"}),
    );
    let unmanaged: Network =
        serde_json::from_value(json!({"name": "br1", "type": "bridge", "managed": false})).unwrap();
    let cases = [
        (
            "inside",
            &managed,
            subnet,
            ip("10.245.3.4"),
            Some("10.245.3.4"),
            Some("boshbr0"),
        ),
        (
            "outside",
            &managed,
            subnet,
            ip("10.0.0.4"),
            None,
            Some("boshbr0"),
        ),
        (
            "no dhcp",
            &no_dhcp,
            subnet,
            ip("10.245.3.4"),
            None,
            Some("boshbr0"),
        ),
        ("ipv6", &managed, subnet, None, None, Some("boshbr0")),
        ("unmanaged", &unmanaged, None, ip("10.245.3.4"), None, None),
    ];
    for (name, net, subnet, ip, reserved, network) in cases {
        let d = nic_device("eth1", "00:16:3e:01:02:03", net, subnet, ip);
        assert_eq!(d["type"], "nic", "case {name}");
        assert_eq!(d["name"], "eth1", "case {name}");
        assert_eq!(d["hwaddr"], "00:16:3e:01:02:03", "case {name}");
        assert_eq!(
            d.get("ipv4.address").map(String::as_str),
            reserved,
            "case {name}"
        );
        assert_eq!(d.get("network").map(String::as_str), network, "case {name}");
        if network.is_none() {
            assert_eq!(
                (d["nictype"].as_str(), d["parent"].as_str()),
                ("bridged", "br1")
            );
        }
    }
}

#[test]
fn settings_entries_carry_mac_and_dynamic_addresses() {
    let nets = specs(json!({
        "m": {"type": "manual", "ip": "10.245.1.2", "netmask": "255.255.0.0", "gateway": "10.245.0.1",
              "dns": ["10.245.0.2"], "default": ["dns", "gateway"], "prefix": "16",
              "cloud_properties": {"network": "boshbr0"}},
        "d": {"type": "dynamic", "dns": ["10.245.0.2"], "cloud_properties": {}}}));
    let subnet = Subnet::parse("10.245.0.1/16").unwrap();
    let m = settings_entry(&nets["m"], Some("00:16:3e:00:00:01"), None);
    assert_eq!(
        m,
        json!({"type": "manual", "ip": "10.245.1.2", "netmask": "255.255.0.0",
            "gateway": "10.245.0.1", "dns": ["10.245.0.2"], "default": ["dns", "gateway"],
            "prefix": "16", "mac": "00:16:3e:00:00:01", "preconfigured": true})
    );
    let picked: Ipv4Addr = "10.245.7.9".parse().unwrap();
    let d = settings_entry(
        &nets["d"],
        Some("00:16:3e:00:00:02"),
        Some((picked, subnet)),
    );
    assert_eq!(
        d,
        json!({"type": "dynamic", "ip": "10.245.7.9", "netmask": "255.255.0.0", "prefix": "16",
            "gateway": "10.245.0.1", "dns": ["10.245.0.2"], "default": [],
            "mac": "00:16:3e:00:00:02", "preconfigured": true})
    );
}

#[test]
fn dynamic_picks_avoid_the_gateway_and_respect_dhcp_ranges() {
    let net = bridge("b", json!({"ipv4.address": "10.9.0.1/30"}));
    let subnet = Subnet::parse("10.9.0.1/30");
    let used = BTreeSet::new();
    assert_eq!(
        pick_address("d", &net, subnet, &used).unwrap().to_string(),
        "10.9.0.2"
    );
    let full: BTreeSet<Ipv4Addr> = ["10.9.0.2".parse().unwrap()].into();
    let err = pick_address("d", &net, subnet, &full).unwrap_err();
    assert_eq!(err.bosh_type(), "Bosh::Clouds::VMCreationFailed");
    let ranged = bridge(
        "b",
        json!({"ipv4.address": "10.9.0.1/24", "ipv4.dhcp.ranges": "10.9.0.50-10.9.0.50"}),
    );
    let s24 = Subnet::parse("10.9.0.1/24");
    assert_eq!(
        pick_address("d", &ranged, s24, &used).unwrap().to_string(),
        "10.9.0.50"
    );
    let none = bridge("b", json!({"ipv4.address": "none"}));
    let err = pick_address("d", &none, None, &used).unwrap_err();
    assert!(err.to_string().contains("has no IPv4 subnet"), "{err}");
}

#[test]
fn macs_are_in_lxd_range_and_distinct() {
    let a = random_mac();
    assert!(a.starts_with("00:16:3e:") && a.len() == 17, "{a}");
    assert_ne!(a, random_mac());
}

#[test]
fn macs_are_derived_from_ipv4_addresses() {
    // (address, MAC): the prefix, then the address's bytes in order, lower case.
    let cases = [
        ("10.245.1.2", "02:b0:0a:f5:01:02"),
        ("10.246.200.17", "02:b0:0a:f6:c8:11"),
        ("192.168.0.1", "02:b0:c0:a8:00:01"),
        ("172.16.255.254", "02:b0:ac:10:ff:fe"),
        ("0.0.0.0", "02:b0:00:00:00:00"),
        ("255.255.255.255", "02:b0:ff:ff:ff:ff"),
    ];
    for (ip, want) in cases {
        let ip: Ipv4Addr = ip.parse().unwrap();
        let mac = mac_for_ip(ip);
        assert_eq!(mac, want, "{ip}");
        let bytes: Vec<u8> = mac
            .split(':')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        assert_eq!(bytes[0] & 0b11, 0b10, "{mac}: locally administered unicast");
        let back = Ipv4Addr::new(bytes[2], bytes[3], bytes[4], bytes[5]);
        assert_eq!(
            back, ip,
            "{mac}: the address can be read back, so no two share it"
        );
    }
}

#[test]
fn each_nic_gets_the_mac_of_its_address_unless_the_vm_has_it_already() {
    let ip = |s: &str| Some(s.parse::<Ipv4Addr>().unwrap());
    let mut taken = Devices::new();
    let mut eth0 = Device::new();
    eth0.insert("hwaddr".into(), "02:b0:0a:f5:01:02".into());
    taken.insert("eth0".into(), eth0);
    // (case, address, MAC wanted: Some = exactly this, None = a random one in LXD's range)
    let cases = [
        ("first address", ip("10.245.1.3"), Some("02:b0:0a:f5:01:03")),
        ("same address on a second NIC", ip("10.245.1.2"), None),
        ("no IPv4 address (IPv6 manual)", None, None),
    ];
    for (case, address, want) in cases {
        let mac = nic_mac("n", address, &taken);
        match want {
            Some(want) => assert_eq!(mac, want, "{case}"),
            None => assert!(mac.starts_with("00:16:3e:"), "{case}: {mac}"),
        }
    }
}

#[test]
fn a_refused_derived_mac_is_explained_by_its_address() {
    let networks = json!({
        "m": {"type": "manual", "ip": "10.245.1.2", "mac": "02:b0:0a:f5:01:02"},
        "v6": {"type": "manual", "ip": "fd00::2", "mac": "00:16:3e:00:00:01"}});
    let Value::Object(networks) = networks else {
        unreachable!()
    };
    let refused = |mac: &str| {
        format!(
            r#"Failed start validation for device "eth0": MAC address "{mac}" already defined on another NIC"#
        )
    };
    // (case, LXD's message, explained with)
    let cases = [
        (
            "derived MAC",
            refused("02:b0:0a:f5:01:02"),
            Some("address 10.245.1.2 of network m"),
        ),
        (
            "random MAC: no address behind it",
            refused("00:16:3e:00:00:01"),
            None,
        ),
        (
            "another failure",
            "Failed creating instance record: no space left".into(),
            None,
        ),
    ];
    for (case, message, want) in cases {
        let why = address_in_use(&networks, &message);
        match want {
            Some(start) => assert!(
                why.as_deref().is_some_and(|w| w.starts_with(start)),
                "{case}: {why:?}"
            ),
            None => assert_eq!(why, None, "{case}"),
        }
    }
}
