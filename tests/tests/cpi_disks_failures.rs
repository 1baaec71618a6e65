//! Disk calls that fail, or meet what this CPI did not make, through the built `cpi`
//! binary against real LXD: a settings file that cannot be written after the instance
//! write (both calls take the write back, so settings file == keys == devices still holds
//! and a retry succeeds), a stale settings file put right, a VM that records a helper but
//! lacks it, a detach from a stopped VM, and a volume named by the old CPI (`vol-p-<uuid>`)
//! on a VM of the old CPI's shape.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod cpi_disks_support;

use bosh_lxd_contract::keys::HELPER_VERSION_KEY;
use bosh_lxd_tests::TEST_POOL;
use bosh_lxd_tests::cpi::fixture::VmFixture;
use cpi_disks_support::{
    disk, fails, hint, immutable, invariant, push_helper, settings_file, settings_on_host, vm,
};
use serde_json::json;

#[test]
fn a_volume_of_the_old_cpi_attaches_and_detaches() {
    let f = VmFixture::new().expect("fixture");
    // An old-CPI VM: device named after the volume, no key, no helper, no helper key.
    let old_vm = vm(&f, false);
    f.project
        .lxc_ok(&["config", "unset", &old_vm, HELPER_VERSION_KEY])
        .expect("unset");
    let old = format!("vol-p-{}", uuid::Uuid::new_v4());
    f.project
        .lxc_ok(&["storage", "volume", "create", TEST_POOL, &old, "size=32MiB"])
        .expect("create the old volume");
    let (pool, source, path) = (
        format!("pool={TEST_POOL}"),
        format!("source={old}"),
        format!("path={}", hint(&old)),
    );
    f.project
        .lxc_ok(&[
            "config", "device", "add", &old_vm, &old, "disk", &pool, &source, &path,
        ])
        .expect("attach the old way");
    f.exec(
        &old_vm,
        &["sh", "-c", &format!("echo old-data > {}/f", hint(&old))],
    )
    .expect("data");
    assert_eq!(
        f.cpi.ok("get_disks", json!([old_vm])).expect("get_disks"),
        json!([old])
    );
    assert_eq!(
        f.cpi.ok("has_disk", json!([old])).expect("has_disk"),
        json!(true)
    );

    let r = f
        .cpi
        .call("detach_disk", json!([old_vm, old]))
        .expect("detach");
    assert!(r.error.is_none(), "{:?}\n{}", r.error, r.stderr);
    assert!(
        r.stderr.contains("no bosh-lxd-helper"),
        "the missing release is logged:\n{}",
        r.stderr
    );
    assert!(invariant(&f, &old_vm).expect("invariant").is_empty());

    let vm = vm(&f, true);
    let answer = f.cpi.ok("attach_disk", json!([vm, old])).expect("attach");
    assert_eq!(answer, json!(hint(&old)));
    invariant(&f, &vm).expect("invariant");
    assert_eq!(
        f.exec(&vm, &["cat", &format!("{}/f", hint(&old))])
            .expect("read")
            .trim(),
        "old-data"
    );
    f.cpi
        .ok("set_disk_metadata", json!([old, {"deployment": "cf"}]))
        .expect("metadata");
    let snap = f
        .cpi
        .ok("snapshot_disk", json!([old, {}]))
        .expect("snapshot");
    f.cpi
        .ok("delete_snapshot", json!([snap]))
        .expect("delete_snapshot");
    f.cpi.ok("detach_disk", json!([vm, old])).expect("detach");
    assert!(invariant(&f, &vm).expect("invariant").is_empty());
    f.cpi.ok("delete_disk", json!([old])).expect("delete_disk");
    for v in [&vm, &old_vm] {
        f.cpi.ok("delete_vm", json!([v])).expect("delete_vm");
    }
}

#[test]
fn a_missing_helper_is_an_error_on_a_vm_that_records_one() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, false);
    let d = disk(&f, 32);
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("attach_disk");
    let e = fails(&f, "detach_disk", json!([vm, d]));
    assert!(
        e.message.contains("bosh-lxd-helper is missing") && e.message.contains(&vm),
        "{}",
        e.message
    );
    assert_eq!(
        invariant(&f, &vm).expect("invariant").len(),
        1,
        "left attached"
    );
    push_helper(&f, &vm).expect("push the helper");
    f.cpi
        .ok("detach_disk", json!([vm, d]))
        .expect("detach with the helper");
    assert!(invariant(&f, &vm).expect("invariant").is_empty());

    // A stopped VM: nothing to release, and the empty mount point is removed.
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("attach again");
    f.project.lxc_ok(&["stop", "--force", &vm]).expect("stop");
    f.cpi
        .ok("detach_disk", json!([vm, d]))
        .expect("detach from a stopped VM");
    assert!(invariant(&f, &vm).expect("invariant").is_empty());
    f.project.lxc_ok(&["start", &vm]).expect("start");
    assert!(
        !f.project
            .exec(&vm, &["test", "-e", &hint(&d)])
            .expect("exec")
            .success(),
        "the mount point of a stopped detach was left behind"
    );
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
}

#[test]
fn failures_after_the_instance_write_are_taken_back() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let (kept, d) = (disk(&f, 32), disk(&f, 32));
    f.cpi
        .ok("attach_disk", json!([vm, kept]))
        .expect("attach a first disk");
    let file = settings_on_host(&f, &vm);
    // `method` fails while the settings file cannot be written, names disk and VM, and
    // leaves file, keys and devices as they were.
    let refused_and_taken_back = |method: &str| {
        let before = invariant(&f, &vm).expect("invariant");
        immutable(&file, true).expect("chattr +i");
        let e = fails(&f, method, json!([vm, d]));
        immutable(&file, false).expect("chattr -i");
        assert!(
            e.message.contains(&d) && e.message.contains(&vm),
            "{}",
            e.message
        );
        assert_eq!(
            invariant(&f, &vm).expect("invariant"),
            before,
            "{method} not taken back"
        );
    };

    // The settings file cannot be written: attach takes its PATCH back.
    refused_and_taken_back("attach_disk");
    let users = f
        .project
        .query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{d}"
        ))
        .expect("volume")["used_by"]
        .clone();
    assert_eq!(users, json!([]), "the volume is still attached");
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("the retry attaches");
    assert_eq!(invariant(&f, &vm).expect("invariant").len(), 2);

    // Same for detach: the device and key come back, so the retry finds the same picture.
    refused_and_taken_back("detach_disk");
    f.cpi
        .ok("detach_disk", json!([vm, d]))
        .expect("the retry detaches");
    assert_eq!(
        invariant(&f, &vm)
            .expect("invariant")
            .keys()
            .collect::<Vec<_>>(),
        [&kept]
    );

    // A settings file that lost a disk is put right by the next call about that VM.
    let mut settings = settings_file(&f, &vm).expect("settings");
    settings["disks"]["persistent"] = json!({});
    let tmp = std::env::temp_dir().join(format!("settings-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, settings.to_string()).expect("write");
    f.project
        .lxc_ok(&[
            "file",
            "push",
            &tmp.to_string_lossy(),
            &format!("{vm}{}", bosh_lxd_contract::paths::AGENT_SETTINGS),
            "--mode",
            "0600",
        ])
        .expect("push a stale file");
    std::fs::remove_file(&tmp).expect("rm");
    assert!(invariant(&f, &vm).is_err(), "the stale file is noticed");
    f.cpi
        .ok("detach_disk", json!([vm, d]))
        .expect("detach of a detached disk");
    invariant(&f, &vm).expect("the stale file was rendered again");
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    for x in [&kept, &d] {
        f.cpi.ok("delete_disk", json!([x])).expect("delete_disk");
    }
}
