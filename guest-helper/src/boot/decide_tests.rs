//! The boot decision table: one row per situation a restarted container can be in.

use super::*;
use crate::mountinfo::parse;

pub(super) const ROOTFS: &str = "592 570 254:0 /var/lib/lxd/storage-pools/default/containers/bosh_vm-1/rootfs / rw,relatime shared:240 - ext4 /dev/vda rw\n";

pub(super) fn device_line(id: u32, cid: &str) -> String {
    format!(
        "{id} 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_{cid} /warden-cpi-dev/{cid} rw,relatime shared:{id} - ext4 /dev/vda rw\n"
    )
}

pub(super) fn store_line(cid: &str) -> String {
    format!(
        "900 592 254:0 /var/lib/lxd/storage-pools/default/custom/bosh_{cid} /var/vcap/store rw,relatime shared:1 - ext4 /dev/vda rw\n"
    )
}

pub(super) fn map(cids: &[&str]) -> DiskMap {
    cids.iter()
        .map(|c| (c.to_string(), disk_device_path(c)))
        .collect()
}

pub(super) fn dir(mode: u32, uid: u32) -> PathState {
    PathState::Dir {
        mode,
        uid,
        gid: uid,
        empty: true,
    }
}

/// A container whose data layout is already right, with `attached` devices mounted
/// and listed everywhere, and the agent's last disk `managed`.
pub(super) fn snapshot(managed: Option<&str>, attached: &[&str]) -> Snapshot {
    let mut text = ROOTFS.to_string();
    for (i, cid) in attached.iter().enumerate() {
        text.push_str(&device_line(600 + u32::try_from(i).expect("few"), cid));
    }
    Snapshot {
        managed: managed.map_or(ManagedCid::Missing, |c| ManagedCid::Cid(c.to_string())),
        settings: Source::Parsed(AgentSettings {
            persistent: map(attached),
            mount_options: vec![],
        }),
        hints: Source::Parsed(map(attached)),
        keys: Some(map(attached)),
        mounts: parse(text.as_bytes()).expect("mountinfo"),
        data_dir: dir(0o755, 0),
        data_sys: dir(0o750, 0),
        data_sys_run: PathState::Missing,
        store: dir(0o700, 0),
    }
}

pub(super) fn bind(cid: &str) -> Action {
    Action::BindStore {
        cid: cid.into(),
        source: disk_device_path(cid),
        options: vec![],
    }
}

pub(super) fn empty(cid: &str) -> Action {
    Action::EmptyManagedFile { cid: cid.into() }
}

#[test]
fn disk_decision_table() {
    let settings_only = |mut s: Snapshot, cids: &[&str]| {
        s.settings = Source::Parsed(AgentSettings {
            persistent: map(cids),
            mount_options: vec![],
        });
        s
    };
    let cases: Vec<(&str, Snapshot, Vec<Action>)> = vec![
        (
            "attached and last mounted",
            snapshot(Some("disk-a"), &["disk-a"]),
            vec![bind("disk-a")],
        ),
        (
            "attached but never mounted by the agent",
            snapshot(None, &["disk-b"]),
            vec![],
        ),
        (
            "attached but not the last mounted one",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-b"]);
                s.hints = Source::Parsed(map(&["disk-a", "disk-b"]));
                s
            },
            vec![],
        ),
        (
            "last mounted but detached live, still in settings",
            settings_only(snapshot(Some("disk-a"), &[]), &["disk-a"]),
            vec![],
        ),
        (
            "detached while stopped: an empty directory, not a mount point",
            {
                let mut s = settings_only(snapshot(Some("disk-c"), &[]), &["disk-c"]);
                s.keys = Some(DiskMap::new());
                s
            },
            vec![],
        ),
        (
            "stale cid: in neither settings nor hints",
            snapshot(Some("disk-a"), &[]),
            vec![empty("disk-a")],
        ),
        (
            "stale cid even though a device of that name is mounted",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-a"]);
                s.settings = Source::Missing;
                s.hints = Source::Parsed(DiskMap::new());
                s
            },
            vec![empty("disk-a")],
        ),
        (
            "two disks during migration: the new one is the last mounted",
            snapshot(Some("disk-b"), &["disk-a", "disk-b"]),
            vec![bind("disk-b")],
        ),
        (
            "already mounted: nothing, not even the stale check",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-a"]);
                s.mounts = parse(
                    format!(
                        "{ROOTFS}{}{}",
                        device_line(600, "disk-a"),
                        store_line("disk-a")
                    )
                    .as_bytes(),
                )
                .expect("mountinfo");
                s.settings = Source::Missing;
                s.hints = Source::Missing;
                s
            },
            vec![],
        ),
        (
            "store dir missing: created like the agent does, then bound",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-a"]);
                s.store = PathState::Missing;
                s
            },
            vec![
                Action::CreateDir {
                    path: STORE,
                    mode: 0o700,
                },
                bind("disk-a"),
            ],
        ),
        (
            "store is a file: not bound",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-a"]);
                s.store = PathState::Other;
                s
            },
            vec![],
        ),
    ];
    for (name, snap, want) in cases {
        assert_eq!(decide(&snap).actions, want, "case: {name}");
    }
}

#[test]
fn corrupt_and_empty_files() {
    fn corrupt<T>() -> Source<T> {
        Source::Corrupt("x: not JSON".to_string())
    }
    let cases: Vec<(&str, Snapshot, Vec<Action>, &str)> = vec![
        (
            "managed file empty",
            {
                let mut s = snapshot(None, &["disk-a"]);
                s.managed = ManagedCid::Empty;
                s
            },
            vec![],
            "is empty",
        ),
        (
            "managed file corrupt",
            {
                let mut s = snapshot(None, &["disk-a"]);
                s.managed = ManagedCid::Corrupt("\"disk-a\" is not a disk cid".into());
                s
            },
            vec![],
            "unusable",
        ),
        (
            "settings corrupt, hints list the cid: bound",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-a"]);
                s.settings = corrupt();
                s
            },
            vec![bind("disk-a")],
            "",
        ),
        (
            "settings corrupt, hints missing, attached: bound, file kept",
            {
                let mut s = snapshot(Some("disk-a"), &["disk-a"]);
                s.settings = corrupt();
                s.hints = Source::Missing;
                s
            },
            vec![bind("disk-a")],
            "cannot tell whether disk-a is stale",
        ),
        (
            "hints corrupt, not attached: file kept, nothing bound",
            {
                let mut s = snapshot(Some("disk-a"), &[]);
                s.hints = corrupt();
                s
            },
            vec![],
            "persistent_disk_hints.json unreadable",
        ),
    ];
    for (name, snap, want, note) in cases {
        let plan = decide(&snap);
        assert_eq!(plan.actions, want, "case: {name}");
        assert!(
            plan.notes.iter().any(|n| n.text.contains(note)),
            "case: {name}: notes {:?}",
            plan.notes
        );
    }
}

#[test]
fn mount_options_from_settings_are_passed_on() {
    let mut s = snapshot(Some("disk-a"), &["disk-a"]);
    s.settings = Source::Parsed(AgentSettings {
        persistent: map(&["disk-a"]),
        mount_options: vec!["noatime".into()],
    });
    let want = Action::BindStore {
        cid: "disk-a".into(),
        source: "/warden-cpi-dev/disk-a".into(),
        options: vec!["noatime".into()],
    };
    assert_eq!(decide(&s).actions, vec![want]);
}

#[test]
fn deciding_twice_after_acting_changes_nothing() {
    let mut s = snapshot(Some("disk-a"), &["disk-a"]);
    s.data_dir = dir(0o711, 0);
    assert_eq!(decide(&s).actions.len(), 2, "first boot: chmod and bind");
    s.data_dir = dir(0o755, 0);
    s.mounts = parse(
        format!(
            "{ROOTFS}{}{}",
            device_line(600, "disk-a"),
            store_line("disk-a")
        )
        .as_bytes(),
    )
    .expect("mountinfo");
    assert_eq!(decide(&s).actions, vec![], "second boot: nothing");
}
