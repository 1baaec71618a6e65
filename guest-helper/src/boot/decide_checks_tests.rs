//! The boot decision, part two: the `/var/vcap/data` layout and the cross-check of
//! devices, keys and settings (shared fixtures live in the disk-table tests).

use super::tests::{ROOTFS, dir, map, snapshot};
use super::*;
use crate::mountinfo::parse;

#[test]
fn data_layout_table() {
    let run_mounted =
        format!("{ROOTFS}700 592 0:70 / /var/vcap/data/sys/run rw - tmpfs tmpfs rw\n");
    /// name, data dir, sys, sys/run, mount table, expected actions
    type Case<'a> = (
        &'a str,
        PathState,
        PathState,
        PathState,
        &'a str,
        Vec<Action>,
    );
    let cases: Vec<Case> = vec![
        (
            "already right",
            dir(0o755, 0),
            dir(0o750, 0),
            PathState::Missing,
            ROOTFS,
            vec![],
        ),
        (
            "LXD volume root 0711",
            dir(0o711, 0),
            dir(0o750, 0),
            PathState::Missing,
            ROOTFS,
            vec![Action::SetMode {
                path: DATA_DIR,
                mode: 0o755,
            }],
        ),
        (
            "owned by a shifted uid",
            dir(0o755, 1000),
            dir(0o750, 0),
            PathState::Missing,
            ROOTFS,
            vec![Action::SetRootOwner { path: DATA_DIR }],
        ),
        (
            "fresh volume",
            PathState::Missing,
            PathState::Missing,
            PathState::Missing,
            ROOTFS,
            vec![
                Action::CreateDir {
                    path: DATA_DIR,
                    mode: 0o755,
                },
                Action::CreateDir {
                    path: DATA_SYS,
                    mode: 0o750,
                },
            ],
        ),
        (
            "stale empty run directory from the last boot",
            dir(0o755, 0),
            dir(0o750, 0),
            dir(0o750, 0),
            ROOTFS,
            vec![Action::RemoveEmptyDir { path: DATA_SYS_RUN }],
        ),
        (
            "run directory holds files: left alone",
            dir(0o755, 0),
            dir(0o750, 0),
            PathState::Dir {
                mode: 0o750,
                uid: 0,
                gid: 0,
                empty: false,
            },
            ROOTFS,
            vec![],
        ),
        (
            "run is the agent's tmpfs already",
            dir(0o755, 0),
            dir(0o750, 0),
            dir(0o750, 0),
            &run_mounted,
            vec![],
        ),
        (
            "data is a file",
            PathState::Other,
            PathState::Missing,
            PathState::Missing,
            ROOTFS,
            vec![],
        ),
    ];
    for (name, data, sys, run, mounts, want) in cases {
        let mut s = snapshot(None, &[]);
        s.data_dir = data;
        s.data_sys = sys;
        s.data_sys_run = run;
        s.mounts = parse(mounts.as_bytes()).expect("mountinfo");
        assert_eq!(decide(&s).actions, want, "case: {name}");
    }
}

#[test]
fn cross_check_logs_each_disagreement() {
    let cases: Vec<(&str, Snapshot, &[&str])> = vec![
        ("all agree", snapshot(Some("disk-a"), &["disk-a"]), &[]),
        (
            "key set, device missing",
            {
                let mut s = snapshot(None, &[]);
                s.keys = Some(map(&["disk-a"]));
                s
            },
            &[
                "user.bosh.disk.disk-a is set but /warden-cpi-dev/disk-a is not a mount point",
                "disks.persistent does not list disk-a",
            ],
        ),
        (
            "device mounted, no key",
            {
                let mut s = snapshot(None, &["disk-a"]);
                s.keys = Some(DiskMap::new());
                s
            },
            &[
                "/warden-cpi-dev/disk-a is mounted but user.bosh.disk.disk-a is not set",
                "disks.persistent lists disk-a but",
            ],
        ),
        (
            "key with another path",
            {
                let mut s = snapshot(None, &["disk-a"]);
                s.keys = Some([("disk-a".to_string(), "/elsewhere".to_string())].into());
                s
            },
            &["user.bosh.disk.disk-a is \"/elsewhere\""],
        ),
        (
            "no guest API",
            {
                let mut s = snapshot(None, &["disk-a"]);
                s.keys = None;
                s
            },
            &["not cross-checked"],
        ),
    ];
    for (name, snap, want) in cases {
        let plan = decide(&snap);
        let warnings: Vec<&str> = plan
            .notes
            .iter()
            .filter(|n| n.level == Level::Warn)
            .map(|n| n.text.as_str())
            .collect();
        if want.is_empty() {
            assert!(warnings.is_empty(), "case: {name}: {warnings:?}");
        }
        for w in want {
            assert!(
                plan.notes.iter().any(|n| n.text.contains(w)),
                "case: {name}: want {w:?} in {:?}",
                plan.notes
            );
        }
    }
}
