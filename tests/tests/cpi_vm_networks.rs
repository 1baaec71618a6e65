//! Networks through the built `cpi` binary against real LXD: NICs with the MACs and
//! addresses of the settings file, a dynamic address picked and reported, concurrent picks
//! that do not collide, the settings file itself (0600 root, content, there before the
//! agent's first start), no secret in any `user.*` key, a VM recreated on the same address
//! ten times that the host reaches at once each time, and the helper's gratuitous ARP
//! correcting the host's entry for an address that moved to another MAC.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod same_ip_support;

use std::time::Duration;

use bosh_lxd_tests::cpi::fixture::{
    SETTINGS_PATH, VmFixture, ephemeral_of, manual_network, random_ip,
};
use bosh_lxd_tests::cpi::{BLOBSTORE_PASSWORD, MBUS_PASSWORD};
use bosh_lxd_tests::helper::disks::SETTINGS as HELPER_SETTINGS;
use bosh_lxd_tests::helper::{
    GUEST_HELPER, Guest, network_settings, random_address, random_mac, set_nic,
};
use bosh_lxd_tests::{Project, TEST_POOL, daemon, wait_for};
use same_ip_support::{MBUS_PORT, RECREATES, Round, host_reaches, neighbour, replace_once};
use serde_json::{Value, json};

const ENV_SECRET: &str = "env-secret-5b2e";

/// The MAC the CPI gives a NIC holding `ip`: `02:b0` and the address's four bytes.
fn mac_of(ip: &str) -> String {
    let ip: std::net::Ipv4Addr = ip.parse().expect("an IPv4 address");
    let bytes = ip.octets().map(|b| format!("{b:02x}")).join(":");
    format!("02:b0:{bytes}")
}

#[test]
fn two_manual_networks_and_a_dynamic_one_match_the_settings_file() {
    let f = VmFixture::new().expect("fixture");
    let agent = VmFixture::agent_id();
    let (ip_a, ip_b) = (random_ip(), random_ip());
    let gw = daemon().gateway();
    let networks = json!({
        "a": manual_network(&ip_a, false),
        "b": manual_network(&ip_b, true),
        "d": {"type": "dynamic", "dns": [gw], "default": [], "cloud_properties": {}},
        "v": {"type": "vip", "ip": "192.0.2.10", "cloud_properties": {}}});
    let env = json!({"bosh": {"password": ENV_SECRET, "group": "g", "groups": ["a", "b"]}});
    let (vm, answer) = f
        .create_vm(&agent, json!({}), networks, env.clone())
        .expect("create_vm");

    // The dynamic address: reported, inside the bridge's /16, not the gateway.
    let dyn_ip = answer["d"]["ip"]
        .as_str()
        .expect("dynamic ip reported")
        .to_owned();
    let octets: Vec<u8> = dyn_ip
        .split('.')
        .map(|o| o.parse().expect("octet"))
        .collect();
    assert_eq!(
        format!("{}.{}", octets[0], octets[1]),
        daemon().net,
        "{dyn_ip} outside the bridge range"
    );
    assert!(
        ![ip_a.as_str(), ip_b.as_str(), gw.as_str()].contains(&dyn_ip.as_str()),
        "{dyn_ip} is taken"
    );
    assert_eq!(answer["d"]["netmask"], "255.255.0.0");
    assert_eq!(answer["d"]["gateway"], gw);

    let inst = f.project.instance(&vm).expect("instance");
    let settings = f.settings(&vm).expect("settings file");
    assert_eq!(
        settings["networks"], answer,
        "v2 answer = settings networks"
    );
    // Each network's MAC is its NIC's hwaddr, and the NIC carries the address.
    let nics: Vec<(&String, &Value)> = inst["devices"]
        .as_object()
        .expect("devices")
        .iter()
        .filter(|(_, d)| d["type"] == "nic")
        .collect();
    assert_eq!(nics.len(), 3, "one NIC per non-VIP network: {nics:?}");
    for (net, ip) in [("a", &ip_a), ("b", &ip_b), ("d", &dyn_ip)] {
        let s = &settings["networks"][net];
        let mac = s["mac"].as_str().expect("mac");
        assert_eq!(
            mac,
            mac_of(ip),
            "network {net}: the MAC is derived from the address"
        );
        assert_eq!(s["ip"], ip.as_str(), "network {net}");
        assert_eq!(s["preconfigured"], true, "network {net}");
        assert!(s.get("cloud_properties").is_none(), "network {net}");
        let (nic, dev) = nics
            .iter()
            .find(|(_, d)| d["hwaddr"] == mac)
            .unwrap_or_else(|| panic!("no NIC with {mac} for {net}"));
        assert_eq!(dev["ipv4.address"], ip.as_str(), "NIC {nic} of {net}");
        assert_eq!(dev["network"], daemon().bridge, "NIC {nic} of {net}");
        let in_guest = f
            .exec(&vm, &["cat", &format!("/sys/class/net/{nic}/address")])
            .expect("exec");
        assert_eq!(
            in_guest.trim(),
            mac,
            "guest sees {nic} with the settings' MAC"
        );
    }
    assert_eq!(
        inst["devices"]["eth0"]["hwaddr"], settings["networks"]["b"]["mac"],
        "the default-gateway network is eth0"
    );
    assert_eq!(settings["networks"]["v"]["type"], "vip");
    assert!(settings["networks"]["v"].get("mac").is_none());

    // The file: root-owned 0600, written before the first start, right content.
    let stat = f
        .exec(&vm, &["stat", "-c", "%a %u %g", SETTINGS_PATH])
        .expect("exec");
    assert_eq!(stat.trim(), "600 0 0", "settings file mode and owner");
    assert_eq!(settings["agent_id"], agent.as_str());
    assert_eq!(settings["vm"]["name"], vm.as_str());
    assert_eq!(
        settings["mbus"],
        format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:6868").as_str()
    );
    assert_eq!(settings["ntp"], json!([daemon().gateway()]));
    assert_eq!(settings["blobstore"]["provider"], "dav");
    assert_eq!(
        settings["blobstore"]["options"]["password"],
        BLOBSTORE_PASSWORD
    );
    assert_eq!(settings["env"], env, "env passed through untouched");
    assert_eq!(
        settings["disks"],
        json!({"system": "", "ephemeral": null, "persistent": {}})
    );
    // The stand-in agent found the file on its first start.
    wait_for("the agent to boot", Duration::from_secs(60), || {
        let log = f
            .project
            .exec(&vm, &["cat", "/var/vcap/bosh/log/stand-in-agent.log"])?;
        Ok(log.stdout.contains("BOOTED").then_some(()))
    })
    .expect("agent booted with the settings");
    let log = f
        .exec(&vm, &["cat", "/var/vcap/bosh/log/stand-in-agent.log"])
        .expect("exec");
    assert!(
        !log.contains("BOOT FAILED"),
        "agent started before the settings existed:\n{log}"
    );

    // No secret in any user.* key of the instance or its ephemeral volume.
    let volume = f
        .project
        .query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{}",
            ephemeral_of(&vm)
        ))
        .expect("ephemeral volume");
    for (what, config) in [("instance", &inst["config"]), ("volume", &volume["config"])] {
        for (key, value) in config.as_object().expect("config") {
            let value = value.as_str().unwrap_or_default();
            if key.starts_with("user.") {
                for secret in [MBUS_PASSWORD, BLOBSTORE_PASSWORD, ENV_SECRET] {
                    assert!(!value.contains(secret), "{what} key {key} holds a secret");
                }
            }
        }
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}

#[test]
fn concurrent_dynamic_networks_get_distinct_addresses() {
    let f = VmFixture::new().expect("fixture");
    let network = json!({"d": {"type": "dynamic", "dns": [daemon().gateway()],
        "default": ["dns", "gateway"], "cloud_properties": {}}});
    let created: Vec<(String, String)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let (f, network) = (&f, network.clone());
                scope.spawn(move || {
                    let (vm, answer) = f
                        .create_vm(&VmFixture::agent_id(), json!({}), network, json!({}))
                        .expect("create_vm");
                    let ip = answer["d"]["ip"].as_str().expect("dynamic ip").to_owned();
                    (vm, ip)
                })
            })
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("create_vm thread"))
            .collect()
    });
    let mut ips: Vec<&str> = created.iter().map(|(_, ip)| ip.as_str()).collect();
    ips.sort_unstable();
    ips.dedup();
    assert_eq!(
        ips.len(),
        3,
        "addresses picked concurrently collide: {created:?}"
    );
    for (vm, ip) in &created {
        let inst = f.project.instance(vm).expect("instance");
        assert_eq!(inst["devices"]["eth0"]["ipv4.address"], ip.as_str(), "{vm}");
        f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    }
}

#[test]
fn a_vm_recreated_on_the_same_ip_is_reached_at_once() {
    let f = VmFixture::new().expect("fixture");
    // A bridge whose last port goes loses its carrier, and the kernel then drops the
    // bridge's neighbour entries: with no other VM on it, each recreation would start
    // from a clean table. A deployment has other VMs; so does this test.
    let (bystander, _) = f
        .create_vm(
            &VmFixture::agent_id(),
            json!({}),
            json!({"m": manual_network(&random_ip(), true)}),
            json!({}),
        )
        .expect("create_vm of a bystander");
    let ip = random_ip();
    let rounds: Vec<Round> = (0..=RECREATES).map(|_| replace_once(&f, &ip)).collect();
    f.cpi
        .ok("delete_vm", json!([bystander]))
        .expect("delete_vm");
    for (i, r) in rounds.iter().enumerate() {
        eprintln!(
            "{} {ip} round {i}: mac {}, host entry after create_vm {:?}, address in guest after {:?}, \
             host reached it after {:?}, first attempt answered: {}",
            daemon().name(),
            r.mac,
            r.entry_after_create,
            r.to_address,
            r.to_reached,
            r.first_attempt
        );
    }
    for (i, r) in rounds.iter().enumerate() {
        assert_eq!(
            r.mac,
            mac_of(&ip),
            "round {i}: the MAC is derived from {ip}"
        );
    }
    // The host talked to the previous VM on this address moments before, so it normally
    // still has an entry (the kernel may have collected it on a busy host: then it asks
    // afresh, which is fine); an entry it has must already name the new VM.
    let mut held = 0;
    for (i, r) in rounds.iter().enumerate().skip(1) {
        let Some((entry, state)) = &r.entry_after_create else {
            continue;
        };
        held += 1;
        assert_eq!(
            entry, &r.mac,
            "round {i}: right after create_vm the host's neighbour entry for {ip} ({state}) \
             names another MAC than the new VM's"
        );
    }
    assert!(
        held > 0,
        "the host held no entry for {ip} after any recreation: nothing was checked"
    );
    let missed: Vec<usize> = (0..rounds.len())
        .filter(|&i| !rounds[i].first_attempt)
        .collect();
    assert!(
        missed.is_empty(),
        "the host's first connection to {ip}:{MBUS_PORT} went unanswered in rounds {missed:?} of {}",
        rounds.len()
    );
}

#[test]
fn the_helper_announces_an_address_that_moved_to_another_mac() {
    let project = Project::for_run().expect("project");
    // Keeps the bridge's carrier, and so the host's entries, while the others come and go.
    let bystander = Guest::launch(&project, "nw-garp-bystander", |_, _| Ok(())).expect("launch");
    let ip = random_address();
    let mut previous: Option<String> = None;
    let mut checked = 0;
    for round in 0..3 {
        // Random MACs, as a VM made by an older CPI or another machine has them.
        let mac = random_mac();
        let g = Guest::launch(&project, &format!("nw-garp-{round}"), |p, n| {
            set_nic(p, n, "eth0", &mac)
        })
        .expect("launch");
        let before = neighbour(&ip);
        let settings = network_settings("a-garp", &ip, &mac, &[]);
        g.write(HELPER_SETTINGS, &settings, "0640")
            .expect("settings");
        let boot = g.sh(&format!("{GUEST_HELPER} boot 2>&1")).expect("boot");
        assert!(
            boot.contains(&format!("eth0: announced {ip}")),
            "round {round}: no announcement in the boot log:\n{boot}"
        );
        // Before the host sends the guest anything: only the announcement can have
        // changed the entry.
        let after = neighbour(&ip);
        eprintln!(
            "round {round}: {ip} at {mac}: host entry before boot {before:?}, after {after:?}"
        );
        // The entry the host held for the previous container (unless a busy host's kernel
        // collected it meanwhile: then there is nothing stale to correct).
        let stale = before.filter(|(m, _)| previous.as_deref() == Some(m.as_str()));
        if stale.is_some() {
            checked += 1;
            let after_mac = after.as_ref().map(|(m, _)| m.as_str());
            assert_eq!(
                after_mac,
                Some(mac.as_str()),
                "round {round}: the host still names the old MAC {stale:?} after the announcement"
            );
        }
        assert!(
            host_reaches(&ip),
            "round {round}: the host's first connection to {ip}:{MBUS_PORT} went unanswered"
        );
        previous = Some(mac);
        project.delete_instance(&g.name).expect("delete");
    }
    assert!(
        checked > 0,
        "the host held no entry of a previous container: nothing was checked"
    );
    project.delete_instance(&bystander.name).expect("delete");
}
