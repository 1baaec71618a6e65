//! The test pool's btrfs quota groups: settling them before a test that relies on a limit.
//!
//! btrfs enforces a volume's size through its qgroup, and the kernel stops counting new
//! data while qgroup data is inconsistent or a rescan is running (quota just enabled, or
//! a deleted volume whose qgroup still had numbers). Writes then pass any limit until a
//! rescan completes. The quota tests run in the serial pass and call [`settle_quota`]
//! first, so no other test deletes volumes while they write.

use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::TEST_POOL;

/// Where LXD mounts the test pool on the host.
pub fn pool_mount() -> String {
    format!("{}/storage-pools/{TEST_POOL}", crate::daemon().dir)
}

/// Runs a full qgroup rescan of the test pool and waits for it, so usage is counted and
/// limits hold from here on.
pub fn settle_quota() -> Result<()> {
    let mount = pool_mount();
    let out = Command::new("btrfs")
        .args(["quota", "rescan", "-w", &mount])
        .output()
        .context("running btrfs (scripts/setup-host installs btrfs-progs)")?;
    ensure!(
        out.status.success(),
        "btrfs quota rescan -w {mount} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}
