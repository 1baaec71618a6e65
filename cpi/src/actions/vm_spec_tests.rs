//! Unit tests of the instance and volume bodies.

use serde_json::{Value, json};

use super::*;
use crate::config::Config as CpiConfig;

fn lxd() -> LxdConfig {
    let text = r#"{"lxd": {"project": "p", "profile": "bosh", "storage_pool": "btrfs", "target": "n1"},
        "agent": {"mbus": "https://mbus:secret@0.0.0.0:6868"}}"#;
    CpiConfig::from_json_str(text, "test").unwrap().lxd
}

fn body(props: Value, nics: &NetworkPlan) -> (Value, StorageVolumesPost, Option<String>) {
    let props = VmCloudProperties::parse(props.as_object().unwrap()).unwrap();
    let lxd = lxd();
    let spec = VmSpec {
        name: "vm-u1",
        agent_id: "agent-1",
        fingerprint: "f00d",
        helper_version: "0.3.0",
        director: Some("dir-1"),
        props: &props,
        lxd: &lxd,
        ephemeral_volume: "eph-u1",
        nics,
    };
    (
        serde_json::to_value(spec.instance_body()).unwrap(),
        spec.ephemeral_volume_body(),
        spec.target().map(str::to_owned),
    )
}

#[test]
fn a_plain_vm_gets_root_ephemeral_keys_and_autostart() {
    let (b, vol, target) = body(json!({}), &NetworkPlan::default());
    assert_eq!(b["name"], "vm-u1");
    assert_eq!(b["type"], "container");
    assert_eq!(b["source"], json!({"type": "image", "fingerprint": "f00d"}));
    assert_eq!(b["profiles"], json!(["bosh"]));
    assert_eq!(
        b["devices"],
        json!({"root": {"type": "disk", "path": "/", "pool": "btrfs"},
               "ephemeral": {"type": "disk", "pool": "btrfs", "source": "eph-u1", "path": "/var/vcap/data"}})
    );
    assert_eq!(
        b["config"],
        json!({"boot.autostart": "true", "user.bosh.managed-by": "bosh-lxd-cpi",
               "user.bosh.agent-id": "agent-1", "user.bosh.helper-version": "0.3.0",
               "user.bosh.director": "dir-1"})
    );
    assert!(b.get("instance_type").is_none());
    assert_eq!(vol.name, "eph-u1");
    assert_eq!(vol.config["size"], "10240MiB");
    assert_eq!(vol.config["user.bosh.vm"], "vm-u1");
    assert_eq!(target.as_deref(), Some("n1"), "lxd.target applies");
}

#[test]
fn cloud_properties_become_limits_security_and_raw_passthrough() {
    let mut nics = NetworkPlan::default();
    nics.devices.insert(
        "eth0".into(),
        device(&[("type", "nic"), ("network", "boshbr0")]),
    );
    nics.config
        .insert("user.bosh.ipv4.eth0".into(), "10.245.0.9".into());
    let props = json!({"instance_type": "c1-m1", "ephemeral_disk": 512, "privileged": true,
        "nesting": true, "target": "n2", "profiles": ["bosh", "extra"],
        "config": {"limits.processes": 100, "user.bosh.agent-id": "evil", "user.other": "x"},
        "devices": {"lxd": {"type": "proxy", "listen": "unix:/var/lxd.sock"},
                    "root": {"type": "disk", "path": "/", "pool": "btrfs", "size": "8GiB"}}});
    let (b, vol, target) = body(props, &nics);
    let c = &b["config"];
    assert_eq!(
        (c["limits.cpu"].as_str(), c["limits.memory"].as_str()),
        (Some("1"), Some("1024MiB"))
    );
    assert_eq!(c["security.privileged"], "true");
    assert_eq!(c["security.nesting"], "true");
    assert_eq!(c["limits.processes"], "100");
    assert_eq!(c["user.other"], "x");
    assert_eq!(
        c["user.bosh.agent-id"], "agent-1",
        "reserved keys are the CPI's"
    );
    assert_eq!(c["user.bosh.ipv4.eth0"], "10.245.0.9");
    assert_eq!(b["devices"]["eth0"]["network"], "boshbr0");
    assert_eq!(b["devices"]["lxd"]["type"], "proxy");
    assert_eq!(b["devices"]["root"]["size"], "8GiB", "raw devices win");
    assert_eq!(b["profiles"], json!(["bosh", "extra"]));
    assert_eq!(vol.config["size"], "512MiB");
    assert_eq!(target.as_deref(), Some("n2"));
}

#[test]
fn named_instance_types_go_to_lxd() {
    let (b, _, _) = body(
        json!({"instance_type": "t2.micro"}),
        &NetworkPlan::default(),
    );
    assert_eq!(b["instance_type"], "t2.micro");
    assert!(b["config"].get("limits.cpu").is_none());
}
