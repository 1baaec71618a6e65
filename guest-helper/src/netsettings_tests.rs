//! Tests of the networks parser with the shapes the director and the CPIs write.

use serde_json::json;

use super::*;

#[test]
fn netmask_to_prefix() {
    let cases = [
        ("255.255.255.0", Some(24)),
        ("255.255.0.0", Some(16)),
        ("255.255.255.255", Some(32)),
        ("0.0.0.0", Some(0)),
        ("255.255.255.128", Some(25)),
        ("255.0.255.0", None),
        ("255.255.255", None),
        ("ffff::", None),
    ];
    for (mask, want) in cases {
        assert_eq!(netmask_prefix(mask).ok(), want, "mask {mask}");
    }
}

#[test]
fn parses_networks_hostname_and_reports_invalid_ones() {
    let doc = json!({
        "agent_id": "agent-1",
        "vm": {"name": "vm-7f3c"},
        "networks": {
            "z-second": {"type": "manual", "ip": "10.245.9.3", "netmask": "255.255.255.0",
                         "mac": "00:16:3E:00:00:02", "dns": ["10.245.0.3"], "mtu": "1400",
                         "routes": [{"Destination": "10.9.0.0", "Netmask": "255.255.0.0",
                                     "Gateway": "10.245.9.1"}]},
            "a-first": {"type": "manual", "ip": "10.245.5.2", "netmask": "255.255.0.0",
                        "prefix": "16", "gateway": "10.245.0.1", "mac": "00:16:3e:00:00:01",
                        "default": ["dns", "gateway"], "dns": ["10.245.0.2", "10.245.0.3"],
                        "preconfigured": true, "cloud_properties": {}},
            "dyn": {"type": "dynamic", "mac": "00:16:3e:00:00:03"},
            "broken": {"type": "manual", "ip": "10.0.0.1", "netmask": "255.0.255.0"},
            "v6": {"type": "manual", "ip": "fd00::2", "prefix": "64"}
        }
    });
    let got = parse(&doc);
    assert_eq!(got.hostname.as_deref(), Some("vm-7f3c"));
    let names: Vec<&str> = got.networks.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a-first", "dyn", "z-second"], "sorted, valid only");
    let first = &got.networks[0];
    assert_eq!(
        first.address,
        Some((Ipv4Addr::new(10, 245, 5, 2), 16)),
        "prefix wins"
    );
    assert!(first.default_gateway && first.default_dns);
    assert_eq!(first.gateway, Some(Ipv4Addr::new(10, 245, 0, 1)));
    let second = &got.networks[2];
    assert_eq!(
        second.mac.as_deref(),
        Some("00:16:3e:00:00:02"),
        "lower case"
    );
    assert_eq!(second.address, Some((Ipv4Addr::new(10, 245, 9, 3), 24)));
    assert_eq!(second.mtu, Some(1400));
    assert_eq!(
        second.routes,
        vec![RouteSpec {
            destination: Ipv4Addr::new(10, 9, 0, 0),
            prefix: 16,
            gateway: Ipv4Addr::new(10, 245, 9, 1),
        }]
    );
    assert_eq!(got.networks[1].kind, NetKind::Dynamic);
    let invalid: Vec<&str> = got.invalid.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(invalid, ["broken", "v6"]);
    assert!(
        got.invalid[0].1.contains("not contiguous"),
        "{:?}",
        got.invalid
    );
    assert_eq!(
        got.nameservers(),
        ["10.245.0.2", "10.245.0.3"],
        "the dns-default network's servers"
    );
}

#[test]
fn hostname_falls_back_to_agent_id_and_nameservers_to_all_networks() {
    let cases = [
        (json!({"agent_id": "a-1"}), Some("a-1")),
        (json!({"agent_id": "a-1", "vm": {"name": " "}}), Some("a-1")),
        (json!({"vm": {"name": "vm-1"}}), Some("vm-1")),
        (json!({}), None),
    ];
    for (doc, want) in cases {
        assert_eq!(parse(&doc).hostname.as_deref(), want, "{doc}");
    }
    let doc = json!({"networks": {
        "a": {"ip": "10.0.0.2", "netmask": "255.0.0.0", "dns": ["1.1.1.1"]},
        "b": {"ip": "10.0.0.3", "netmask": "255.0.0.0", "dns": ["1.1.1.1", "2.2.2.2"]}
    }});
    assert_eq!(parse(&doc).nameservers(), ["1.1.1.1", "2.2.2.2"]);
}
