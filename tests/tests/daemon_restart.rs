//! Daemon-disruptive tests: run serially, after every other test (`scripts/test`).
//!
//! They restart the daemon `BOSH_LXD_DAEMON` names (LXD by default, or Incus) by the PID
//! that `scripts/setup-host` recorded: a plain container survives it; a container repacked
//! with the guest helper keeps its persistent disk on `/var/vcap/store` across a daemon
//! restart and gets it back before the agent starts after a simulated host reboot
//! (`boot.autostart`). The real bosh-agent, with a disk it mounted, keeps running across a
//! daemon restart, its store and the file on it unchanged.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::time::Duration;

use bosh_lxd_tests::agent::disks::Ns;
use bosh_lxd_tests::agent::vm::{AgentVm, wait_for_pong};
use bosh_lxd_tests::helper::Guest;
use bosh_lxd_tests::helper::disks::{Restart, store_bound_from};
use bosh_lxd_tests::{Project, daemon, is_running, wait_for};
use serde_json::{Value, json};

/// Restarts the daemon by the PID `scripts/setup-host` recorded (SIGTERM). LXD 5.0.2 and
/// Incus 6.0 leave running containers running on SIGTERM (only SIGPWR or `shutdown`
/// stops them), so this is a daemon restart, not a host reboot.
fn restart_daemon() {
    daemon()
        .restart("TERM")
        .unwrap_or_else(|e| panic!("restart the {} daemon: {e:#}", daemon().name()));
}

/// The instance's `status` as the daemon reports it (`Running`, `Ready`, `Stopped`...).
fn status(project: &Project, name: &str) -> anyhow::Result<Value> {
    let state = project.instance(&format!("{name}/state"))?;
    Ok(state["status"].clone())
}

#[test]
fn running_container_survives_a_daemon_restart() {
    let project = Project::for_run().expect("test project");
    let name = "daemon-restart-1";
    project.delete_instance(name).expect("clean slate");
    project.launch_fixture(name).expect("launch");
    let init_before = project.instance(&format!("{name}/state")).expect("state")["pid"].clone();

    restart_daemon();

    let state = project
        .instance(&format!("{name}/state"))
        .expect("state after restart");
    assert!(
        is_running(&state["status"]),
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

#[test]
fn the_store_stays_mounted_with_its_file_across_a_daemon_restart() {
    let project = Project::for_run().expect("test project");
    let cid = "dr-store-d1";
    let g = Guest::launch_repacked(&project, "dr-store").expect("launch");
    g.attach_and_mount(cid).expect("attach + mount_disk");
    g.sh("echo kept > /var/vcap/store/marker").expect("marker");
    // one restart first, so that the running agent started with the store bound
    let boot = g.restart(Restart::Graceful).expect("restart");
    assert!(
        boot.contains(&store_bound_from(cid)),
        "store bound before the agent: {boot}\n{}",
        g.logs()
    );
    let booted = g.booted_count().expect("count");
    let init_before = project
        .instance(&format!("{}/state", g.name))
        .expect("state")["pid"]
        .clone();

    restart_daemon();

    let after = status(&project, &g.name).expect("status");
    assert!(
        is_running(&after),
        "the container should keep running across a daemon restart: {after}"
    );
    let init_after = project
        .instance(&format!("{}/state", g.name))
        .expect("state")["pid"]
        .clone();
    assert_eq!(
        init_after, init_before,
        "the container's init was restarted"
    );
    assert_eq!(
        g.booted_count().expect("count"),
        booted,
        "the agent should not have restarted (BOOTED lines)\n{}",
        g.logs()
    );
    let mounts = g.volume_mounts(cid).expect("mounts");
    assert!(
        mounts.iter().any(|m| m.ends_with(" /var/vcap/store")),
        "the disk should still be on /var/vcap/store: {mounts:?}"
    );
    let marker = g.sh_any("cat /var/vcap/store/marker").expect("cat");
    assert_eq!(
        marker.stdout.trim(),
        "kept",
        "the file should still be on the store: {marker:?}"
    );
    g.delete_with_volumes(&[cid]).expect("delete");
}

/// A host reboot, simulated: every container of the test stopped (force: a power cut
/// gives no clean shutdown either), the daemon stopped and started again. What brings a
/// container back is `boot.autostart=true`: LXD and Incus start an instance at daemon start
/// when `boot.autostart` is true, or when it is unset and `volatile.last_state.power` is
/// `RUNNING`. A stop through the API records `STOPPED`, and the daemon's SIGTERM leaves running
/// containers running (nothing to start), so the key is what makes the CPI's VMs come
/// back after a reboot. A control container without the key stays stopped.
#[test]
fn after_a_simulated_host_reboot_the_disk_is_back_before_the_agent() {
    let project = Project::for_run().expect("test project");
    let cid = "dr-reboot-d1";
    let control = "dr-ctl";
    project.delete_instance(control).expect("clean slate");
    project.launch_fixture(control).expect("control");
    let g = Guest::launch_repacked(&project, "dr-reboot").expect("launch");
    g.attach_and_mount(cid).expect("attach + mount_disk");
    g.sh("echo after-reboot > /var/vcap/store/marker")
        .expect("marker");
    project
        .lxc_ok(&["config", "set", &g.name, "boot.autostart=true"])
        .expect("autostart");
    let before = g.booted_count().expect("count");
    for name in [control, g.name.as_str()] {
        project.lxc_ok(&["stop", "--force", name]).expect("stop");
        let power = project
            .lxc_ok(&["config", "get", name, "volatile.last_state.power"])
            .expect("last state");
        assert_eq!(
            power.trim(),
            "STOPPED",
            "{name}: the daemon should remember it as stopped"
        );
    }

    restart_daemon();

    wait_for(
        "the daemon to autostart the container",
        Duration::from_secs(120),
        || Ok(is_running(&status(&project, &g.name)?).then_some(())),
    )
    .expect("autostart");
    let boot = g
        .wait_agent_booted(before, "after the simulated reboot")
        .expect("agent");
    assert!(
        boot.contains(&store_bound_from(cid)) && boot.contains(&g.volume_root(cid)),
        "the disk should be on the store when the agent starts: {boot}\n{}",
        g.logs()
    );
    let marker = g.sh_any("cat /var/vcap/store/marker").expect("cat");
    assert_eq!(
        marker.stdout.trim(),
        "after-reboot",
        "the file should be back on the store: {marker:?}"
    );
    assert_eq!(
        status(&project, control).expect("status").as_str(),
        Some("Stopped"),
        "without boot.autostart a container stopped before the restart stays stopped"
    );
    project.delete_instance(control).expect("delete control");
    g.delete_with_volumes(&[cid]).expect("delete");
}

/// The real agent (real-agent fixture, made through the CPI) with a disk attached and
/// mounted as the director does it and a file written from monit's namespace: across a
/// daemon restart the container and its agent keep running (no new start in the agent's
/// log), the store stays bound once in the container and in monit's namespace, the job
/// keeps running, and the file is intact.
#[test]
fn the_real_agent_keeps_its_store_and_file_across_a_daemon_restart() {
    let a = AgentVm::create().expect("a VM from the real-agent stemcell");
    let mut sha = String::new();
    let mut cid = String::new();
    a.check(|a| {
        wait_for_pong(&a.mbus, 120)?;
        a.add_sleeper_job()?;
        a.reload_monit()?;
        a.state_with_sleeper()?;
        cid = a.deploy_disk(1024)?;
        sha = a.write_data(&a.sleeper_ns()?)?;
        a.expect_starts(1)
    });
    let init_before =
        a.f.project
            .instance(&format!("{}/state", a.vm))
            .expect("state")["pid"]
            .clone();

    restart_daemon();

    a.check(|a| {
        let state = a.f.project.instance(&format!("{}/state", a.vm))?;
        anyhow::ensure!(
            is_running(&state["status"]),
            "after the daemon restart: {state}"
        );
        anyhow::ensure!(
            state["pid"] == init_before,
            "the container's init was restarted"
        );
        wait_for_pong(&a.mbus, 120)?;
        a.expect_store_everywhere(&cid)?;
        a.state_with_sleeper()?;
        for ns in [Ns::Container, a.sleeper_ns()?] {
            let now = a.data_sha(&ns)?;
            anyhow::ensure!(now == sha, "the file in {ns:?} has sha256 {now}, not {sha}");
        }
        a.expect_persistent_vitals()?;
        let listed = a.mbus.call("list_disk", json!([]), 60)?;
        anyhow::ensure!(listed == json!([cid]), "list_disk: {listed}");
        a.keep_pinging()?;
        a.expect_starts(1)
    });
}
