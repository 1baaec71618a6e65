//! The fixture stemcell itself: boots, and its stand-in agent behaves as the real agent does.
//!
//! `tests/fixtures/check-stemcell` drives a container from the fixture through the stand-in
//! agent's documented calls (settings, attach, mount_disk, unmount_disk, restarts, a stale
//! cid) in a project of its own that it always deletes.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::process::Command;

use bosh_lxd_tests::{project::fixture_stemcell, workspace_root};

#[test]
fn fixture_stemcell_boots_and_the_stand_in_agent_follows_the_real_agent() {
    bosh_lxd_tests::lxc::require_lxd().expect("LXD");
    let stemcell = fixture_stemcell().expect("fixture stemcell");
    let script = workspace_root().join("tests/fixtures/check-stemcell");
    let out = Command::new(&script)
        .arg(&stemcell)
        .output()
        .expect("run check-stemcell");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-stemcell failed:\n{stderr}");
    assert!(
        stderr.contains(" 0 failed"),
        "check-stemcell summary missing:\n{stderr}"
    );
}
