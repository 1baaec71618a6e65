//! End-to-end tests of `boot` against a fake guest tree (no mounts are made: the
//! cases here are the ones whose plan has no bind).

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::settings::AgentSettings;

const ROOTFS: &str = "592 570 254:0 /var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs / rw,relatime shared:240 - ext4 /dev/vda rw\n";

fn guest(managed: &str, settings: &str, mountinfo: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = GuestRoot::new(dir.path());
    for d in [
        "/var/vcap/bosh/log",
        "/var/vcap/data/sys/run",
        "/var/vcap/store",
        "/proc/self",
        "/warden-cpi-dev/disk-c",
    ] {
        std::fs::create_dir_all(root.host(d)).expect("mkdir");
    }
    std::fs::set_permissions(
        root.host("/var/vcap/data"),
        std::fs::Permissions::from_mode(0o711),
    )
    .expect("chmod");
    std::fs::write(root.host(MANAGED_DISK), managed).expect("write");
    std::fs::write(root.host(AGENT_SETTINGS), settings).expect("write");
    std::fs::write(root.host(SELF_MOUNTINFO), mountinfo).expect("write");
    dir
}

fn config(dir: &tempfile::TempDir) -> BootConfig {
    BootConfig {
        root: GuestRoot::new(dir.path()),
        wait: Duration::from_millis(200),
        api_timeout: Duration::from_secs(1),
        network: false,
    }
}

#[test]
fn stale_cid_is_emptied_and_data_dir_fixed() {
    let dir = guest("disk-gone", r#"{"disks":{"persistent":{}}}"#, ROOTFS);
    let cfg = config(&dir);
    let before = Instant::now();
    run(&cfg).expect("boot runs");
    assert!(
        before.elapsed() < Duration::from_secs(2),
        "nothing to wait for"
    );
    let root = &cfg.root;
    assert_eq!(
        std::fs::read(root.host(MANAGED_DISK)).expect("read"),
        b"",
        "stale cid emptied"
    );
    let PathState::Dir { mode, .. } = path_state(&root.host(DATA_DIR)) else {
        panic!("data dir")
    };
    assert_eq!(mode, 0o755, "data dir mode fixed");
    assert_eq!(
        path_state(&root.host(DATA_SYS_RUN)),
        PathState::Missing,
        "stale run dir removed"
    );
    run(&cfg).expect("second boot runs");
    assert_eq!(
        std::fs::read(root.host(MANAGED_DISK)).expect("read"),
        b"",
        "second run: still empty"
    );
}

#[test]
fn detached_while_stopped_is_not_bound_and_the_wait_is_bounded() {
    let settings = r#"{"disks":{"persistent":{"disk-c":"/warden-cpi-dev/disk-c"}}}"#;
    let dir = guest("disk-c", settings, ROOTFS);
    let cfg = config(&dir);
    let before = Instant::now();
    run(&cfg).expect("boot runs");
    let waited = before.elapsed();
    assert!(
        waited >= Duration::from_millis(200),
        "waited for the listed device: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(2),
        "but not longer than the bound: {waited:?}"
    );
    assert_eq!(
        std::fs::read(cfg.root.host(MANAGED_DISK)).expect("read"),
        b"disk-c",
        "cid kept"
    );
}

#[test]
fn missing_mountinfo_is_an_error_naming_it() {
    let dir = guest("", "{}", ROOTFS);
    std::fs::remove_file(dir.path().join("proc/self/mountinfo")).expect("rm");
    let err = run(&config(&dir)).expect_err("no mountinfo");
    assert!(
        format!("{err:#}").contains("proc/self/mountinfo"),
        "{err:#}"
    );
}

#[test]
fn expected_devices_prefer_the_keys() {
    let settings = Source::Parsed(AgentSettings {
        persistent: [("disk-s".to_string(), String::new())].into(),
        mount_options: vec![],
    });
    let keys: DiskMap = [
        ("disk-k".to_string(), String::new()),
        ("../x".to_string(), String::new()),
    ]
    .into();
    /// name, keys, settings, expected device paths
    type Case<'a> = (
        &'a str,
        Option<&'a DiskMap>,
        &'a Source<AgentSettings>,
        &'a [&'a str],
    );
    let cases: [Case; 3] = [
        (
            "keys readable",
            Some(&keys),
            &settings,
            &["/warden-cpi-dev/disk-k"],
        ),
        ("no guest API", None, &settings, &["/warden-cpi-dev/disk-s"]),
        ("nothing known", None, &Source::Missing, &[]),
    ];
    for (name, keys, settings, want) in cases {
        let got: Vec<String> = expected_devices(keys, settings).into_iter().collect();
        assert_eq!(got, want, "case: {name}");
    }
}
