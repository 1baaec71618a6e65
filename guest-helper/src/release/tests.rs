//! `release`'s answer to the CPI: the JSON line it prints on stdout and the exit code, for
//! what can be shown without mounting anything (the busy case runs in a real container:
//! `tests/tests/helper_disks.rs`).

use std::os::unix::fs::symlink;

use bosh_lxd_contract::release::{EXIT_BUSY, EXIT_FAILED, Holder, ReleaseResult, StuckMount};

use crate::paths::STORE;

use super::*;

/// A guest root whose mount table has the root filesystem and disk-a, nothing else.
fn guest_with_disk_a() -> (tempfile::TempDir, GuestRoot) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = GuestRoot::new(dir.path());
    let self_dir = root.host("/proc/self");
    std::fs::create_dir_all(self_dir.join("ns")).expect("mkdir");
    symlink("mnt:[4026531841]", self_dir.join("ns/mnt")).expect("ns link");
    std::fs::write(
        root.host(SELF_MOUNTINFO),
        "592 570 254:0 /containers/c1/rootfs / rw,relatime shared:240 - ext4 /dev/vda rw\n\
         420 592 254:0 /custom/p_disk-a /warden-cpi-dev/disk-a rw,relatime shared:245 - ext4 /dev/vda rw\n",
    )
    .expect("mountinfo");
    (dir, root)
}

/// What `report` printed, read back as the CPI reads it, and its exit code.
fn reported(cid: &str, result: Result<ReleaseResult>) -> (ReleaseResult, ExitCode) {
    let mut out = Vec::new();
    let code = report(cid, result, &mut out);
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    let parsed = ReleaseResult::from_stdout(text.as_bytes()).expect("a release result");
    (parsed.expect("not empty"), code)
}

#[test]
fn a_disk_that_is_not_mounted_prints_not_mounted_and_exits_0() {
    let (_dir, root) = guest_with_disk_a();
    let (result, code) = reported("disk-z", run(&root, "disk-z"));
    assert_eq!(result, ReleaseResult::NotMounted);
    assert_eq!(code, ExitCode::SUCCESS);
}

#[test]
fn a_bad_cid_prints_an_error_naming_it_and_exits_1() {
    let (_dir, root) = guest_with_disk_a();
    let (result, code) = reported("../x", run(&root, "../x"));
    let ReleaseResult::Error { message } = &result else {
        panic!("{result:?}");
    };
    assert!(message.contains("\"../x\" is not a disk cid"), "{message}");
    assert_eq!(code, ExitCode::from(EXIT_FAILED));
}

#[test]
fn an_unreadable_mount_table_is_an_error_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = GuestRoot::new(dir.path());
    let (result, code) = reported("disk-a", run(&root, "disk-a"));
    let ReleaseResult::Error { message } = &result else {
        panic!("{result:?}");
    };
    assert!(message.contains("mountinfo"), "{message}");
    assert_eq!(code, ExitCode::FAILURE);
}

#[test]
fn busy_prints_paths_and_holders_and_exits_2() {
    let busy = ReleaseResult::Busy {
        paths: vec![StuckMount {
            path: STORE.into(),
            namespace: "own".into(),
            error: "Device or resource busy".into(),
        }],
        holders: vec![Holder {
            pid: 9,
            command: "sh".into(),
            holds: vec!["fd 3 /var/vcap/store/f".into()],
        }],
    };
    let (result, code) = reported("disk-a", Ok(busy.clone()));
    assert_eq!(result, busy);
    assert_eq!(code, ExitCode::from(EXIT_BUSY));
}
