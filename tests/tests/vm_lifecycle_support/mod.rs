//! The `set_vm_metadata` and `reboot_vm` steps of the VM lifecycle, shared by the run
//! over LXD's unix socket (`cpi_vm.rs`) and the one over HTTPS (`cpi_https.rs`): the same
//! calls and the same checks, whichever way the CPI reaches LXD.
#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use anyhow::Result;
use bosh_lxd_tests::cpi::fixture::SETTINGS_PATH;
use bosh_lxd_tests::{Project, is_running};
use serde_json::{Value, json};

/// One CPI call that fails on an error response (`Cpi::ok`, `ConfiguredCpi::ok`).
pub type CallOk<'a> = &'a dyn Fn(&str, Value) -> Result<Value>;

/// `set_vm_metadata` writes the director's metadata as `user.bosh.meta.*` keys and the
/// description `deployment/job/index`; a second call replaces the keys of the first and
/// leaves the CPI's own keys alone.
pub fn set_vm_metadata(cpi: CallOk, project: &Project, vm: &str, agent: &str) {
    let metadata = json!({"director": "d", "deployment": "cf", "instance_group": "router",
        "job": "router", "index": "0", "id": "abc-1", "name": "router/abc-1"});
    cpi("set_vm_metadata", json!([vm, metadata])).expect("set_vm_metadata");
    let inst = project.instance(vm).expect("instance");
    assert_eq!(inst["description"], "cf/router/0");
    assert_eq!(inst["config"]["user.bosh.meta.deployment"], "cf");
    assert_eq!(inst["config"]["user.bosh.meta.name"], "router/abc-1");
    cpi("set_vm_metadata", json!([vm, {"deployment": "cf2"}])).expect("set_vm_metadata again");
    let inst = project.instance(vm).expect("instance");
    assert_eq!(inst["config"]["user.bosh.meta.deployment"], "cf2");
    assert!(
        inst["config"].get("user.bosh.meta.name").is_none(),
        "metadata keys of an earlier call are dropped"
    );
    assert_eq!(inst["config"]["user.bosh.agent-id"], agent);
}

/// `reboot_vm` of a running VM returns it running with a new init and the same agent
/// settings; of a stopped VM, it starts it.
pub fn reboot_vm(cpi: CallOk, project: &Project, vm: &str, agent: &str) {
    let state_path = format!("/1.0/instances/{vm}/state");
    let pid_before = project.query(&state_path).expect("state")["pid"].clone();
    cpi("reboot_vm", json!([vm])).expect("reboot_vm");
    let state = project.query(&state_path).expect("state");
    assert!(
        is_running(&state["status"]),
        "reboot_vm returns a running VM: {state}"
    );
    assert_ne!(state["pid"], pid_before, "init was restarted");
    let settings = project.exec(vm, &["cat", SETTINGS_PATH]).expect("exec");
    assert!(
        settings.success(),
        "settings file after the reboot: {settings:?}"
    );
    let settings: Value = serde_json::from_str(&settings.stdout).expect("settings JSON");
    assert_eq!(settings["agent_id"], agent, "settings survive a reboot");

    project
        .lxc_ok(&["stop", "--force", vm])
        .expect("stop the VM");
    cpi("reboot_vm", json!([vm])).expect("reboot_vm of a stopped VM");
    let inst = project.instance(vm).expect("instance");
    assert!(
        is_running(&inst["status"]),
        "reboot_vm starts a stopped VM: {inst}"
    );
}
