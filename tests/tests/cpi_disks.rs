//! Persistent disks through the built `cpi` binary against real LXD (btrfs pool): a live
//! attach that the stand-in agent mounts, a detach that the guest helper releases, the data
//! surviving on the volume and showing up on another VM, a busy disk refused until its
//! holder exits, the errors for disks in use, v1 answers and three disks on one VM, the
//! quota and resizing, snapshots, failures injected after the instance write, a volume
//! named by the old CPI, and the pool a new disk goes to. After every call: settings file == keys == devices.
//! Concurrency: `cpi_disks_concurrency.rs`.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod cpi_disks_support;

use bosh_lxd_tests::TEST_POOL;
use bosh_lxd_tests::cpi::fixture::VmFixture;
use cpi_disks_support::{
    agent, disk, fails, hint, immutable, init_pid, invariant, push_helper, settings_file,
    settings_on_host, snapshot_dir, vm, volume_dir, volume_key, volume_mounts,
};
use serde_json::{Value, json};

#[test]
fn attach_mount_detach_and_the_data_moves_to_another_vm() {
    let f = VmFixture::new().expect("fixture");
    let (vm1, vm2) = (vm(&f, true), vm(&f, true));
    let d = disk(&f, 64);
    assert!(d.starts_with("disk-"), "{d}");
    assert_eq!(
        f.cpi.ok("has_disk", json!([d])).expect("has_disk"),
        json!(true)
    );
    assert_eq!(
        f.cpi
            .ok("has_disk", json!(["disk-none"]))
            .expect("has_disk"),
        json!(false)
    );
    assert_eq!(volume_key(&f, &d, "size").expect("size"), "64MiB");
    assert_eq!(
        volume_key(&f, &d, "user.bosh.managed-by").expect("key"),
        "bosh-lxd-cpi"
    );

    // Live attach: the hint comes back, init keeps its PID, the disk is mounted.
    let pid = init_pid(&f, &vm1);
    let answer = f
        .cpi
        .ok("attach_disk", json!([vm1, d]))
        .expect("attach_disk");
    assert_eq!(answer, json!(hint(&d)), "v2 hint is the path");
    assert_eq!(init_pid(&f, &vm1), pid, "attach restarted the container");
    assert_eq!(invariant(&f, &vm1).expect("invariant").len(), 1);
    let mounts = volume_mounts(&f, &vm1, &d).expect("mounts");
    assert!(
        mounts
            .iter()
            .any(|m| m.contains(&format!(" {} ", hint(&d)))),
        "{mounts:?}"
    );
    let before = f.project.instance(&vm1).expect("instance");
    let again = f
        .cpi
        .ok("attach_disk", json!([vm1, d]))
        .expect("attach again");
    assert_eq!(again, answer, "a repeated attach answers the same");
    let after = f.project.instance(&vm1).expect("instance");
    assert_eq!(
        before["config"], after["config"],
        "a repeated attach changes nothing"
    );
    assert_eq!(before["devices"], after["devices"]);
    assert_eq!(
        f.cpi.ok("get_disks", json!([vm1])).expect("get_disks"),
        json!([d])
    );

    let meta = json!({"director": "d", "deployment": "cf", "instance_group": "pg",
        "instance_index": "0", "attached_at": "2026-01-01"});
    f.cpi
        .ok("set_disk_metadata", json!([d, meta]))
        .expect("set_disk_metadata");
    assert_eq!(
        volume_key(&f, &d, "user.bosh.meta.deployment").expect("key"),
        "cf"
    );
    let vol = f
        .project
        .query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{d}"
        ))
        .expect("volume");
    assert_eq!(vol["description"], "BOSH persistent disk of cf/pg/0");

    // The agent's side: hint, bind mount on /var/vcap/store, data.
    agent(&f, &vm1, &["add_persistent_disk", &d, &hint(&d)]).expect("add_persistent_disk");
    agent(&f, &vm1, &["mount_disk", &d]).expect("mount_disk");
    f.exec(
        &vm1,
        &["sh", "-c", "echo kept > /var/vcap/store/data && sync"],
    )
    .expect("write to the store");

    // In use: neither another VM nor delete_disk may take it.
    let e = fails(&f, "attach_disk", json!([vm2, d]));
    assert_eq!(e.kind, "Bosh::Clouds::CloudError");
    assert!(
        e.message.contains(&vm1) && e.message.contains(&d),
        "{}",
        e.message
    );
    invariant(&f, &vm2).expect("invariant vm2");
    let e = fails(&f, "delete_disk", json!([d]));
    assert!(
        e.message.contains("still attached to VM") && e.message.contains(&vm1),
        "{}",
        e.message
    );

    // The agent's unmount leaves the store bound; detach releases it.
    agent(&f, &vm1, &["unmount_disk", &d]).expect("unmount_disk");
    assert!(
        !volume_mounts(&f, &vm1, &d).expect("mounts").is_empty(),
        "store still bound"
    );
    let r = f
        .cpi
        .call("detach_disk", json!([vm1, d]))
        .expect("detach_disk");
    assert!(r.error.is_none(), "{:?}\n{}", r.error, r.stderr);
    assert!(
        r.stderr.contains("unmounted /var/vcap/store"),
        "log names the release:\n{}",
        r.stderr
    );
    assert_eq!(init_pid(&f, &vm1), pid, "detach restarted the container");
    assert!(invariant(&f, &vm1).expect("invariant").is_empty());
    assert_eq!(
        volume_mounts(&f, &vm1, &d).expect("mounts"),
        Vec::<String>::new()
    );
    assert!(
        !f.project
            .exec(&vm1, &["test", "-e", &hint(&d)])
            .expect("exec")
            .success(),
        "mount point left behind"
    );
    assert_eq!(
        f.cpi.ok("get_disks", json!([vm1])).expect("get_disks"),
        json!([])
    );
    let data =
        std::fs::read_to_string(volume_dir(&f, &d).join("data")).expect("data on the volume");
    assert_eq!(data.trim(), "kept");

    // Reattached elsewhere, the data is there.
    f.cpi
        .ok("attach_disk", json!([vm2, d]))
        .expect("attach to vm2");
    invariant(&f, &vm2).expect("invariant vm2");
    assert_eq!(
        f.exec(&vm2, &["cat", &format!("{}/data", hint(&d))])
            .expect("read")
            .trim(),
        "kept"
    );
    f.cpi
        .ok("detach_disk", json!([vm2, d]))
        .expect("detach from vm2");
    f.cpi
        .ok("detach_disk", json!([vm2, d]))
        .expect("detach again: not attached is fine");
    invariant(&f, &vm2).expect("invariant vm2");

    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
    assert_eq!(
        f.cpi.ok("has_disk", json!([d])).expect("has_disk"),
        json!(false)
    );
    f.cpi
        .ok("delete_disk", json!([d]))
        .expect("deleting a missing disk succeeds");
    let e = fails(&f, "attach_disk", json!([vm1, d]));
    assert_eq!(e.kind, "Bosh::Clouds::DiskNotFound", "{}", e.message);
    for v in [&vm1, &vm2] {
        f.cpi.ok("delete_vm", json!([v])).expect("delete_vm");
    }
}

#[test]
fn a_busy_store_is_refused_until_its_holder_exits() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let d = disk(&f, 32);
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("attach_disk");
    agent(&f, &vm, &["add_persistent_disk", &d, &hint(&d)]).expect("add_persistent_disk");
    agent(&f, &vm, &["mount_disk", &d]).expect("mount_disk");
    // A process with a file open on the store (its cwd is elsewhere).
    let holder = "cd / && setsid sh -c 'echo $$ > /run/holder.pid; exec sleep 600 3>/var/vcap/store/held' \
         </dev/null >/dev/null 2>&1 & sleep 0.5; cat /run/holder.pid";
    let pid = f.exec(&vm, &["sh", "-c", holder]).expect("start a holder");
    let pid = pid.trim().to_owned();
    agent(&f, &vm, &["unmount_disk", &d]).expect("unmount_disk");

    let e = fails(&f, "detach_disk", json!([vm, d]));
    assert_eq!(e.kind, "Bosh::Clouds::CloudError");
    assert!(e.ok_to_retry, "a busy disk is worth a retry");
    let held = format!("held by pid {pid} (sleep): fd 3 /var/vcap/store/held");
    for text in [held.as_str(), &d, &vm] {
        assert!(e.message.contains(text), "{text:?} missing: {}", e.message);
    }
    assert_eq!(
        invariant(&f, &vm).expect("invariant").len(),
        1,
        "still attached"
    );

    f.exec(&vm, &["kill", &pid]).expect("stop the holder");
    let proc_dir = format!("/proc/{pid}");
    bosh_lxd_tests::wait_for(
        "the holder to exit",
        std::time::Duration::from_secs(10),
        || Ok((!f.project.exec(&vm, &["test", "-d", &proc_dir])?.success()).then_some(())),
    )
    .expect("holder gone");
    f.cpi
        .ok("detach_disk", json!([vm, d]))
        .expect("detach after the holder exited");
    assert!(invariant(&f, &vm).expect("invariant").is_empty());
    assert!(volume_mounts(&f, &vm, &d).expect("mounts").is_empty());
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
}

#[test]
fn v1_answers_null_and_three_disks_share_a_vm() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let disks: Vec<String> = (0..3).map(|_| disk(&f, 32)).collect();
    for (i, d) in disks.iter().enumerate() {
        let r = f
            .cpi
            .call_v("attach_disk", json!([vm, d]), 1)
            .expect("attach v1");
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.result, Value::Null, "v1 callers get no hint");
        assert_eq!(invariant(&f, &vm).expect("invariant").len(), i + 1);
    }
    let mut sorted = disks.clone();
    sorted.sort();
    assert_eq!(
        f.cpi.ok("get_disks", json!([vm])).expect("get_disks"),
        json!(sorted)
    );

    // The director's migration shape: the old disk on the store, the new one mounted
    // beside it, then the old one detached.
    let (old, new) = (&disks[0], &disks[1]);
    for d in [old, new] {
        agent(&f, &vm, &["add_persistent_disk", d, &hint(d)]).expect("add_persistent_disk");
        agent(&f, &vm, &["mount_disk", d]).expect("mount_disk");
    }
    f.cpi
        .ok("detach_disk", json!([vm, old]))
        .expect("detach the old disk");
    assert!(volume_mounts(&f, &vm, old).expect("mounts").is_empty());
    assert!(
        !volume_mounts(&f, &vm, new).expect("mounts").is_empty(),
        "new disk kept"
    );
    let left = invariant(&f, &vm).expect("invariant");
    assert_eq!(left.len(), 2);
    assert!(!left.contains_key(old.as_str()));
    f.cpi
        .ok("delete_vm", json!([vm]))
        .expect("delete_vm with disks attached");
    for d in &disks {
        f.cpi
            .ok("delete_disk", json!([d]))
            .expect("delete_disk after delete_vm");
    }
}

#[test]
fn the_quota_holds_and_grows_with_resize() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let d = disk(&f, 32);
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("attach_disk");
    let write = |name: &str, mib: u32| {
        let script = format!(
            "dd if=/dev/zero of={}/{name} bs=1M count={mib} conv=fsync",
            hint(&d)
        );
        f.project.exec(&vm, &["sh", "-c", &script]).expect("exec")
    };
    let r = write("big", 48);
    assert!(!r.success(), "48 MiB fit on a 32 MiB disk: {r:?}");
    assert!(r.stderr.contains("quota"), "{r:?}");
    f.exec(&vm, &["rm", "-f", &format!("{}/big", hint(&d))])
        .expect("rm");

    f.cpi
        .ok("resize_disk", json!([d, 32]))
        .expect("same size is fine");
    let e = fails(&f, "resize_disk", json!([d, 16]));
    assert!(
        e.message.contains("32 MiB") && e.message.contains("16 MiB") && e.message.contains(&d),
        "{}",
        e.message
    );
    assert_eq!(
        volume_key(&f, &d, "size").expect("size"),
        "32MiB",
        "shrink changed nothing"
    );
    f.cpi.ok("resize_disk", json!([d, 96])).expect("grow");
    assert_eq!(volume_key(&f, &d, "size").expect("size"), "96MiB");
    let r = write("big", 48);
    assert!(
        r.success(),
        "48 MiB do not fit after growing to 96 MiB: {r:?}"
    );
    let r = write("bigger", 64);
    assert!(!r.success(), "the new quota is not enforced: {r:?}");

    assert_eq!(
        f.cpi
            .ok("update_disk", json!([d, 128, {}]))
            .expect("update_disk"),
        Value::Null,
        "updated in place"
    );
    assert_eq!(volume_key(&f, &d, "size").expect("size"), "128MiB");
    let e = fails(&f, "update_disk", json!([d, 128, {"pool": "default"}]));
    assert_eq!(e.kind, "Bosh::Clouds::NotSupported", "{}", e.message);
    invariant(&f, &vm).expect("invariant");
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    f.cpi.ok("delete_disk", json!([d])).expect("delete_disk");
}

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
fn a_volume_of_the_old_cpi_attaches_and_detaches() {
    let f = VmFixture::new().expect("fixture");
    // An old-CPI VM: device named after the volume, no key, no helper, no helper key.
    let old_vm = vm(&f, false);
    f.project
        .lxc_ok(&["config", "unset", &old_vm, "user.bosh.helper-version"])
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
    let before = invariant(&f, &vm).expect("invariant");

    // The settings file cannot be written: attach takes its PATCH back.
    immutable(&file, true).expect("chattr +i");
    let e = fails(&f, "attach_disk", json!([vm, d]));
    immutable(&file, false).expect("chattr -i");
    assert!(
        e.message.contains(&d) && e.message.contains(&vm),
        "{}",
        e.message
    );
    assert_eq!(
        invariant(&f, &vm).expect("invariant"),
        before,
        "attach not taken back"
    );
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
    let before = invariant(&f, &vm).expect("invariant");
    immutable(&file, true).expect("chattr +i");
    let e = fails(&f, "detach_disk", json!([vm, d]));
    immutable(&file, false).expect("chattr -i");
    assert!(
        e.message.contains(&d) && e.message.contains(&vm),
        "{}",
        e.message
    );
    assert_eq!(
        invariant(&f, &vm).expect("invariant"),
        before,
        "detach not taken back"
    );
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
            &format!("{vm}/var/vcap/bosh/warden-cpi-agent-env.json"),
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
