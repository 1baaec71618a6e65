//! The shim's rule table, with the agent's exact argv (run for real in `agent_real_disks.rs`).

use super::*;
use crate::mountinfo::parse;

const ROOTFS: &str = "592 570 254:0 /var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs / rw,relatime shared:240 - ext4 /dev/vda rw\n";
const DEVICE_A: &str = "420 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /warden-cpi-dev/disk-a rw,relatime shared:245 - ext4 /dev/vda rw\n";
const DEVICE_B: &str = "421 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-b /warden-cpi-dev/disk-b rw,relatime shared:246 - ext4 /dev/vda rw\n";
const STORE_A: &str = "399 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /var/vcap/store rw,relatime shared:245 - ext4 /dev/vda rw\n";
const MIGRATION_A: &str = "430 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /var/vcap/store_migration_target rw,relatime shared:245 - ext4 /dev/vda rw\n";
const MIGRATION_B: &str = "431 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-b /var/vcap/store_migration_target rw,relatime shared:246 - ext4 /dev/vda rw\n";
const DATA_LOG: &str = "500 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_eph-1/root_log /var/log rw,relatime shared:250 - ext4 /dev/vda rw\n";
const BTRFS_DEVICE: &str = "712 700 0:44 /custom/bosh_disk-b /warden-cpi-dev/disk-b rw,relatime shared:310 - btrfs /dev/loop0 rw,subvol=/custom/bosh_disk-b\n";
const BTRFS_STORE: &str = "720 700 0:44 /custom/bosh_disk-b /var/vcap/store rw,relatime shared:310 - btrfs /dev/loop0 rw,subvol=/custom/bosh_disk-b\n";

fn table(lines: &[&str]) -> MountTable {
    parse(lines.concat().as_bytes()).expect("mountinfo")
}

fn argv(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn rewrite(words: &[&str]) -> Vec<OsString> {
    argv(words)
}

fn unmount_first(targets: &[&str]) -> Vec<PathBuf> {
    targets.iter().map(PathBuf::from).collect()
}

#[test]
fn rule_table_with_the_agents_argv() {
    let store_a = table(&[ROOTFS, DEVICE_A, STORE_A, DATA_LOG]);
    let both = table(&[ROOTFS, DEVICE_A, STORE_A, MIGRATION_A]);
    let migrating = table(&[ROOTFS, DEVICE_A, DEVICE_B, STORE_A, MIGRATION_B]);
    let bare = table(&[ROOTFS, DEVICE_A]);
    let btrfs = table(&[ROOTFS, BTRFS_DEVICE, BTRFS_STORE]);
    let after_migration = table(&[ROOTFS, DEVICE_A, DEVICE_B, STORE_A]);
    enum Want {
        Pass,
        Rewrite(Vec<OsString>),
        UnmountFirst(Vec<PathBuf>),
        NoOp,
        Listing(&'static str, &'static str),
    }
    use Want::*;
    let cases: Vec<(&str, Tool, Vec<OsString>, &MountTable, Want)> = vec![
        (
            "SetupLogDir remount of /var/log (C)",
            Tool::Mount,
            argv(&[
                "mount", "", "/var/log", "-o", "remount", "-o", "nodev", "-o", "noexec", "-o",
                "nosuid",
            ]),
            &store_a,
            Rewrite(rewrite(&[
                "mount",
                "-o",
                "remount,bind,nodev,noexec,nosuid",
                "/var/log",
            ])),
        ),
        (
            "SetupHomeDir remount of /home",
            Tool::Mount,
            argv(&[
                "mount", "", "/home", "-o", "remount", "-o", "nodev", "-o", "nosuid",
            ]),
            &store_a,
            Rewrite(rewrite(&[
                "mount",
                "-o",
                "remount,bind,nodev,nosuid",
                "/home",
            ])),
        ),
        (
            "remount of /var/opt, called by full path",
            Tool::Mount,
            argv(&[
                "/var/vcap/bosh/bin/mount",
                "",
                "/var/opt",
                "-o",
                "remount",
                "-o",
                "nodev",
            ]),
            &store_a,
            Rewrite(rewrite(&[
                "/var/vcap/bosh/bin/mount",
                "-o",
                "remount,bind,nodev",
                "/var/opt",
            ])),
        ),
        (
            "remount that already says bind",
            Tool::Mount,
            argv(&["mount", "", "/var/log", "-o", "remount,bind,nodev"]),
            &store_a,
            Pass,
        ),
        (
            "remount with a real source",
            Tool::Mount,
            argv(&["mount", "/dev/x", "/mnt", "-o", "remount"]),
            &store_a,
            Pass,
        ),
        (
            "a job's own remount of /",
            Tool::Mount,
            argv(&["mount", "-o", "remount,ro", "/"]),
            &store_a,
            Pass,
        ),
        (
            "mount_disk's first bind (A.2)",
            Tool::Mount,
            argv(&[
                "mount",
                "/warden-cpi-dev/disk-a",
                "/var/vcap/store",
                "-o",
                "bind",
            ]),
            &bare,
            Pass,
        ),
        (
            "repeated mount_disk of the mounted disk",
            Tool::Mount,
            argv(&[
                "mount",
                "/warden-cpi-dev/disk-a",
                "/var/vcap/store_migration_target",
                "-o",
                "bind",
            ]),
            &store_a,
            NoOp,
        ),
        (
            "repeated mount_disk with mount options",
            Tool::Mount,
            argv(&[
                "mount",
                "/warden-cpi-dev/disk-a",
                "/var/vcap/store_migration_target",
                "-o",
                "noatime",
                "-o",
                "bind",
            ]),
            &store_a,
            NoOp,
        ),
        (
            "a second disk to the migration target",
            Tool::Mount,
            argv(&[
                "mount",
                "/warden-cpi-dev/disk-b",
                "/var/vcap/store_migration_target",
                "-o",
                "bind",
            ]),
            &after_migration,
            Pass,
        ),
        (
            "unmount_disk with store bound (A.4)",
            Tool::Umount,
            argv(&["umount", "/warden-cpi-dev/disk-a"]),
            &store_a,
            UnmountFirst(unmount_first(&["/var/vcap/store"])),
        ),
        (
            "unmount_disk with store and migration target bound",
            Tool::Umount,
            argv(&["umount", "/warden-cpi-dev/disk-a"]),
            &both,
            UnmountFirst(unmount_first(&[
                "/var/vcap/store_migration_target",
                "/var/vcap/store",
            ])),
        ),
        (
            "unmount_disk on a btrfs pool",
            Tool::Umount,
            argv(&["umount", "/warden-cpi-dev/disk-b"]),
            &btrfs,
            UnmountFirst(unmount_first(&["/var/vcap/store"])),
        ),
        (
            "unmount_disk of the old disk after migration: store holds the new one",
            Tool::Umount,
            argv(&["umount", "/warden-cpi-dev/disk-b"]),
            &after_migration,
            Pass,
        ),
        (
            "unmount_disk with nothing bound",
            Tool::Umount,
            argv(&["umount", "/warden-cpi-dev/disk-a"]),
            &bare,
            Pass,
        ),
        (
            "migrate_disk's umount of the store",
            Tool::Umount,
            argv(&["umount", "/var/vcap/store"]),
            &both,
            Pass,
        ),
        (
            "lazy umount by hand",
            Tool::Umount,
            argv(&["umount", "-l", "/warden-cpi-dev/disk-a"]),
            &store_a,
            Pass,
        ),
        (
            "umount of a path escaping the device dir",
            Tool::Umount,
            argv(&["umount", "/warden-cpi-dev/../var"]),
            &store_a,
            Pass,
        ),
        (
            "listing, no migration target",
            Tool::Mount,
            argv(&["mount"]),
            &store_a,
            Pass,
        ),
        (
            "listing during a migration",
            Tool::Mount,
            argv(&["mount"]),
            &migrating,
            Listing("/var/vcap/store_migration_target", "/warden-cpi-dev/disk-b"),
        ),
        (
            "listing with options",
            Tool::Mount,
            argv(&["mount", "-t", "ext4"]),
            &migrating,
            Pass,
        ),
        (
            "tmpfs by the agent",
            Tool::Mount,
            argv(&[
                "mount",
                "tmpfs",
                "/var/vcap/data/sys/run",
                "-t",
                "tmpfs",
                "-o",
                "size=16m",
            ]),
            &store_a,
            Pass,
        ),
        (
            "bind of a data dir (SetupLogDir)",
            Tool::Mount,
            argv(&["mount", "/var/vcap/data/root_log", "/var/log", "-o", "bind"]),
            &store_a,
            Pass,
        ),
    ];
    for (name, tool, call, mounts, want) in cases {
        let got = decide(tool, &call, Some(mounts));
        let uses_table = matches!(
            got,
            Decision::UnmountFirst { .. } | Decision::NoOp { .. } | Decision::Listing { .. }
        );
        assert!(
            !uses_table || needs_table(tool, &call),
            "case: {name}: the table would not be read"
        );
        match (want, &got) {
            (Pass, Decision::PassThrough) | (NoOp, Decision::NoOp { .. }) => {}
            (Rewrite(want), Decision::Rewrite { argv, .. }) => {
                assert_eq!(argv, &want, "case: {name}")
            }
            (UnmountFirst(want), Decision::UnmountFirst { targets, .. }) => {
                assert_eq!(targets, &want, "case: {name}")
            }
            (Listing(point, source), Decision::Listing { sources }) => {
                assert_eq!(
                    sources,
                    &vec![(PathBuf::from(point), source.to_string())],
                    "case: {name}"
                );
            }
            _ => panic!("case: {name}: got {got:?}"),
        }
    }
}

#[test]
fn without_a_mount_table_only_the_remount_rule_applies() {
    let remount = argv(&["mount", "", "/var/log", "-o", "remount", "-o", "nodev"]);
    assert!(
        matches!(
            decide(Tool::Mount, &remount, None),
            Decision::Rewrite { .. }
        ),
        "remount"
    );
    let umount = argv(&["umount", "/warden-cpi-dev/disk-a"]);
    assert_eq!(
        decide(Tool::Umount, &umount, None),
        Decision::PassThrough,
        "umount"
    );
    assert_eq!(
        decide(Tool::Mount, &argv(&["mount"]), None),
        Decision::PassThrough,
        "listing"
    );
}

#[test]
fn non_utf8_arguments_pass_through_untouched() {
    use std::os::unix::ffi::OsStringExt;
    let odd = OsString::from_vec(b"/mnt/\xff".to_vec());
    let call = vec![
        OsString::from("mount"),
        OsString::new(),
        odd,
        "-o".into(),
        "remount".into(),
    ];
    assert_eq!(
        decide(Tool::Mount, &call, Some(&table(&[ROOTFS]))),
        Decision::PassThrough
    );
}

#[test]
fn tool_from_argv0() {
    let cases = [
        ("mount", Some(Tool::Mount)),
        ("/var/vcap/bosh/bin/mount", Some(Tool::Mount)),
        ("umount", Some(Tool::Umount)),
        ("./umount", Some(Tool::Umount)),
        ("bosh-lxd-helper", None),
        ("mount.nfs", None),
    ];
    for (argv0, want) in cases {
        assert_eq!(Tool::from_argv0(OsStr::new(argv0)), want, "argv0 {argv0}");
    }
}

#[test]
fn listing_rewrite_touches_only_the_named_line() {
    let listing = b"/dev/vda on / type ext4 (rw,relatime)\n\
/dev/vda on /warden-cpi-dev/disk-b type ext4 (rw,relatime)\n\
/dev/vda on /var/vcap/store type ext4 (rw,relatime)\n\
/dev/vda on /var/vcap/store_migration_target type ext4 (rw,relatime)\n\
/dev/vda on /var/vcap/store_migration_target_x type ext4 (rw,relatime)";
    let sources = vec![(
        PathBuf::from(MIGRATION_TARGET),
        "/warden-cpi-dev/disk-b".to_string(),
    )];
    let got = String::from_utf8(rewrite_listing(listing, &sources)).expect("text");
    let want = "/dev/vda on / type ext4 (rw,relatime)\n\
/dev/vda on /warden-cpi-dev/disk-b type ext4 (rw,relatime)\n\
/dev/vda on /var/vcap/store type ext4 (rw,relatime)\n\
/warden-cpi-dev/disk-b on /var/vcap/store_migration_target type ext4 (rw,relatime)\n\
/dev/vda on /var/vcap/store_migration_target_x type ext4 (rw,relatime)";
    assert_eq!(got, want);
    assert_eq!(
        rewrite_listing(listing, &[]),
        listing.to_vec(),
        "no sources: byte for byte"
    );
}

#[test]
fn sub_path_binds_show_the_sub_path_as_source() {
    let sub = "432 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-b/data /var/vcap/store_migration_target rw - ext4 /dev/vda rw\n";
    let mounts = table(&[ROOTFS, DEVICE_B, sub]);
    let got = decide(Tool::Mount, &argv(&["mount"]), Some(&mounts));
    let want = Decision::Listing {
        sources: vec![(
            PathBuf::from(MIGRATION_TARGET),
            "/warden-cpi-dev/disk-b/data".to_string(),
        )],
    };
    assert_eq!(got, want);
}

#[test]
fn the_table_is_read_only_for_shapes_that_may_use_it() {
    let cases: [(&str, Tool, &[&str], bool); 7] = [
        ("listing", Tool::Mount, &["mount"], true),
        (
            "bind to the migration target",
            Tool::Mount,
            &[
                "mount",
                "/warden-cpi-dev/d",
                "/var/vcap/store_migration_target",
                "-o",
                "bind",
            ],
            true,
        ),
        (
            "unmount_disk",
            Tool::Umount,
            &["umount", "/warden-cpi-dev/d"],
            true,
        ),
        ("version", Tool::Mount, &["mount", "--version"], false),
        (
            "a job's tmpfs",
            Tool::Mount,
            &["mount", "-t", "tmpfs", "tmpfs", "/x"],
            false,
        ),
        (
            "umount of the store",
            Tool::Umount,
            &["umount", "/var/vcap/store"],
            false,
        ),
        (
            "remount",
            Tool::Mount,
            &["mount", "", "/var/log", "-o", "remount"],
            false,
        ),
    ];
    for (name, tool, words, want) in cases {
        assert_eq!(needs_table(tool, &argv(words)), want, "case: {name}");
    }
}
