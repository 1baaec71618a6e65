//! Test harness for bosh-lxd integration tests: the run's LXD project, the fixture image, exec.
//!
//! Every integration test talks to the real LXD daemon through the `lxc` client (or to
//! Incus through `incus`, see [`daemon`]). A run
//! (`scripts/test`) owns one project, `bosh-lxd-test-<run id>`, passed to the test
//! processes in `BOSH_LXD_TEST_RUN_ID`; `scripts/test` deletes it when the run ends, and
//! `scripts/setup-host` deletes any left by a killed run. A test started without the
//! wrapper gets a project of its own that is deleted when its [`Project`] is dropped.

pub mod agent;
pub mod btrfs;
pub mod built;
pub mod cleanup;
pub mod cpi;
pub mod create_env;
pub mod daemon;
pub mod daemon_control;
pub mod doctor;
pub mod exec;
pub mod helper;
pub mod https;
pub mod lxc;
pub mod project;
pub mod repacked;
pub mod tools;
pub mod yaml;

pub use daemon::daemon;
pub use lxc::{ExecResult, lxc, lxc_ok, wait_for};
pub use project::{Project, fixture_image};

/// Prefix of every project a test run creates; `scripts/setup-host` sweeps them.
pub const PROJECT_PREFIX: &str = "bosh-lxd-test-";
/// The unix socket of the LXD daemon (LXD-only tests; others use [`daemon::daemon`]).
pub const LXD_SOCKET: &str = "/var/lib/lxd/unix.socket";
/// Storage pool the tests use: btrfs enforces volume sizes, dir ignores them.
pub const TEST_POOL: &str = "btrfs";
/// The isolated bridge `scripts/setup-host` created for LXD (Incus has its own:
/// [`daemon::Daemon::bridge`]).
pub const TEST_BRIDGE: &str = "boshbr0";

/// Whether an instance's `status` means it runs: LXD says `Running`; Incus says `Ready`
/// once the guest has signalled readiness on its guest API, which the helper's `boot` does
/// (the CPI counts both as running too).
pub fn is_running(status: &serde_json::Value) -> bool {
    matches!(status.as_str(), Some("Running" | "Ready"))
}

/// The workspace root (the tests crate lives in `<root>/tests`).
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}
