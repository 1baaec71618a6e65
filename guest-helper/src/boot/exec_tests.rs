//! Executor tests: a recording fake for the calls, and the real file operations in a tempdir.

use std::os::unix::fs::MetadataExt;

use super::*;

#[derive(Debug, Default)]
struct Recorder {
    calls: Vec<String>,
    fail_on: Option<&'static str>,
}

impl Recorder {
    fn record(&mut self, call: String) -> Result<()> {
        let fail = self.fail_on.is_some_and(|f| call.starts_with(f));
        self.calls.push(call.clone());
        if fail {
            bail!("{call}: refused by the test");
        }
        Ok(())
    }
}

impl Ops for Recorder {
    fn create_dir(&mut self, path: &Path, mode: u32) -> Result<()> {
        self.record(format!("mkdir {mode:o} {}", path.display()))
    }
    fn set_mode(&mut self, path: &Path, mode: u32) -> Result<()> {
        self.record(format!("chmod {mode:o} {}", path.display()))
    }
    fn set_root_owner(&mut self, path: &Path) -> Result<()> {
        self.record(format!("chown {}", path.display()))
    }
    fn remove_empty_dir(&mut self, path: &Path) -> Result<()> {
        self.record(format!("rmdir {}", path.display()))
    }
    fn truncate(&mut self, path: &Path) -> Result<()> {
        self.record(format!("truncate {}", path.display()))
    }
    fn mount(&mut self, args: &[OsString]) -> Result<()> {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        self.record(format!("mount {}", args.join(" ")))
    }
}

#[test]
fn every_action_maps_to_its_call_under_the_root() {
    let plan = Plan {
        actions: vec![
            Action::SetMode {
                path: "/var/vcap/data",
                mode: 0o755,
            },
            Action::SetRootOwner {
                path: "/var/vcap/data",
            },
            Action::CreateDir {
                path: "/var/vcap/data/sys",
                mode: 0o750,
            },
            Action::RemoveEmptyDir {
                path: "/var/vcap/data/sys/run",
            },
            Action::EmptyManagedFile {
                cid: "disk-x".into(),
            },
            Action::BindStore {
                cid: "disk-a".into(),
                source: "/warden-cpi-dev/disk-a".into(),
                options: vec![],
            },
            Action::BindStore {
                cid: "disk-a".into(),
                source: "/warden-cpi-dev/disk-a".into(),
                options: vec!["noatime".into(), "nodev".into()],
            },
        ],
        notes: vec![],
    };
    let mut rec = Recorder::default();
    let failures = execute(&plan, &GuestRoot::new("/r"), &mut rec);
    assert_eq!(failures, 0);
    let want = [
        "chmod 755 /r/var/vcap/data",
        "chown /r/var/vcap/data",
        "mkdir 750 /r/var/vcap/data/sys",
        "rmdir /r/var/vcap/data/sys/run",
        "truncate /r/var/vcap/bosh/managed_disk_settings.json",
        // the agent's own argv shape: mount <hint> /var/vcap/store -o bind
        "mount /r/warden-cpi-dev/disk-a /r/var/vcap/store -o bind",
        "mount /r/warden-cpi-dev/disk-a /r/var/vcap/store -o noatime -o nodev -o bind",
    ];
    assert_eq!(rec.calls, want);
}

#[test]
fn a_failed_action_is_counted_and_the_rest_still_run() {
    let plan = Plan {
        actions: vec![
            Action::SetMode {
                path: "/var/vcap/data",
                mode: 0o755,
            },
            Action::BindStore {
                cid: "disk-a".into(),
                source: "/warden-cpi-dev/disk-a".into(),
                options: vec![],
            },
        ],
        notes: vec![],
    };
    let mut rec = Recorder {
        fail_on: Some("chmod"),
        ..Recorder::default()
    };
    assert_eq!(execute(&plan, &GuestRoot::default(), &mut rec), 1);
    assert_eq!(
        rec.calls.len(),
        2,
        "the bind ran after the chmod failed: {:?}",
        rec.calls
    );
}

#[test]
fn real_file_operations_in_a_tempdir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = GuestRoot::new(dir.path());
    std::fs::create_dir_all(root.host("/var/vcap/bosh")).expect("mkdir");
    std::fs::create_dir_all(root.host("/var/vcap/data/sys/run")).expect("mkdir");
    std::fs::set_permissions(
        root.host("/var/vcap/data"),
        std::fs::Permissions::from_mode(0o711),
    )
    .expect("chmod");
    std::fs::write(root.host(MANAGED_DISK), "disk-x").expect("write");
    let plan = Plan {
        actions: vec![
            Action::SetMode {
                path: "/var/vcap/data",
                mode: 0o755,
            },
            Action::RemoveEmptyDir {
                path: "/var/vcap/data/sys/run",
            },
            Action::EmptyManagedFile {
                cid: "disk-x".into(),
            },
        ],
        notes: vec![],
    };
    assert_eq!(execute(&plan, &root, &mut RealOps), 0);
    let mode = std::fs::metadata(root.host("/var/vcap/data"))
        .expect("stat")
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o755, "data dir mode");
    assert!(
        !root.host("/var/vcap/data/sys/run").exists(),
        "run dir removed"
    );
    assert_eq!(
        std::fs::read(root.host(MANAGED_DISK)).expect("read"),
        b"",
        "managed file emptied, kept"
    );
    // root can give files to root; others cannot, and then the error names the path
    let created = RealOps.create_dir(&root.host("/var/vcap/data/new"), 0o750);
    if nix::unistd::geteuid().is_root() {
        created.expect("mkdir as root");
        let meta = std::fs::metadata(root.host("/var/vcap/data/new")).expect("stat");
        assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o750, 0));
    } else {
        let err = created.expect_err("chown as non-root");
        assert!(format!("{err:#}").contains("var/vcap/data/new"), "{err:#}");
    }
    let err = RealOps
        .remove_empty_dir(&root.host("/var/vcap/nope"))
        .expect_err("missing");
    assert!(format!("{err:#}").contains("/var/vcap/nope"), "{err:#}");
}
