//! Persistent disks through the built `cpi` binary against real LXD (btrfs pool): a live
//! attach that the stand-in agent mounts, a detach that the guest helper releases, the data
//! surviving on the volume and showing up on another VM, a busy disk refused until its
//! holder exits, the errors for disks in use, v1 answers and three disks on one VM (the
//! director's migration shape). After every call: settings file == keys == devices.
//! Sizes, snapshots and pools: `cpi_disks_storage.rs`; injected failures, a VM without the
//! helper and the old CPI's volumes: `cpi_disks_failures.rs`; races:
//! `cpi_disks_concurrency.rs`.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod cpi_disks_support;

use bosh_lxd_tests::TEST_POOL;
use bosh_lxd_tests::cpi::fixture::VmFixture;
use cpi_disks_support::{
    agent, disk, fails, hint, init_pid, invariant, vm, volume_dir, volume_key, volume_mounts,
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
    // A process with a file open on the store (its cwd is elsewhere), started in the
    // background; the test goes on once the file is open.
    let holder = "cd / && rm -f /run/holder.pid && setsid sh -c 'echo $$ > /run/holder.pid; \
         exec sleep 600 3>/var/vcap/store/held' </dev/null >/dev/null 2>&1 &";
    f.exec(&vm, &["sh", "-c", holder]).expect("start a holder");
    let pid = bosh_lxd_tests::wait_for(
        "the holder to open /var/vcap/store/held",
        std::time::Duration::from_secs(10),
        || {
            let probe = "p=$(cat /run/holder.pid 2>/dev/null) && \
                 [ \"$(readlink /proc/$p/fd/3)\" = /var/vcap/store/held ] && echo $p";
            let out = f.exec(&vm, &["sh", "-c", probe]).unwrap_or_default();
            Ok((!out.trim().is_empty()).then(|| out.trim().to_owned()))
        },
    )
    .expect("holder started");
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
