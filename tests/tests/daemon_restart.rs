//! Daemon-disruptive tests: run serially, after every other test (`scripts/test`).
//!
//! They restart the LXD daemon by the PID that `scripts/setup-host` recorded.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::process::Command;
use std::time::Duration;

use bosh_lxd_tests::{LXD_PID_FILE, Project, wait_for, workspace_root};

/// Stops the LXD daemon started by `scripts/setup-host` (SIGTERM to its recorded PID),
/// waits for it to exit, and starts it again through the set-up script.
fn restart_lxd_daemon() {
    let pid = std::fs::read_to_string(LXD_PID_FILE)
        .unwrap_or_else(|e| panic!("{LXD_PID_FILE}: {e}; was LXD started by scripts/setup-host?"));
    let pid = pid.trim();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(
        comm.trim(),
        "lxd",
        "pid {pid} from {LXD_PID_FILE} is not the LXD daemon"
    );
    let status = Command::new("kill")
        .args(["-TERM", pid])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM {pid} failed");
    wait_for(
        "the old LXD daemon to exit",
        Duration::from_secs(120),
        || Ok((!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())),
    )
    .expect("daemon exit");
    let setup = workspace_root().join("scripts/setup-host");
    let out = Command::new(&setup).output().expect("run setup-host");
    assert!(
        out.status.success(),
        "setup-host failed to restart LXD: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn running_container_survives_a_daemon_restart() {
    let project = Project::for_run().expect("test project");
    let name = "daemon-restart-1";
    project.delete_instance(name).expect("clean slate");
    project.launch_fixture(name).expect("launch");
    let init_before = project.instance(&format!("{name}/state")).expect("state")["pid"].clone();

    restart_lxd_daemon();

    let state = project
        .instance(&format!("{name}/state"))
        .expect("state after restart");
    assert_eq!(
        state["status"], "Running",
        "container after daemon restart: {state}"
    );
    assert_eq!(
        state["pid"], init_before,
        "the container's init was restarted"
    );
    let r = project.exec(name, &["true"]).expect("exec after restart");
    assert!(r.success(), "exec after daemon restart: {r:?}");
    project.delete_instance(name).expect("delete");
}
