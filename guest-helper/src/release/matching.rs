//! Which mounts of a mount table belong to the volume of disk `<cid>`: the same device
//! and root as LXD's device mount at `/warden-cpi-dev/<cid>` (or below it), or, once
//! that mount is gone, a root naming the volume: `.../custom/<project>_<cid>[/...]`
//! (dir pool: the host path; btrfs: the subvolume path).

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use crate::mountinfo::{MountInfo, MountTable, VolumeId};
use crate::paths::disk_device_path;

/// The volume of `cid` as the device mount in `table` shows it, if mounted there.
pub fn device_volume(cid: &str, table: &MountTable) -> Option<VolumeId> {
    table.top(disk_device_path(cid)).map(MountInfo::volume)
}

/// Whether `root` is the volume of `cid`, or a path inside it, by name: a `custom`
/// component followed by `<project>_<cid>` with a non-empty project.
pub fn root_names_volume(cid: &str, root: &Path) -> bool {
    let names: Vec<&OsStr> = root
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let suffix = format!("_{cid}");
    names.windows(2).any(|pair| {
        pair[0] == "custom"
            && pair[1]
                .to_str()
                .is_some_and(|name| name.len() > suffix.len() && name.ends_with(&suffix))
    })
}

/// Whether `mount` shows the volume of `cid`.
pub fn is_volume_mount(cid: &str, device: Option<&VolumeId>, mount: &MountInfo) -> bool {
    device.is_some_and(|d| d.covers(mount)) || root_names_volume(cid, &mount.root)
}

/// The mount points to unmount, in a safe order: newest first, so that stacked layers
/// and mounts made inside other mounts go before what they sit on.
pub fn targets(cid: &str, device: Option<&VolumeId>, table: &MountTable) -> Vec<PathBuf> {
    table
        .mounts
        .iter()
        .rev()
        .filter(|m| is_volume_mount(cid, device, m))
        .map(|m| m.mount_point.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::parse;

    const TABLE: &str = "\
592 570 254:0 /var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs / rw - ext4 /dev/vda rw
420 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /warden-cpi-dev/disk-a rw - ext4 /dev/vda rw
399 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /var/vcap/store rw - ext4 /dev/vda rw
430 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a /var/vcap/store_migration_target rw - ext4 /dev/vda rw
431 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-a/pg /var/vcap/jobs-data rw - ext4 /dev/vda rw
440 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_disk-ab /warden-cpi-dev/disk-ab rw - ext4 /dev/vda rw
441 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_eph-1/root_log /var/log rw - ext4 /dev/vda rw
450 592 254:0 /var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs/warden-cpi-dev/disk-c /var/vcap/store2 rw - ext4 /dev/vda rw
";

    #[test]
    fn volume_names_in_roots() {
        let cases = [
            (
                "dir pool volume root",
                "/var/lib/lxd/storage-pools/default/custom/bosh_disk-a",
                true,
            ),
            (
                "sub-path of the volume",
                "/var/lib/lxd/storage-pools/default/custom/bosh_disk-a/pg/data",
                true,
            ),
            ("btrfs subvolume", "/custom/bosh_disk-a", true),
            ("another project", "/custom/other_disk-a", true),
            ("longer cid", "/custom/bosh_disk-ab", false),
            ("no project", "/custom/_disk-a", false),
            ("bare cid", "/custom/disk-a", false),
            ("not under custom", "/containers/bosh_disk-a", false),
            (
                "the rootfs dir left by a stopped detach",
                "/var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs/warden-cpi-dev/disk-a",
                false,
            ),
        ];
        for (name, root, want) in cases {
            assert_eq!(
                root_names_volume("disk-a", Path::new(root)),
                want,
                "case: {name}"
            );
        }
    }

    #[test]
    fn targets_with_and_without_the_device_mount() {
        let table = parse(TABLE.as_bytes()).expect("table");
        let want_all = [
            "/var/vcap/jobs-data",
            "/var/vcap/store_migration_target",
            "/var/vcap/store",
            "/warden-cpi-dev/disk-a",
        ];
        let device = device_volume("disk-a", &table);
        assert!(device.is_some(), "device mount found");
        let got = targets("disk-a", device.as_ref(), &table);
        assert_eq!(got, want_all.map(PathBuf::from), "with the device mount");
        // after the agent's unmount_disk removed the device mount
        let mut without = table.clone();
        without.mounts.retain(|m| m.id != 420);
        assert_eq!(device_volume("disk-a", &without), None);
        let got = targets("disk-a", None, &without);
        assert_eq!(
            got,
            want_all[..3].iter().map(PathBuf::from).collect::<Vec<_>>(),
            "by name only"
        );
        assert_eq!(
            targets("disk-x", None, &table),
            Vec::<PathBuf>::new(),
            "unknown disk"
        );
    }

    #[test]
    fn btrfs_binds_match_by_device_and_root() {
        let text = "\
700 680 0:44 /containers/bosh_vm-1/rootfs / rw - btrfs /dev/loop0 rw,subvol=/containers/bosh_vm-1
712 700 0:44 /custom/bosh_disk-b /warden-cpi-dev/disk-b rw - btrfs /dev/loop0 rw,subvol=/custom/bosh_disk-b
720 700 0:44 /custom/bosh_disk-b /var/vcap/store rw - btrfs /dev/loop0 rw,subvol=/custom/bosh_disk-b
";
        let table = parse(text.as_bytes()).expect("table");
        let device = device_volume("disk-b", &table);
        let got = targets("disk-b", device.as_ref(), &table);
        assert_eq!(
            got,
            vec![
                PathBuf::from("/var/vcap/store"),
                PathBuf::from("/warden-cpi-dev/disk-b")
            ]
        );
    }
}
