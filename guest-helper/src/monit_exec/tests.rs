//! Table tests of the namespace set-up against a recording fake of [`NsOps`].

use super::*;
use crate::mountinfo::parse;

const ROOT_SHARED: &str =
    "89 70 0:44 /containers/c1/rootfs / rw,relatime shared:40 master:2 - btrfs /dev/loop0 rw\n";
const ROOT_PRIVATE: &str = "89 70 0:44 /containers/c1/rootfs / rw,relatime - btrfs /dev/loop0 rw\n";
const PROC: &str = "95 89 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n";
const LXCFS_UPTIME: &str = "120 95 0:48 /proc/uptime /proc/uptime rw,nosuid,nodev,relatime shared:12 - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other\n";
const LXCFS_CPUINFO: &str = "118 95 0:48 /proc/cpuinfo /proc/cpuinfo rw,nosuid,nodev,relatime shared:12 - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other\n";
const TMPFS_UPTIME: &str = "130 95 0:60 /uptime /proc/uptime rw,relatime - tmpfs tmpfs rw\n";

/// A mount namespace held as mountinfo lines; `umount` removes the last line on the path.
#[derive(Debug, Default)]
struct FakeNs {
    lines: Vec<String>,
    calls: Vec<String>,
    fail: Option<&'static str>,
    /// `umount` reports success but leaves the table alone.
    stuck: bool,
}

impl FakeNs {
    fn new(lines: &[&str]) -> FakeNs {
        FakeNs {
            lines: lines.iter().map(|l| l.to_string()).collect(),
            ..FakeNs::default()
        }
    }

    fn step(&mut self, name: &'static str) -> Result<()> {
        self.calls.push(name.to_string());
        if self.fail == Some(name) {
            bail!("{name} refused");
        }
        Ok(())
    }
}

impl NsOps for FakeNs {
    fn unshare_mount_ns(&mut self) -> Result<()> {
        self.step("unshare")
    }

    fn make_root_rslave(&mut self) -> Result<()> {
        self.step("rslave")
    }

    fn mount_table(&mut self) -> Result<MountTable> {
        parse(self.lines.concat().as_bytes())
    }

    fn umount(&mut self, path: &str) -> Result<()> {
        self.step("umount")?;
        if self.stuck {
            return Ok(());
        }
        let needle = format!(" {path} ");
        let Some(last) = self.lines.iter().rposition(|l| l.contains(&needle)) else {
            bail!("{path} is not mounted");
        };
        self.lines.remove(last);
        Ok(())
    }
}

#[test]
fn removes_exactly_the_lxcfs_layers() {
    struct Case {
        name: &'static str,
        lines: Vec<&'static str>,
        unshared: bool,
        removed: usize,
        shared: bool,
        left_on_uptime: usize,
    }
    let cases = [
        Case {
            name: "one lxcfs layer",
            lines: vec![ROOT_SHARED, PROC, LXCFS_CPUINFO, LXCFS_UPTIME],
            unshared: true,
            removed: 1,
            shared: true,
            left_on_uptime: 0,
        },
        Case {
            name: "three stacked lxcfs layers",
            lines: vec![ROOT_SHARED, PROC, LXCFS_UPTIME, LXCFS_UPTIME, LXCFS_UPTIME],
            unshared: true,
            removed: 3,
            shared: true,
            left_on_uptime: 0,
        },
        Case {
            name: "lxcfs over a non-lxcfs mount: only the lxcfs one goes",
            lines: vec![ROOT_SHARED, PROC, TMPFS_UPTIME, LXCFS_UPTIME],
            unshared: true,
            removed: 1,
            shared: true,
            left_on_uptime: 1,
        },
        Case {
            name: "no lxcfs (privileged, no lxcfs): no namespace at all",
            lines: vec![ROOT_SHARED, PROC, LXCFS_CPUINFO],
            unshared: false,
            removed: 0,
            shared: true,
            left_on_uptime: 0,
        },
        Case {
            name: "private root is reported",
            lines: vec![ROOT_PRIVATE, PROC, LXCFS_UPTIME],
            unshared: true,
            removed: 1,
            shared: false,
            left_on_uptime: 0,
        },
    ];
    for case in cases {
        let mut ns = FakeNs::new(&case.lines);
        let outcome = prepare(&mut ns).unwrap_or_else(|e| panic!("{}: {e:#}", case.name));
        assert_eq!(outcome.unshared, case.unshared, "{}: unshared", case.name);
        assert_eq!(outcome.removed, case.removed, "{}: removed", case.name);
        assert_eq!(
            outcome.root_was_shared, case.shared,
            "{}: shared",
            case.name
        );
        let table = ns.mount_table().expect("table");
        let left = table
            .mounts
            .iter()
            .filter(|m| m.mount_point == Path::new(PROC_UPTIME))
            .count();
        assert_eq!(left, case.left_on_uptime, "{}: layers left", case.name);
        assert!(
            !lxcfs_on_top(&table, PROC_UPTIME),
            "{}: lxcfs gone",
            case.name
        );
        if case.unshared {
            assert_eq!(
                &ns.calls[..2],
                ["unshare", "rslave"],
                "{}: namespace first, then slave, before any unmount",
                case.name
            );
        } else {
            assert!(ns.calls.is_empty(), "{}: no syscalls", case.name);
        }
    }
}

#[test]
fn failures_stop_the_set_up_with_the_step_named() {
    let cases = [
        ("unshare", "unshare refused", vec!["unshare"]),
        ("rslave", "rslave refused", vec!["unshare", "rslave"]),
        (
            "umount",
            "umount refused",
            vec!["unshare", "rslave", "umount"],
        ),
    ];
    for (step, message, calls) in cases {
        let mut ns = FakeNs::new(&[ROOT_SHARED, PROC, LXCFS_UPTIME]);
        ns.fail = Some(step);
        let err = prepare(&mut ns).expect_err(step);
        assert!(format!("{err:#}").contains(message), "{step}: {err:#}");
        assert_eq!(ns.calls, calls, "{step}: no step after the failed one");
    }
}

#[test]
fn a_layer_that_does_not_go_away_is_bounded() {
    let mut ns = FakeNs::new(&[ROOT_SHARED, PROC, LXCFS_UPTIME]);
    ns.stuck = true;
    let err = prepare(&mut ns).expect_err("bounded");
    assert!(format!("{err:#}").contains("giving up"), "{err:#}");
    let umounts = ns.calls.iter().filter(|c| *c == "umount").count();
    assert_eq!(umounts, MAX_LAYERS);
}
