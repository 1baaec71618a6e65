//! Persistent disks with the real bosh-agent, driven as the director drives them (the CPI's
//! calls, then the agent's over its HTTPS mbus, the jobs stopped through the agent before
//! each disk change and started after it): the store is bound once, in the container's and
//! in monit's mount namespace; a file written there from a job's namespace is back, on the
//! store before the agent starts and with the job running, after `reboot_vm` and
//! `stop --force` + `start`; `unmount_disk` + `detach_disk` leave no mount in any
//! namespace and the disk can be deleted; `migrate_disk` from 1 GiB to 2 GiB moves the
//! data. The agent starts once per boot throughout. The daemon restart:
//! `daemon_restart.rs` (serial).

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use anyhow::{Result, ensure};
use bosh_lxd_tests::agent::disks::{MIGRATION_TARGET, Ns, STORE, hint};
use bosh_lxd_tests::agent::vm::{AgentVm, agent_commands, wait_for_pong};
use serde_json::json;

/// A VM whose agent answers, with the sleeper job running under monit.
fn agent_vm() -> AgentVm {
    let a = AgentVm::create().expect("a VM from the real-agent stemcell");
    a.check(|a| {
        wait_for_pong(&a.mbus, 120)?;
        a.add_sleeper_job()?;
        a.reload_monit()?;
        a.state_with_sleeper()?;
        Ok(())
    });
    a
}

#[test]
fn attach_and_mount_disk_bind_the_store_once_in_the_guest_and_in_monits_namespace() {
    let a = agent_vm();
    a.check(|a| {
        let cid = a.deploy_disk(1024)?;
        a.expect_store_everywhere(&cid)?;
        let listed = a.mbus.call("list_disk", json!([]), 60)?;
        ensure!(listed == json!([cid]), "list_disk answered {listed}");
        a.expect_persistent_vitals()?;
        // A job's write lands on the volume, and the container sees it.
        let sha = a.write_data(&a.sleeper_ns()?)?;
        ensure!(
            a.data_sha(&Ns::Container)? == sha,
            "the container sees another file"
        );
        ensure!(
            a.data_sha_on_volume(&cid)? == sha,
            "the volume holds another file"
        );
        // The director may send mount_disk again (a re-attach): still one mount.
        a.mbus.call("mount_disk", json!([cid]), 120)?;
        a.expect_store_everywhere(&cid)?;
        eprintln!("{STORE} mounts: {:?}", a.volume_mounts_everywhere(&cid)?);
        a.keep_pinging()?;
        a.expect_starts(1)
    });
}

/// How a test restarts the VM.
#[derive(Debug, Clone, Copy)]
enum Restart {
    /// The CPI's `reboot_vm`.
    RebootVm,
    /// `lxc stop --force` then `lxc start` (a power cut, then a start).
    ForceStopStart,
}

/// Restarts the VM `how`; then the agent answers, the helper bound the store from `cid`
/// before the agent started, it is bound once in both namespaces, monit runs the job
/// again, and the file has the checksum `sha`.
fn restart_and_check(a: &AgentVm, how: Restart, cid: &str, sha: &str) -> Result<()> {
    let log_lines = a.helper_log_lines()?;
    match how {
        Restart::RebootVm => {
            a.f.cpi.ok("reboot_vm", json!([a.vm]))?;
        }
        Restart::ForceStopStart => {
            a.f.project.lxc_ok(&["stop", "--force", &a.vm])?;
            a.f.project.lxc_ok(&["start", &a.vm])?;
        }
    }
    wait_for_pong(&a.mbus, 120)?;
    a.expect_store_bound_before_agent(cid, log_lines)?;
    a.state_with_sleeper()?;
    a.expect_store_everywhere(cid)?;
    for ns in [Ns::Container, a.sleeper_ns()?] {
        let now = a.data_sha(&ns)?;
        ensure!(
            now == sha,
            "{how:?}: the file in {ns:?} has sha256 {now}, not {sha}"
        );
    }
    a.expect_persistent_vitals()?;
    Ok(())
}

#[test]
fn the_store_and_its_file_are_back_before_the_agent_after_reboot_vm_and_stop_force_start() {
    let a = agent_vm();
    a.check(|a| {
        let cid = a.deploy_disk(1024)?;
        let sha = a.write_data(&a.sleeper_ns()?)?;
        restart_and_check(a, Restart::RebootVm, &cid, &sha)?;
        a.expect_starts(2)?;
        restart_and_check(a, Restart::ForceStopStart, &cid, &sha)?;
        a.keep_pinging()?;
        a.expect_starts(3)
    });
}

#[test]
fn unmount_disk_then_detach_disk_leave_no_mount_and_the_disk_can_be_deleted() {
    let a = agent_vm();
    a.check(|a| {
        let cid = a.deploy_disk(1024)?;
        let sha = a.write_data(&a.sleeper_ns()?)?;
        // The probe sees the volume where it is mounted (so an empty answer means none).
        let before = a.volume_mounts_everywhere(&cid)?;
        ensure!(
            before.iter().any(|m| m.ends_with(&format!(" {STORE}"))),
            "no mount of {cid} on {STORE} found before the detach: {before:#?}"
        );
        a.stop_jobs()?;
        a.unmount_and_detach(&cid)?;
        a.update_settings()?;
        a.start_jobs()?;
        let left = a.volume_mounts_everywhere(&cid)?;
        ensure!(
            left.is_empty(),
            "mounts of {cid} left in the guest: {left:#?}"
        );
        for ns in [Ns::Container, a.monit_ns()?, a.sleeper_ns()?] {
            let store = a.mounts_at(&ns, STORE)?;
            ensure!(
                store.is_empty(),
                "{ns:?}: {STORE} is still mounted: {store:?}"
            );
        }
        let listed = a.mbus.call("list_disk", json!([]), 60)?;
        ensure!(listed == json!([]), "list_disk after the detach: {listed}");
        // The data stayed on the volume, which can now be deleted.
        ensure!(
            a.data_sha_on_volume(&cid)? == sha,
            "the volume lost the file"
        );
        a.f.cpi.ok("delete_disk", json!([cid]))?;
        let has = a.f.cpi.ok("has_disk", json!([cid]))?;
        ensure!(has == json!(false), "has_disk after delete_disk: {has}");
        a.keep_pinging()?;
        a.expect_starts(1)
    });
}

#[test]
fn migrate_disk_from_1_gib_to_2_gib_moves_the_data_to_the_new_disk() {
    let a = agent_vm();
    a.check(|a| {
        let old = a.deploy_disk(1024)?;
        let sha = a.write_data(&a.sleeper_ns()?)?;
        a.stop_jobs()?;
        // The director's update_disk: create, attach and mount the new disk (the agent
        // puts it on the migration target), migrate_disk, then detach the old one.
        let new = a.create_disk(2048)?;
        a.attach_and_mount(&new)?;
        let target = a.mounts_at(&Ns::Container, MIGRATION_TARGET)?;
        ensure!(
            target.len() == 1 && target[0].contains(&a.volume_root(&new)),
            "the new disk should be on {MIGRATION_TARGET}: {target:?}"
        );
        let before = agent_commands(&a.f, &a.vm, 0)?.len();
        a.mbus.call("migrate_disk", json!([old, new]), 300)?;
        // The agent copied with tar, then remounted the new disk by the source the shim's
        // listing gave it (the disk's path, not the device it shares with `/`).
        let ran = agent_commands(&a.f, &a.vm, before)?;
        eprintln!("migrate_disk ran: {ran:#?}");
        let remount = format!("mount {} {STORE} -o bind", hint(&new));
        ensure!(
            ran.iter().any(|c| c.contains("tar -C")) && ran.contains(&remount),
            "migrate_disk should copy with tar and run `{remount}`: {ran:#?}"
        );
        a.unmount_and_detach(&old)?;
        a.update_settings()?;
        a.start_jobs()?;
        a.expect_store_everywhere(&new)?;
        ensure!(
            a.data_sha_on_volume(&new)? == sha,
            "the new volume lacks the file"
        );
        ensure!(
            a.data_sha(&a.sleeper_ns()?)? == sha,
            "the job sees another file"
        );
        let left = a.volume_mounts_everywhere(&old)?;
        ensure!(left.is_empty(), "mounts of the old disk left: {left:#?}");
        a.f.cpi.ok("delete_disk", json!([old]))?;
        let listed = a.mbus.call("list_disk", json!([]), 60)?;
        ensure!(
            listed == json!([new]),
            "list_disk after the migration: {listed}"
        );
        let state = a.expect_persistent_vitals()?;
        eprintln!(
            "persistent disk vitals: {}",
            state["vitals"]["disk"]["persistent"]
        );
        // The new disk is the one that comes back after a reboot.
        restart_and_check(a, Restart::RebootVm, &new, &sha)?;
        a.keep_pinging()?;
        a.expect_starts(2)
    });
}
