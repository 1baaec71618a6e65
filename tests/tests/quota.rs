//! Size limits that btrfs enforces through qgroups, through the built `cpi` binary: the
//! ephemeral disk's quota from `ephemeral_disk`, and a persistent disk's quota that holds and
//! grows with `resize_disk` / `update_disk` (shrinking is refused). These tests run in the
//! serial pass of `scripts/test`: the kernel stops counting usage while another test's
//! deleted volume leaves qgroup data inconsistent, so each one settles the qgroups first.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

mod cpi_disks_support;

use bosh_lxd_tests::TEST_POOL;
use bosh_lxd_tests::btrfs::settle_quota;
use bosh_lxd_tests::cpi::fixture::{VmFixture, ephemeral_of, manual_network, random_ip};
use cpi_disks_support::{disk, fails, hint, invariant, vm, volume_key};
use serde_json::{Value, json};

#[test]
fn ephemeral_disk_quota_holds_on_btrfs() {
    let f = VmFixture::new().expect("fixture");
    settle_quota().expect("settle the qgroups");
    let (vm, _) = f
        .create_vm(
            &VmFixture::agent_id(),
            json!({"ephemeral_disk": 64}),
            json!({"default": manual_network(&random_ip(), true)}),
            json!({}),
        )
        .expect("create_vm");
    let volume = f
        .project
        .query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{}",
            ephemeral_of(&vm)
        ))
        .expect("ephemeral volume");
    assert_eq!(volume["config"]["size"], "64MiB");
    f.exec(&vm, &["mountpoint", "/var/vcap/data"])
        .expect("exec");
    let small = f
        .project
        .exec(
            &vm,
            &[
                "dd",
                "if=/dev/zero",
                "of=/var/vcap/data/small",
                "bs=1M",
                "count=16",
                "conv=fsync",
            ],
        )
        .expect("exec");
    assert!(small.success(), "16 MiB under a 64 MiB quota: {small:?}");
    let big = f
        .project
        .exec(
            &vm,
            &[
                "dd",
                "if=/dev/zero",
                "of=/var/vcap/data/big",
                "bs=1M",
                "count=128",
                "conv=fsync",
            ],
        )
        .expect("exec");
    assert!(
        !big.success(),
        "128 MiB fit into a 64 MiB ephemeral disk: {big:?}"
    );
    assert!(big.stderr.contains("quota"), "dd failed otherwise: {big:?}");
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}

#[test]
fn the_quota_holds_and_grows_with_resize() {
    let f = VmFixture::new().expect("fixture");
    let vm = vm(&f, true);
    let d = disk(&f, 32);
    f.cpi
        .ok("attach_disk", json!([vm, d]))
        .expect("attach_disk");
    settle_quota().expect("settle the qgroups");
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
