//! Tests of the mountinfo parser against the shapes seen in LXD containers.

use super::*;

/// Lines seen in an LXD 5.0.2 container on a dir pool (a disk attached live).
pub(crate) const DIR_POOL: &str = "\
592 570 254:0 /var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs / rw,relatime shared:240 master:1 - ext4 /dev/vda rw
420 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /warden-cpi-dev/disk-a rw,relatime shared:245 - ext4 /dev/vda rw
399 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /var/vcap/store rw,relatime shared:245 - ext4 /dev/vda rw
";

/// The same layout on a btrfs pool: the volume is a subvolume of the pool's loop device.
/// The device and store lines are as `the real-container checks` printed them (LXD 5.0.2,
/// project `bosh-lxd-test-helper-fda2a8c0`); the rootfs line is constructed in that shape.
pub(crate) const BTRFS_POOL: &str = "\
89 70 0:44 /containers/bosh-lxd-test-helper-fda2a8c0_c1/rootfs / rw,relatime shared:40 master:2 - btrfs /dev/loop0 rw,discard=async,space_cache=v2,user_subvol_rm_allowed,subvolid=1500,subvol=/containers/bosh-lxd-test-helper-fda2a8c0_c1
78 89 0:44 /custom/bosh-lxd-test-helper-fda2a8c0_d1 /warden-cpi-dev/d1 rw,relatime shared:53 - btrfs /dev/loop0 rw,discard=async,space_cache=v2,user_subvol_rm_allowed,subvolid=1512,subvol=/custom/bosh-lxd-test-helper-fda2a8c0_d1
62 89 0:44 /custom/bosh-lxd-test-helper-fda2a8c0_d1 /var/vcap/store rw,relatime shared:53 - btrfs /dev/loop0 rw,discard=async,space_cache=v2,user_subvol_rm_allowed,subvolid=1512,subvol=/custom/bosh-lxd-test-helper-fda2a8c0_d1
";

#[test]
fn parses_every_field_of_the_dir_pool_lines() {
    let table = parse(DIR_POOL.as_bytes()).expect("dir pool lines parse");
    assert_eq!(table.mounts.len(), 3);
    let device = &table.mounts[1];
    assert_eq!(device.id, 420);
    assert_eq!(device.parent, 592);
    assert_eq!((device.major, device.minor), (254, 0));
    assert_eq!(
        device.root,
        Path::new("/var/lib/lxd/storage-pools/default/custom/bosh_disk-a")
    );
    assert_eq!(device.mount_point, Path::new("/warden-cpi-dev/disk-a"));
    assert_eq!(device.options, "rw,relatime");
    assert_eq!(device.optional, vec!["shared:245".to_string()]);
    assert_eq!(device.fs_type, "ext4");
    assert_eq!(device.source, "/dev/vda");
    assert_eq!(device.super_options, "rw");
    assert_eq!(
        table.mounts[0].optional,
        vec!["shared:240".to_string(), "master:1".to_string()]
    );
}

#[test]
fn bind_and_device_mount_share_the_volume_on_both_pools() {
    let cases = [
        ("dir", DIR_POOL, "/warden-cpi-dev/disk-a"),
        ("btrfs", BTRFS_POOL, "/warden-cpi-dev/d1"),
    ];
    for (name, text, device_path) in cases {
        let table = parse(text.as_bytes()).expect(name);
        let device = table.top(device_path).expect(name).volume();
        let store = table.top("/var/vcap/store").expect(name);
        let root = table.top("/").expect(name);
        assert!(
            device.covers(store),
            "{name}: store is a bind of the device mount"
        );
        assert!(!device.covers(root), "{name}: the rootfs is not the volume");
        assert_eq!(
            table.stacked_layers_of("/var/vcap/store", &device),
            1,
            "{name}"
        );
    }
}

#[test]
fn octal_escapes_are_undone() {
    let cases: [(&[u8], &[u8]); 6] = [
        (b"/a\\040b", b"/a b"),
        (b"/tab\\011x", b"/tab\tx"),
        (b"/nl\\012", b"/nl\n"),
        (b"/back\\134slash", b"/back\\slash"),
        (b"/short\\04", b"/short\\04"),
        (b"/not\\089octal", b"/not\\089octal"),
    ];
    for (raw, want) in cases {
        assert_eq!(
            unescape(raw),
            want,
            "case {:?}",
            String::from_utf8_lossy(raw)
        );
    }
    let line = b"30 1 0:50 / /var/vcap/my\\040dir rw - tmpfs tmpfs rw";
    let mount = parse_line(line).expect("escaped line parses");
    assert_eq!(mount.mount_point, Path::new("/var/vcap/my dir"));
    assert_eq!(mount.super_options, "rw");
}

#[test]
fn malformed_lines_are_errors_that_name_the_line() {
    let cases = [
        ("no separator", "1 2 3:4 / /x rw shared:1 ext4 /dev/x rw\n"),
        ("bad device", "1 2 x / /x rw - ext4 /dev/x rw\n"),
        ("bad id", "a 2 3:4 / /x rw - ext4 /dev/x rw\n"),
        ("too short", "1 2 3:4 / - ext4\n"),
    ];
    for (name, text) in cases {
        let err = parse(text.as_bytes()).expect_err(name);
        assert!(format!("{err:#}").contains("line 1"), "{name}: {err:#}");
    }
}

#[test]
fn stacked_layers_count_from_the_top_while_they_match() {
    let text = format!(
        "{DIR_POOL}\
401 399 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a/sub /var/vcap/store rw - ext4 /dev/vda rw
402 401 0:60 / /var/vcap/store rw - tmpfs tmpfs rw
"
    );
    let table = parse(text.as_bytes()).expect("stack parses");
    let device = table
        .top("/warden-cpi-dev/disk-a")
        .expect("device")
        .volume();
    assert_eq!(
        table.stacked_layers_of("/var/vcap/store", &device),
        0,
        "tmpfs on top hides the binds"
    );
    let without_tmpfs = MountTable {
        mounts: table.mounts[..4].to_vec(),
    };
    assert_eq!(
        without_tmpfs.stacked_layers_of("/var/vcap/store", &device),
        2,
        "two binds, one a sub-path"
    );
    assert!(table.is_mount_point("/var/vcap/store"));
    assert!(!table.is_mount_point("/var/vcap/store_migration_target"));
}

#[test]
fn read_names_the_file_it_failed_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("mountinfo");
    let err = MountTable::read(&missing).expect_err("missing file");
    assert!(
        format!("{err:#}").contains(&missing.display().to_string()),
        "{err:#}"
    );
    std::fs::write(&missing, DIR_POOL).expect("write");
    assert_eq!(MountTable::read(&missing).expect("reads").mounts.len(), 3);
}
