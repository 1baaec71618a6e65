//! Shared set-up of the LXD client integration tests: the test project and the busybox image.
//!
//! Each test makes its own project (images, profiles and volumes per project; root disk on
//! the btrfs pool, `eth0` on `boshbr0`) and a tiny busybox split image built on the fly,
//! whose metadata names the project so that no two projects share it; a guard deletes the
//! project and everything in it when the test ends, panics included, with every daemon
//! call bounded (`bosh_lxd_tests::cleanup`).
//!
//! A test process killed on a timeout never runs that guard, so the project is named and
//! marked for the ones who clean up after it: under `scripts/test`
//! (`BOSH_LXD_TEST_RUN_ID` set) it is `bosh-lxd-test-<run id>-lxdclient-<random>`, which
//! the run deletes when it ends; alone it is `bosh-lxd-test-lxdclient-<random>`. Either way
//! it carries its owner's marks (`user.bosh-lxd.owner-pid` and `owner-start`, as the
//! integration-test harness sets them), and `scripts/setup-host` deletes it once that
//! owner is gone.

// Each test binary uses only part of this module.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use cpi::lxd::{Client, ImageMetadata, InstanceSource, InstancesPost, Transport};

/// The daemon the tests use (`scripts/setup-host` starts it).
pub const LXD_URL: &str = "unix:///var/lib/lxd/unix.socket";
/// btrfs enforces volume sizes; dir would ignore them.
pub const POOL: &str = "btrfs";
/// The isolated bridge made by `scripts/setup-host`.
pub const BRIDGE: &str = "boshbr0";
/// Alias of the busybox image in every test project.
pub const ALIAS: &str = "bb";

/// Runs `lxc ARGS...`, failing the test with its stderr.
pub fn lxc(args: &[&str]) {
    let out = Command::new("lxc")
        .args(args)
        .output()
        .expect("running lxc");
    assert!(
        out.status.success(),
        "lxc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test's own LXD project; deleted with everything in it on drop.
pub struct TestProject {
    /// The project's name.
    pub name: String,
    /// A client scoped to the project.
    pub client: Client,
    _tmp: tempfile::TempDir,
    /// The busybox rootfs tarball, for more uploads.
    pub rootfs: PathBuf,
}

impl Drop for TestProject {
    fn drop(&mut self) {
        // Bounded: a daemon call that never returns is named on stderr and left to the
        // run's project sweep.
        bosh_lxd_tests::cleanup::delete_project(&self.name, "lxc");
    }
}

/// Connects (failing loudly when LXD is not there), creates the project, uploads
/// the busybox image with alias `bb`.
pub async fn setup() -> TestProject {
    // The client's debug logs, shown by the test runner when a test fails.
    // Already set by an earlier test of this process: keep that one.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_test_writer()
        .try_init()
        .ok();
    let probe = Client::new(Transport::from_url(LXD_URL).expect("url"), "default");
    if let Err(e) = probe.server().await {
        panic!("LXD is not reachable at {LXD_URL}: {e}. Run `sudo bash scripts/setup-host` first.");
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = project_name(
        std::env::var("BOSH_LXD_TEST_RUN_ID").ok().as_deref(),
        &id[..10],
    );
    let mut create = vec![
        "project",
        "create",
        &name,
        "-c",
        "features.images=true",
        "-c",
        "features.profiles=true",
        "-c",
        "features.storage.volumes=true",
    ];
    // Made with its owner's marks, so a set-up run never sees it unowned.
    let owner = owner_keys();
    for key in &owner {
        create.extend(["-c", key.as_str()]);
    }
    lxc(&create);
    let tmp = tempfile::tempdir().expect("tempdir");
    let rootfs = tmp.path().join("rootfs.tar.gz");
    let project = TestProject {
        client: Client::new(Transport::from_url(LXD_URL).expect("url"), name.clone()),
        name,
        _tmp: tmp,
        rootfs,
    };
    let (pool, net) = (format!("pool={POOL}"), format!("network={BRIDGE}"));
    let p = project.name.as_str();
    lxc(&[
        "profile",
        "device",
        "add",
        "default",
        "root",
        "disk",
        "path=/",
        &pool,
        "--project",
        p,
    ]);
    lxc(&[
        "profile",
        "device",
        "add",
        "default",
        "eth0",
        "nic",
        &net,
        "name=eth0",
        "--project",
        p,
    ]);
    write_busybox_rootfs(&project.rootfs);
    let upload = project
        .client
        .upload_split_image(
            project.metadata(1_700_000_000).tarball().expect("meta"),
            &project.rootfs,
            &BTreeMap::new(),
        )
        .await
        .expect("uploading busybox image");
    project
        .client
        .create_image_alias(ALIAS, &upload.fingerprint, "busybox")
        .await
        .expect("alias");
    project
}

/// The test project's name: `bosh-lxd-test-<run id>-lxdclient-<suffix>` within a
/// `scripts/test` run, else `bosh-lxd-test-lxdclient-<suffix>`.
pub fn project_name(run_id: Option<&str>, suffix: &str) -> String {
    match run_id {
        Some(run) if !run.is_empty() => format!("bosh-lxd-test-{run}-lxdclient-{suffix}"),
        _ => format!("bosh-lxd-test-lxdclient-{suffix}"),
    }
}

/// The owner marks of a test project, as `KEY=VALUE`: `user.bosh-lxd.owner-pid`, the
/// `scripts/test` run (`BOSH_LXD_TEST_OWNER_PID`) or else this test process, and
/// `user.bosh-lxd.owner-start`, that process's start time (field 22 of `/proc/PID/stat`),
/// so that a reused PID does not keep the project. Same keys as the integration-test
/// harness (`tests/src/project.rs`) and `scripts/lib/lxd.sh` (`owner_keys`).
pub fn owner_keys() -> Vec<String> {
    let pid = match std::env::var("BOSH_LXD_TEST_OWNER_PID") {
        Ok(pid) if !pid.is_empty() => pid
            .parse::<u32>()
            .unwrap_or_else(|_| panic!("BOSH_LXD_TEST_OWNER_PID={pid} is not a process id")),
        _ => std::process::id(),
    };
    let mut keys = vec![format!("user.bosh-lxd.owner-pid={pid}")];
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Field 2, the command name, may hold spaces and parentheses: count after its last ')'.
    let start = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(22 - 3));
    if let Some(start) = start {
        keys.push(format!("user.bosh-lxd.owner-start={start}"));
    }
    keys
}

impl TestProject {
    /// The busybox image's metadata in this project. It names the project, so every test
    /// project's image has a fingerprint of its own: the daemon shares one image file
    /// between projects, and a delete in one project can remove it under another's import
    /// (`docs/decisions.md` §7).
    pub fn metadata(&self, creation_date: i64) -> ImageMetadata {
        ImageMetadata {
            architecture: "x86_64".to_owned(),
            creation_date,
            properties: BTreeMap::from([
                ("os".to_owned(), "busybox".to_owned()),
                ("test_project".to_owned(), self.name.clone()),
            ]),
        }
    }
}

/// bin/busybox with a few applet links, sbin/init, and an inittab that just sleeps.
fn write_busybox_rootfs(path: &Path) {
    let file = std::fs::File::create(path).expect("rootfs file");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let dir = |tar: &mut tar::Builder<_>, name: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        tar.append_data(&mut h, name, std::io::empty())
            .expect("dir");
    };
    for d in ["bin", "sbin", "etc", "var", "tmp", "proc", "sys", "dev"] {
        dir(&mut tar, d);
    }
    tar.append_path_with_name("/bin/busybox", "bin/busybox")
        .expect("busybox");
    let mut link = |name: &str, target: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        tar.append_link(&mut h, name, target).expect("link");
    };
    for applet in ["sh", "sleep", "true", "cat", "echo", "grep", "stat"] {
        link(&format!("bin/{applet}"), "busybox");
    }
    link("sbin/init", "../bin/busybox");
    let inittab = b"::sysinit:/bin/true\n::respawn:/bin/sleep 2147483647\n";
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(inittab.len() as u64);
    tar.append_data(&mut h, "etc/inittab", &inittab[..])
        .expect("inittab");
    let mut gz = tar.into_inner().expect("tar");
    gz.flush().expect("flush");
    gz.finish().expect("gzip");
}

pub fn instance(name: &str) -> InstancesPost {
    let mut req = InstancesPost::container(name, InstanceSource::image_alias(ALIAS));
    req.config
        .insert("user.bosh.managed-by".to_owned(), "bosh-lxd-cpi".to_owned());
    req
}
