//! VM methods through the built `cpi` binary against real LXD, as the director calls them:
//! the lifecycle (metadata, reboots, a persistent disk surviving `delete_vm`), raw devices,
//! limits and the v1 answer, rollback of a failed `create_vm`, and a second VM on an address
//! in use refused with an error naming the address.
//! Networks and the settings file: `cpi_vm_networks.rs`; the ephemeral quota: `quota.rs`.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod vm_lifecycle_support;

use bosh_lxd_contract::keys::HELPER_VERSION_KEY;
use bosh_lxd_tests::cpi::DIRECTOR_UUID;
use bosh_lxd_tests::cpi::fixture::{VmFixture, ephemeral_of, manual_network, random_ip};
use bosh_lxd_tests::{TEST_POOL, is_running};
use serde_json::json;

#[test]
fn lifecycle_create_metadata_reboot_delete() {
    let f = VmFixture::new().expect("fixture");
    let agent = VmFixture::agent_id();
    let (vm, _) = f
        .create_vm(
            &agent,
            json!({"ephemeral_disk": 128}),
            json!({"default": manual_network(&random_ip(), true)}),
            json!({"bosh": {"group": "g"}}),
        )
        .expect("create_vm");
    assert!(vm.starts_with("vm-"), "{vm}");
    assert_eq!(
        f.cpi.ok("has_vm", json!([vm])).expect("has_vm"),
        json!(true)
    );

    let inst = f.project.instance(&vm).expect("instance");
    assert!(
        is_running(&inst["status"]),
        "create_vm returns a running VM: {inst}"
    );
    let config = &inst["config"];
    assert_eq!(config["user.bosh.managed-by"], "bosh-lxd-cpi");
    assert_eq!(config["user.bosh.agent-id"], agent.as_str());
    assert_eq!(config["user.bosh.director"], DIRECTOR_UUID);
    assert_eq!(config[HELPER_VERSION_KEY], f.helper_version.as_str());
    assert_eq!(config["boot.autostart"], "true");
    let eph = &inst["devices"]["ephemeral"];
    assert_eq!(eph["path"], "/var/vcap/data");
    assert_eq!(eph["source"], ephemeral_of(&vm).as_str());
    assert_eq!(inst["devices"]["root"]["pool"], TEST_POOL);

    let cpi = |method: &str, args| f.cpi.ok(method, args);
    vm_lifecycle_support::set_vm_metadata(&cpi, &f.project, &vm, &agent);

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

    vm_lifecycle_support::reboot_vm(&cpi, &f.project, &vm, &agent);

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
        !f.volume_exists(&ephemeral_of(&vm)).expect("volume lookup"),
        "ephemeral volume left behind"
    );
    assert!(
        f.volume_exists(&disk).expect("volume lookup"),
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
fn director_socket_proxy_device_instance_type_and_v1_answer() {
    let f = VmFixture::new().expect("fixture");
    let connect = format!("unix:{}", bosh_lxd_tests::daemon().socket);
    let props = json!({"instance_type": "c1-m1",
        "devices": {"lxd-socket": {"type": "proxy", "listen": "unix:/var/lxd.sock",
            "connect": connect, "bind": "container", "mode": "0660"}}});
    let networks = json!({"default": manual_network(&random_ip(), true)});
    let args = json!([
        VmFixture::agent_id(),
        f.stemcell,
        props,
        networks,
        null,
        null
    ]);
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
    let ty = f
        .exec(&vm, &["stat", "-c", "%F %a", "/var/lxd.sock"])
        .expect("exec");
    assert_eq!(
        ty.trim(),
        "socket 660",
        "the director's LXD socket in the guest"
    );
    assert_eq!(
        f.exec(&vm, &["nproc"]).expect("exec").trim(),
        "1",
        "one CPU"
    );
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}

#[test]
fn a_create_vm_failing_halfway_leaves_nothing_behind() {
    let f = VmFixture::new().expect("fixture");
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
        let agent = VmFixture::agent_id();
        let props = json!({"devices": {"broken": device}});
        let networks = json!({"default": manual_network(&random_ip(), true)});
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
            !f.volume_exists(&ephemeral_of(&vm)).expect("volume lookup"),
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

#[test]
fn a_second_vm_on_an_address_in_use_is_refused_naming_the_address() {
    let f = VmFixture::new().expect("fixture");
    let ip = random_ip();
    let networks = json!({"default": manual_network(&ip, true)});
    let (first, _) = f
        .create_vm(
            &VmFixture::agent_id(),
            json!({}),
            networks.clone(),
            json!({}),
        )
        .expect("create_vm");
    let agent = VmFixture::agent_id();
    let r = f
        .cpi
        .call(
            "create_vm",
            json!([agent, f.stemcell, {}, networks, [], {}]),
        )
        .expect("create_vm");
    let err = r
        .error
        .expect("a second create_vm on an address in use succeeded");
    assert_eq!(err.kind, "Bosh::Clouds::CloudError", "{err:?}");
    // LXD checks MACs when it creates the instance, or else when it first starts it.
    assert!(
        err.message
            .contains(&format!("address {ip} of network default is in use")),
        "the error does not name the address: {}",
        err.message
    );
    let instances = f
        .project
        .query("/1.0/instances?recursion=1")
        .expect("instances");
    let left: Vec<&str> = instances
        .as_array()
        .expect("list")
        .iter()
        .filter(|i| i["config"]["user.bosh.agent-id"] == agent.as_str())
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert!(left.is_empty(), "the refused VM left {left:?}");
    let at = err
        .message
        .find("instance vm-")
        .expect("the error names the VM")
        + 9;
    let vm: String = err.message[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    assert!(
        !f.volume_exists(&ephemeral_of(&vm)).expect("volume lookup"),
        "ephemeral volume of {vm} left behind"
    );
    let inst = f.project.instance(&first).expect("the first VM");
    assert!(
        is_running(&inst["status"]),
        "the first VM still runs: {inst}"
    );
    f.cpi.ok("delete_vm", json!([first])).expect("delete_vm");
}
