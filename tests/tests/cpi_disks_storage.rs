//! Disk snapshots and pools through the built `cpi` binary against real LXD: snapshots keep
//! the old data and record the metadata, and a new disk goes to the pool the cloud property
//! or the VM names (a dir pool with a warning). The invariant settings file == keys ==
//! devices is checked along the way. Quotas and resize: `quota.rs`.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod cpi_disks_support;

use bosh_lxd_tests::TEST_POOL;
use bosh_lxd_tests::cpi::fixture::VmFixture;
use cpi_disks_support::{disk, hint, invariant, snapshot_dir, vm};
use serde_json::{Value, json};

#[test]
fn snapshots_keep_the_old_data() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let d = disk(&f, 32);
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("attach_disk");
    let file = format!("{}/v", hint(&d));
    f.exec(&vm, &["sh", "-c", &format!("echo one > {file} && sync")])
        .expect("write");
    let meta = json!({"deployment": "cf", "job": "pg", "index": 0, "director_name": "d"});
    let snap = f
        .cpi
        .ok("snapshot_disk", json!([d, meta]))
        .expect("snapshot_disk");
    let snap = snap.as_str().expect("snapshot cid").to_owned();
    let (disk_part, name) = snap.rsplit_once('@').expect("<disk>@<name>");
    assert_eq!(disk_part, d);
    let shown = f
        .project
        .query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{d}/snapshots/{name}"
        ))
        .expect("snapshot");
    let recorded: Value =
        serde_json::from_str(shown["description"].as_str().expect("description")).expect("json");
    assert_eq!(recorded["deployment"], "cf");
    assert_eq!(recorded["index"], "0");

    f.exec(&vm, &["sh", "-c", &format!("echo two > {file} && sync")])
        .expect("write again");
    let old = std::fs::read_to_string(snapshot_dir(&f, &d, name).join("v")).expect("snapshot file");
    assert_eq!(old.trim(), "one", "the snapshot has the old data");
    assert_eq!(f.exec(&vm, &["cat", &file]).expect("read").trim(), "two");

    f.cpi
        .ok("delete_snapshot", json!([snap]))
        .expect("delete_snapshot");
    assert!(!snapshot_dir(&f, &d, name).exists(), "snapshot still there");
    f.cpi
        .ok("delete_snapshot", json!([snap]))
        .expect("deleting it again succeeds");
    f.cpi
        .ok("delete_snapshot", json!(["snap-cid"]))
        .expect("the old CPI's fake snapshot CID");
    invariant(&f, &vm).expect("invariant");
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
}

#[test]
fn pools_come_from_the_property_or_the_vm() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    // Near a VM: on that VM's pool (its root disk's).
    let near = f
        .cpi
        .ok("create_disk", json!([32, {}, vm]))
        .expect("create_disk near the VM");
    let near = near.as_str().expect("cid").to_owned();
    assert!(
        f.project
            .lxc(&["storage", "volume", "show", TEST_POOL, &near])
            .expect("lxc")
            .success(),
        "{near} is not on the VM's pool {TEST_POOL}"
    );
    // The pool property: a dir pool takes the size without enforcing it, with a warning.
    let r = f
        .cpi
        .call(
            "create_disk",
            json!([32, {"pool": "default", "name": "pg"}, null]),
        )
        .expect("create_disk on dir");
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.stderr.contains("dir driver"), "no warning:\n{}", r.stderr);
    let on_dir = r.result.as_str().expect("cid").to_owned();
    assert!(
        f.project
            .lxc(&["storage", "volume", "show", "default", &on_dir])
            .expect("lxc")
            .success(),
        "{on_dir} is not on pool default"
    );
    assert_eq!(
        f.cpi.ok("has_disk", json!([on_dir])).expect("has_disk"),
        json!(true)
    );
    f.cpi
        .ok("attach_disk", json!([vm, on_dir]))
        .expect("attach from another pool");
    f.cpi.ok("attach_disk", json!([vm, near])).expect("attach");
    let disks = invariant(&f, &vm).expect("invariant");
    assert_eq!(disks.len(), 2);
    let inst = f.project.instance(&vm).expect("instance");
    assert_eq!(inst["devices"][on_dir.as_str()]["pool"], "default");
    for d in [&on_dir, &near] {
        f.cpi.ok("detach_disk", json!([vm, d])).expect("detach");
        invariant(&f, &vm).expect("invariant");
        f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
        assert_eq!(
            f.cpi.ok("has_disk", json!([d])).expect("has_disk"),
            json!(false)
        );
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}
