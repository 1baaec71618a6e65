//! Persistent disks with the guest helper in real unprivileged containers from the fixture
//! stemcell, repacked with the stemcell overlay (boot unit, mount shim) and driven by the
//! stand-in agent: the disk is back on `/var/vcap/store` before the agent starts after
//! `lxc restart` and after `stop --force` + start; the shim's rules (a repeated mount_disk,
//! unmount_disk releasing the volume, in-place remounts); a stale cid or a disk detached
//! while stopped no longer blocks boot; `release` names a holder, then releases. Needs the
//! static helper from `scripts/build-helper`. No network traffic.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::time::Duration;

use bosh_lxd_contract::release::ReleaseResult;
use bosh_lxd_tests::helper::disks::{
    AGENT_LOG, AGENT_PATH, HELPER_LOG, MANAGED_DISK, Restart, store_bound_from,
};
use bosh_lxd_tests::helper::{GUEST_HELPER, Guest};
use bosh_lxd_tests::{Project, wait_for};

const STORE: &str = "/var/vcap/store";
const MIGRATION_TARGET: &str = "/var/vcap/store_migration_target";

fn assert_boot_line(line: &str, expected: &str, when: &str, g: &Guest) {
    assert!(
        line.contains(expected),
        "{when}: the agent's BOOT line should say {expected:?}; it is {line:?}\n{}",
        g.logs()
    );
}

#[test]
fn the_disk_is_back_on_the_store_before_the_agent_after_restart_and_stop_start() {
    let project = Project::for_run().expect("project");
    let cid = "hd-restart-d1";
    let g = Guest::launch_repacked(&project, "hd-restart").expect("launch");
    assert_eq!(
        g.config("security.privileged").expect("config"),
        "",
        "the container should be unprivileged"
    );
    let data_mode = || g.sh("stat -c %a /var/vcap/data").expect("stat");
    assert_eq!(
        data_mode().trim(),
        "755",
        "the helper's first boot should give the LXD volume's root (mode 0711) the agent's mode"
    );
    let enabled = g.sh_any("systemctl is-enabled bosh-lxd-helper-boot.service");
    assert_eq!(
        enabled.expect("is-enabled").stdout.trim(),
        "enabled",
        "the overlay should enable the boot unit"
    );
    let mount = g
        .sh(&format!("env PATH={AGENT_PATH} sh -c 'command -v mount'"))
        .expect("command -v");
    assert_eq!(
        mount.trim(),
        "/var/vcap/bosh/bin/mount",
        "the shim should come first in the agent's PATH"
    );

    g.attach_and_mount(cid).expect("attach + mount_disk");
    assert_eq!(g.mounts_on(STORE).expect("mounts"), 1, "{}", g.logs());
    let token = uuid::Uuid::new_v4().to_string();
    g.sh(&format!("echo {token} > {STORE}/marker"))
        .expect("write the marker");

    // a second mount_disk would bind the volume again at the migration target
    let again = g.agent(&["mount_disk", cid]).expect("mount_disk again");
    assert_eq!(again.stdout.trim(), "{}", "second mount_disk: {again:?}");
    assert_eq!(
        g.mounts_on(MIGRATION_TARGET).expect("mounts"),
        0,
        "the shim should turn a second bind of the same volume into a no-op\n{}",
        g.logs()
    );
    let skipped = format!("a second bind at {MIGRATION_TARGET} is skipped");
    assert!(
        g.sh_any(&format!("grep -F '{skipped}' {HELPER_LOG}"))
            .expect("grep")
            .success(),
        "the shim should log the skipped bind\n{}",
        g.logs()
    );

    for how in [Restart::Graceful, Restart::ForceStopStart] {
        // as a fresh LXD volume has it, so the next boot has to restore the mode again
        g.sh("chmod 0711 /var/vcap/data").expect("chmod");
        let boot = g.restart(how).expect("restart");
        eprintln!("{how:?}: {boot}");
        assert_boot_line(&boot, &store_bound_from(cid), &format!("{how:?}"), &g);
        assert_boot_line(&boot, &g.volume_root(cid), &format!("{how:?}"), &g);
        let marker = g.sh_any(&format!("cat {STORE}/marker")).expect("cat");
        assert_eq!(
            marker.stdout.trim(),
            token,
            "{how:?}: the file written before should be on the store: {marker:?}"
        );
        assert_eq!(
            data_mode().trim(),
            "755",
            "{how:?}: boot should restore the agent's /var/vcap/data mode"
        );
        let active = g.sh_any("systemctl is-active bosh-lxd-helper-boot.service");
        assert_eq!(
            active.expect("is-active").stdout.trim(),
            "active",
            "{how:?}: the boot unit should have run\n{}",
            g.logs()
        );
    }
    let times = g
        .sh(&format!(
            "grep -o 'boot done in [0-9]* ms' {HELPER_LOG} || true"
        ))
        .expect("grep");
    eprintln!("helper boot: {}", times.trim().replace('\n', "; "));
    g.delete_with_volumes(&[cid]).expect("delete");
}

#[test]
fn unmount_disk_releases_the_volume_and_remounts_work_unprivileged() {
    let project = Project::for_run().expect("project");
    let cid = "hd-unmount-d1";
    let g = Guest::launch_repacked(&project, "hd-unmount").expect("launch");

    let remount = g.agent(&["remount_dirs"]).expect("remount_dirs");
    assert!(
        remount.success(),
        "the agent's in-place remounts should work unprivileged through the shim: {remount:?}\n{}",
        g.logs()
    );
    for (dir, flags) in [
        ("/var/log", "nosuid,nodev,noexec"),
        ("/var/opt", "nosuid,nodev,noexec"),
        ("/home", "nodev"),
    ] {
        let opts = g
            .sh(&format!("findmnt -n -o OPTIONS {dir}"))
            .expect("findmnt");
        assert!(opts.contains(flags), "{dir} should have {flags}: {opts}");
    }

    g.attach_and_mount(cid).expect("attach + mount_disk");
    let mounted = g.volume_mounts(cid).expect("volume mounts");
    assert_eq!(
        mounted.len(),
        2,
        "the device mount and the store bind should be there: {mounted:?}"
    );
    let out = g.agent(&["unmount_disk", cid]).expect("unmount_disk");
    assert!(
        out.stdout
            .contains(&format!("Unmounted partition of {{ID:{cid}")),
        "unmount_disk: {out:?}"
    );
    let left = g.volume_mounts(cid).expect("volume mounts");
    assert!(
        left.is_empty(),
        "nothing of the volume should stay mounted in any namespace: {left:?}\n{}",
        g.logs()
    );
    assert_eq!(
        g.mounts_on(STORE).expect("mounts"),
        0,
        "the store should be free"
    );
    g.detach_disk(cid).expect("detach");
    let used_by = project
        .query(&format!("/1.0/storage-pools/btrfs/volumes/custom/{cid}"))
        .expect("volume")["used_by"]
        .clone();
    assert_eq!(
        used_by,
        serde_json::json!([]),
        "the volume should be unused after the detach"
    );
    g.delete_with_volumes(&[cid]).expect("delete");
}

#[test]
fn a_stale_cid_in_the_managed_disk_file_no_longer_blocks_boot() {
    let project = Project::for_run().expect("project");
    let cid = "hd-stale-d1";
    let g = Guest::launch_repacked(&project, "hd-stale").expect("launch");
    g.attach_and_mount(cid).expect("attach + mount_disk");
    // the CPI's detach_disk: release, remove the device, drop it from the settings
    let release = g
        .sh_any(&format!("{GUEST_HELPER} release {cid}"))
        .expect("release");
    assert!(release.success(), "release: {release:?}");
    g.detach_disk(cid).expect("detach");
    g.write_settings(&[]).expect("settings");
    let removed = g.agent(&["remove_persistent_disk", cid]).expect("remove");
    assert!(removed.success(), "remove_persistent_disk: {removed:?}");
    let managed = g.sh(&format!("cat {MANAGED_DISK}")).expect("cat");
    assert_eq!(
        managed, cid,
        "the agent never clears its managed disk file, so it should still name the disk"
    );

    let failed = || {
        g.sh(&format!("grep -c 'BOOT FAILED' {AGENT_LOG} || true"))
            .expect("grep")
            .trim()
            .to_string()
    };
    let failed_before = failed();
    let boot = g.restart(Restart::Graceful).expect("restart");
    assert_boot_line(&boot, "store_mounted=no", "after the detach", &g);
    let size = g.sh(&format!("stat -c %s {MANAGED_DISK}")).expect("stat");
    assert_eq!(
        size.trim(),
        "0",
        "boot should empty a stale managed disk file\n{}",
        g.logs()
    );
    assert_eq!(
        failed(),
        failed_before,
        "the agent should boot without a refusal (BOOT FAILED lines)\n{}",
        g.logs()
    );
    g.delete_with_volumes(&[cid]).expect("delete");
}

#[test]
fn a_disk_detached_while_stopped_is_not_bound() {
    let project = Project::for_run().expect("project");
    let cid = "hd-detached-d1";
    let g = Guest::launch_repacked(&project, "hd-detached").expect("launch");
    g.attach_and_mount(cid).expect("attach + mount_disk");
    let before = g.booted_count().expect("count");
    project.lxc_ok(&["stop", "--force", &g.name]).expect("stop");
    g.detach_disk(cid).expect("detach while stopped");
    project.lxc_ok(&["start", &g.name]).expect("start");
    let boot = g
        .wait_agent_booted(before, "after a detach while stopped")
        .expect("boot");
    assert_boot_line(&boot, "store_mounted=no", "detached while stopped", &g);
    let kind = g
        .sh(&format!("stat -c %F /warden-cpi-dev/{cid}"))
        .expect("stat");
    assert_eq!(
        kind.trim(),
        "directory",
        "LXD should leave an empty directory behind"
    );
    let why = format!("/warden-cpi-dev/{cid} is not a mount point: {cid} is not attached");
    assert!(
        g.sh_any(&format!("grep -F '{why}' {HELPER_LOG}"))
            .expect("grep")
            .success(),
        "the helper should say why it did not bind the disk\n{}",
        g.logs()
    );
    g.delete_with_volumes(&[cid]).expect("delete");
}

#[test]
fn release_names_the_holder_of_an_open_file_then_releases() {
    let project = Project::for_run().expect("project");
    let cid = "hd-release-d1";
    let g = Guest::launch_repacked(&project, "hd-release").expect("launch");
    g.attach_and_mount(cid).expect("attach + mount_disk");
    // a holder with its cwd on the store and a file open there
    let pid = g
        .sh(&format!(
            "setsid sh -c 'cd {STORE} && exec 3>held && exec sleep 600' \
             </dev/null >/dev/null 2>&1 & echo $!"
        ))
        .expect("start a holder");
    let pid = pid.trim().to_string();
    wait_for(
        "the holder to open its file",
        Duration::from_secs(20),
        || {
            let fds = g.sh_any(&format!("ls -l /proc/{pid}/fd"))?.stdout;
            Ok(fds.contains(&format!("{STORE}/held")).then_some(()))
        },
    )
    .expect("holder");

    let busy = g
        .sh_any(&format!("{GUEST_HELPER} release {cid}"))
        .expect("release");
    assert_eq!(busy.code, 2, "release while held exits 2: {busy:?}");
    // what the CPI reads: the result on stdout names the mount and the holder
    let result = ReleaseResult::from_stdout(busy.stdout.as_bytes()).expect("a release result");
    let Some(ReleaseResult::Busy { paths, holders }) = result else {
        panic!("release while held should print a busy result: {busy:?}");
    };
    assert!(
        paths.iter().any(|m| m.path == STORE),
        "{STORE} should be named as stuck: {paths:?}"
    );
    let holder = holders.iter().find(|h| h.pid.to_string() == pid);
    let holds = holder.map(|h| h.holds.clone()).unwrap_or_default();
    for named in [format!("cwd {STORE}"), format!("fd 3 {STORE}/held")] {
        assert!(
            holds.contains(&named),
            "pid {pid} should hold {named:?}: {holders:?}"
        );
    }
    // and the log says the same for people
    for named in [
        format!("pid {pid} (sleep): cwd {STORE}"),
        format!("fd 3 {STORE}/held"),
    ] {
        assert!(
            busy.stderr.contains(&named),
            "release should name {named:?}: {}",
            busy.stderr
        );
    }
    let device = format!("/warden-cpi-dev/{cid}");
    for point in [STORE, device.as_str()] {
        assert_eq!(
            g.mounts_on(point).expect("mounts"),
            1,
            "a refused release should leave {point} mounted: {:?}",
            g.volume_mounts(cid)
        );
    }

    g.sh(&format!("kill {pid}")).expect("stop the holder");
    wait_for("the holder to exit", Duration::from_secs(20), || {
        let alive = g.sh_any(&format!("test -d /proc/{pid}"))?.success();
        Ok((!alive).then_some(()))
    })
    .expect("holder gone");
    let done = g
        .sh_any(&format!("{GUEST_HELPER} release {cid}"))
        .expect("release");
    assert!(done.success(), "release once the holder is gone: {done:?}");
    let result = ReleaseResult::from_stdout(done.stdout.as_bytes()).expect("a release result");
    let Some(ReleaseResult::Released { unmounted }) = result else {
        panic!("release once the holder is gone should print released: {done:?}");
    };
    for point in [STORE, device.as_str()] {
        assert!(
            unmounted.iter().any(|m| m.path == point),
            "{point} should be among the unmounted: {unmounted:?}"
        );
    }
    let left = g.volume_mounts(cid).expect("mounts");
    assert!(
        left.is_empty(),
        "nothing of {cid} should stay mounted: {left:?}"
    );
    g.delete_with_volumes(&[cid]).expect("delete");
}
