//! VM methods through the built `cpi` binary against real LXD, as the director calls them:
//! the lifecycle, networks and the settings file, raw devices, limits, the ephemeral quota,
//! rollback of a failed `create_vm`, and no secret in any `user.*` key.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::time::Duration;

use bosh_lxd_tests::cpi::{
    BLOBSTORE_PASSWORD, Cpi, DIRECTOR_UUID, HELPER_VERSION, MBUS_PASSWORD, fixture_stemcell_files,
};
use bosh_lxd_tests::{Project, TEST_POOL, wait_for};
use serde_json::{Value, json};

const SETTINGS: &str = "/var/vcap/bosh/warden-cpi-agent-env.json";
const ENV_SECRET: &str = "env-secret-5b2e";

/// A test's project, CPI and stemcell; the stemcell CID is deleted on drop.
struct Fixture {
    project: Project,
    cpi: Cpi,
    stemcell: String,
}

impl Fixture {
    fn new() -> Fixture {
        let project = Project::for_run().expect("test project");
        let cpi = Cpi::new(&project).expect("cpi");
        let files = fixture_stemcell_files().expect("fixture stemcell");
        let stemcell = cpi
            .ok("create_stemcell", files.repacked_args(HELPER_VERSION))
            .expect("create_stemcell");
        let stemcell = stemcell.as_str().expect("stemcell cid").to_owned();
        Fixture {
            project,
            cpi,
            stemcell,
        }
    }

    fn agent_id() -> String {
        format!("agent-{}", uuid::Uuid::new_v4().simple())
    }

    /// `create_vm` at API v2; returns (vm cid, networks answer).
    fn create_vm(&self, agent: &str, props: Value, networks: Value, env: Value) -> (String, Value) {
        let args = json!([agent, self.stemcell, props, networks, [], env]);
        let answer = self.cpi.ok("create_vm", args).expect("create_vm");
        let cid = answer[0]
            .as_str()
            .expect("vm cid in the v2 answer")
            .to_owned();
        (cid, answer[1].clone())
    }

    fn exec(&self, vm: &str, cmd: &[&str]) -> String {
        let r = self.project.exec(vm, cmd).expect("lxc exec");
        assert!(r.success(), "{cmd:?} in {vm}: {r:?}");
        r.stdout
    }

    fn settings(&self, vm: &str) -> Value {
        let text = self.exec(vm, &["cat", SETTINGS]);
        serde_json::from_str(&text).expect("settings file is JSON")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Err(e) = self.cpi.ok("delete_stemcell", json!([self.stemcell])) {
            eprintln!("delete_stemcell {}: {e:#}", self.stemcell);
        }
    }
}

/// A free-looking address on the test bridge, for manual networks.
fn random_ip() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!("10.245.{}.{}", 100 + b[0] % 100, 2 + b[1] % 250)
}

fn manual(ip: &str, default: bool) -> Value {
    let defaults = if default {
        json!(["dns", "gateway"])
    } else {
        json!([])
    };
    json!({"type": "manual", "ip": ip, "netmask": "255.255.0.0", "gateway": "10.245.0.1",
        "dns": ["10.245.0.1"], "default": defaults, "cloud_properties": {"network": "boshbr0"}})
}

fn volume_exists(project: &Project, name: &str) -> bool {
    project
        .lxc(&["storage", "volume", "show", TEST_POOL, name])
        .expect("lxc storage volume show")
        .success()
}

fn ephemeral_of(vm: &str) -> String {
    format!("eph-{}", vm.strip_prefix("vm-").expect("vm-<uuid>"))
}

#[test]
fn lifecycle_create_metadata_reboot_delete() {
    let f = Fixture::new();
    let agent = Fixture::agent_id();
    let (vm, _) = f.create_vm(
        &agent,
        json!({"ephemeral_disk": 128}),
        json!({"default": manual(&random_ip(), true)}),
        json!({"bosh": {"group": "g"}}),
    );
    assert!(vm.starts_with("vm-"), "{vm}");
    assert_eq!(
        f.cpi.ok("has_vm", json!([vm])).expect("has_vm"),
        json!(true)
    );

    let inst = f.project.instance(&vm).expect("instance");
    assert_eq!(inst["status"], "Running", "create_vm returns a running VM");
    let config = &inst["config"];
    assert_eq!(config["user.bosh.managed-by"], "bosh-lxd-cpi");
    assert_eq!(config["user.bosh.agent-id"], agent.as_str());
    assert_eq!(config["user.bosh.director"], DIRECTOR_UUID);
    assert_eq!(config["user.bosh.helper-version"], HELPER_VERSION);
    assert_eq!(config["boot.autostart"], "true");
    let eph = &inst["devices"]["ephemeral"];
    assert_eq!(eph["path"], "/var/vcap/data");
    assert_eq!(eph["source"], ephemeral_of(&vm).as_str());
    assert_eq!(inst["devices"]["root"]["pool"], TEST_POOL);

    let metadata = json!({"director": "d", "deployment": "cf", "instance_group": "router",
        "job": "router", "index": "0", "id": "abc-1", "name": "router/abc-1"});
    f.cpi
        .ok("set_vm_metadata", json!([vm, metadata]))
        .expect("set_vm_metadata");
    let inst = f.project.instance(&vm).expect("instance");
    assert_eq!(inst["description"], "cf/router/0");
    assert_eq!(inst["config"]["user.bosh.meta.deployment"], "cf");
    assert_eq!(inst["config"]["user.bosh.meta.name"], "router/abc-1");
    f.cpi
        .ok("set_vm_metadata", json!([vm, {"deployment": "cf2"}]))
        .expect("set_vm_metadata again");
    let inst = f.project.instance(&vm).expect("instance");
    assert_eq!(inst["config"]["user.bosh.meta.deployment"], "cf2");
    assert!(
        inst["config"].get("user.bosh.meta.name").is_none(),
        "metadata keys of an earlier call are dropped"
    );
    assert_eq!(inst["config"]["user.bosh.agent-id"], agent.as_str());

    // A persistent disk attached the way attach_disk does it must survive delete_vm.
    let disk = format!("disk-{}", uuid::Uuid::new_v4().simple());
    f.project
        .lxc_ok(&[
            "storage",
            "volume",
            "create",
            TEST_POOL,
            &disk,
            "size=32MiB",
        ])
        .expect("create a persistent disk");
    let dev_path = format!("path=/warden-cpi-dev/{disk}");
    let source = format!("source={disk}");
    let pool = format!("pool={TEST_POOL}");
    f.project
        .lxc_ok(&[
            "config", "device", "add", &vm, &disk, "disk", &pool, &source, &dev_path,
        ])
        .expect("attach the persistent disk");

    let pid_before = f
        .project
        .query(&format!("/1.0/instances/{vm}/state"))
        .expect("state")["pid"]
        .clone();
    f.cpi.ok("reboot_vm", json!([vm])).expect("reboot_vm");
    let state = f
        .project
        .query(&format!("/1.0/instances/{vm}/state"))
        .expect("state");
    assert_eq!(state["status"], "Running", "reboot_vm returns a running VM");
    assert_ne!(state["pid"], pid_before, "init was restarted");
    assert_eq!(
        f.settings(&vm)["agent_id"],
        agent.as_str(),
        "settings survive a reboot"
    );
    f.project
        .lxc_ok(&["stop", "--force", &vm])
        .expect("stop the VM");
    f.cpi
        .ok("reboot_vm", json!([vm]))
        .expect("reboot_vm of a stopped VM");
    assert_eq!(
        f.project.instance(&vm).expect("instance")["status"],
        "Running",
        "reboot_vm starts a stopped VM"
    );

    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    assert_eq!(
        f.cpi.ok("has_vm", json!([vm])).expect("has_vm"),
        json!(false)
    );
    assert!(
        !f.project.has_instance(&vm).expect("lookup"),
        "{vm} still exists"
    );
    assert!(
        !volume_exists(&f.project, &ephemeral_of(&vm)),
        "ephemeral volume left behind"
    );
    assert!(
        volume_exists(&f.project, &disk),
        "delete_vm deleted the persistent disk {disk}"
    );
    f.project
        .lxc_ok(&["storage", "volume", "delete", TEST_POOL, &disk])
        .expect("delete the persistent disk");
    f.cpi
        .ok("delete_vm", json!([vm]))
        .expect("deleting a missing VM succeeds");
    let r = f.cpi.call("reboot_vm", json!([vm])).expect("reboot_vm");
    assert_eq!(
        r.error.map(|e| e.kind).as_deref(),
        Some("Bosh::Clouds::VMNotFound"),
        "reboot of a missing VM"
    );
}

#[test]
fn two_manual_networks_and_a_dynamic_one_match_the_settings_file() {
    let f = Fixture::new();
    let agent = Fixture::agent_id();
    let (ip_a, ip_b) = (random_ip(), random_ip());
    let networks = json!({
        "a": manual(&ip_a, false),
        "b": manual(&ip_b, true),
        "d": {"type": "dynamic", "dns": ["10.245.0.1"], "default": [], "cloud_properties": {}},
        "v": {"type": "vip", "ip": "192.0.2.10", "cloud_properties": {}}});
    let env = json!({"bosh": {"password": ENV_SECRET, "group": "g", "groups": ["a", "b"]}});
    let (vm, answer) = f.create_vm(&agent, json!({}), networks, env.clone());

    // The dynamic address: reported, inside the bridge's 10.245.0.0/16, not the gateway.
    let dyn_ip = answer["d"]["ip"]
        .as_str()
        .expect("dynamic ip reported")
        .to_owned();
    let octets: Vec<u8> = dyn_ip
        .split('.')
        .map(|o| o.parse().expect("octet"))
        .collect();
    assert_eq!(
        &octets[..2],
        &[10, 245],
        "{dyn_ip} outside the bridge range"
    );
    assert!(
        ![ip_a.as_str(), ip_b.as_str(), "10.245.0.1"].contains(&dyn_ip.as_str()),
        "{dyn_ip} is taken"
    );
    assert_eq!(answer["d"]["netmask"], "255.255.0.0");
    assert_eq!(answer["d"]["gateway"], "10.245.0.1");

    let inst = f.project.instance(&vm).expect("instance");
    let settings = f.settings(&vm);
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
        assert!(mac.starts_with("00:16:3e:"), "{mac}");
        assert_eq!(s["ip"], ip.as_str(), "network {net}");
        assert_eq!(s["preconfigured"], true, "network {net}");
        assert!(s.get("cloud_properties").is_none(), "network {net}");
        let (nic, dev) = nics
            .iter()
            .find(|(_, d)| d["hwaddr"] == mac)
            .unwrap_or_else(|| panic!("no NIC with {mac} for {net}"));
        assert_eq!(dev["ipv4.address"], ip.as_str(), "NIC {nic} of {net}");
        assert_eq!(dev["network"], "boshbr0", "NIC {nic} of {net}");
        let in_guest = f.exec(&vm, &["cat", &format!("/sys/class/net/{nic}/address")]);
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
    let stat = f.exec(&vm, &["stat", "-c", "%a %u %g", SETTINGS]);
    assert_eq!(stat.trim(), "600 0 0", "settings file mode and owner");
    assert_eq!(settings["agent_id"], agent.as_str());
    assert_eq!(settings["vm"]["name"], vm.as_str());
    assert_eq!(
        settings["mbus"],
        format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:6868").as_str()
    );
    assert_eq!(settings["ntp"], json!(["10.245.0.1"]));
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
    let log = f.exec(&vm, &["cat", "/var/vcap/bosh/log/stand-in-agent.log"]);
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
    let f = Fixture::new();
    let network = json!({"d": {"type": "dynamic", "dns": ["10.245.0.1"],
        "default": ["dns", "gateway"], "cloud_properties": {}}});
    let created: Vec<(String, String)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let (f, network) = (&f, network.clone());
                scope.spawn(move || {
                    let (vm, answer) =
                        f.create_vm(&Fixture::agent_id(), json!({}), network, json!({}));
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
fn director_socket_proxy_device_instance_type_and_v1_answer() {
    let f = Fixture::new();
    let props = json!({"instance_type": "c1-m1",
        "devices": {"lxd-socket": {"type": "proxy", "listen": "unix:/var/lxd.sock",
            "connect": "unix:/var/lib/lxd/unix.socket", "bind": "container", "mode": "0660"}}});
    let networks = json!({"default": manual(&random_ip(), true)});
    let args = json!([Fixture::agent_id(), f.stemcell, props, networks, null, null]);
    let r = f.cpi.call_v("create_vm", args, 1).expect("create_vm v1");
    assert!(
        r.error.is_none(),
        "create_vm failed: {:?}\n{}",
        r.error,
        r.stderr
    );
    let vm = r
        .result
        .as_str()
        .expect("v1 answer is the bare CID")
        .to_owned();

    let inst = f.project.instance(&vm).expect("instance");
    assert_eq!(inst["config"]["limits.cpu"], "1");
    assert_eq!(inst["config"]["limits.memory"], "1024MiB");
    assert_eq!(inst["devices"]["lxd-socket"]["type"], "proxy");
    let ty = f.exec(&vm, &["stat", "-c", "%F %a", "/var/lxd.sock"]);
    assert_eq!(
        ty.trim(),
        "socket 660",
        "the director's LXD socket in the guest"
    );
    assert_eq!(f.exec(&vm, &["nproc"]).trim(), "1", "one CPU");
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}

#[test]
fn ephemeral_disk_quota_holds_on_btrfs() {
    let f = Fixture::new();
    let (vm, _) = f.create_vm(
        &Fixture::agent_id(),
        json!({"ephemeral_disk": 64}),
        json!({"default": manual(&random_ip(), true)}),
        json!({}),
    );
    let volume = f
        .project
        .query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{}",
            ephemeral_of(&vm)
        ))
        .expect("ephemeral volume");
    assert_eq!(volume["config"]["size"], "64MiB");
    f.exec(&vm, &["mountpoint", "/var/vcap/data"]);
    let small = f
        .project
        .exec(
            &vm,
            &[
                "dd",
                "if=/dev/zero",
                "of=/var/vcap/data/small",
                "bs=1M",
                "count=16",
                "conv=fsync",
            ],
        )
        .expect("exec");
    assert!(small.success(), "16 MiB under a 64 MiB quota: {small:?}");
    let big = f
        .project
        .exec(
            &vm,
            &[
                "dd",
                "if=/dev/zero",
                "of=/var/vcap/data/big",
                "bs=1M",
                "count=128",
                "conv=fsync",
            ],
        )
        .expect("exec");
    assert!(
        !big.success(),
        "128 MiB fit into a 64 MiB ephemeral disk: {big:?}"
    );
    assert!(big.stderr.contains("quota"), "dd failed otherwise: {big:?}");
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}

#[test]
fn a_create_vm_failing_halfway_leaves_nothing_behind() {
    let f = Fixture::new();
    // (case, a device that breaks create_vm, where it breaks)
    let cases = [
        (
            "refused at instance creation, after the volume",
            json!({"type": "disk", "source": "/nonexistent/bosh-lxd-test", "path": "/mnt/broken"}),
            "creating instance vm-",
        ),
        (
            "refused at the first start, after volume, instance and settings",
            json!({"type": "unix-char", "source": "/dev/nonexistent-bosh-lxd-test", "path": "/dev/broken"}),
            "starting instance vm-",
        ),
    ];
    for (case, device, step) in cases {
        let agent = Fixture::agent_id();
        let props = json!({"devices": {"broken": device}});
        let networks = json!({"default": manual(&random_ip(), true)});
        let r = f
            .cpi
            .call(
                "create_vm",
                json!([agent, f.stemcell, props, networks, [], {}]),
            )
            .expect("create_vm");
        let err = r
            .error
            .unwrap_or_else(|| panic!("case {case}: create_vm with a broken device succeeded"));
        assert_eq!(err.kind, "Bosh::Clouds::CloudError", "case {case}: {err:?}");
        assert!(
            err.message.starts_with(step),
            "case {case}: {}",
            err.message
        );
        assert!(
            err.message.contains("\"broken\""),
            "case {case}: error does not name the device: {}",
            err.message
        );
        let vm: String = err.message[step.len() - 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            !f.project.has_instance(&vm).expect("lookup"),
            "case {case}: {vm} left behind"
        );
        assert!(
            !volume_exists(&f.project, &ephemeral_of(&vm)),
            "case {case}: ephemeral volume of {vm} left behind"
        );
        let instances = f
            .project
            .query("/1.0/instances?recursion=1")
            .expect("instances");
        let mine = instances
            .as_array()
            .expect("list")
            .iter()
            .filter(|i| i["config"]["user.bosh.agent-id"] == agent.as_str())
            .count();
        assert_eq!(mine, 0, "case {case}: an instance of agent {agent} is left");
    }
}
