//! Table tests of `check`: facts read from a fake guest tree (`/proc`, `/etc`, the agent's
//! files under a temporary root), then judged.

use std::net::Ipv4Addr;
use std::path::Path;

use super::*;
use crate::netlink::{Link, NetState, Route};
use crate::paths::{DISK_HINTS, MANAGED_DISK};

const ROOT_LINE: &str =
    "87 46 0:44 /containers/p_c1/rootfs / rw,relatime shared:2 - btrfs /dev/loop0 rw\n";
const SLAVE_ROOT: &str =
    "62 61 0:44 /containers/p_c1/rootfs / rw,relatime master:2 - btrfs /dev/loop0 rw\n";
const PRIVATE_ROOT: &str =
    "62 61 0:44 /containers/p_c1/rootfs / rw,relatime - btrfs /dev/loop0 rw\n";
const PROC: &str = "89 87 0:53 / /proc rw,nosuid,nodev,noexec,relatime shared:17 - proc proc rw\n";
const LXCFS: &str = "108 89 0:41 /proc/uptime /proc/uptime rw,nosuid,nodev,relatime shared:26 - fuse.lxcfs lxcfs rw\n";
const DEVICE: &str =
    "78 87 0:44 /custom/p_d1 /warden-cpi-dev/d1 rw,relatime shared:53 - btrfs /dev/loop0 rw\n";
const STORE_BIND: &str =
    "79 87 0:44 /custom/p_d1 /var/vcap/store rw,relatime shared:53 - btrfs /dev/loop0 rw\n";
const MAC: &str = "00:16:3e:00:00:01";
const KERNEL_UPTIME: f64 = 5000.0;

/// How the fake monit process looks.
#[derive(Clone, Copy)]
enum Monit {
    None,
    /// Started by runit directly: PID 1's namespace, lxcfs uptime.
    Plain,
    /// Under monit-exec, / slave.
    Fixed,
    /// Own namespace but / private.
    Private,
}

struct Guest {
    dir: tempfile::TempDir,
}

impl Guest {
    fn new(mounts: &[&str], settings: &str, managed: Option<&str>, monit: Monit) -> Guest {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = Guest { dir };
        g.write("/proc/self/mountinfo", &mounts.concat());
        g.write("/proc/uptime", "12.50 20.00\n");
        g.write("/var/vcap/bosh/warden-cpi-agent-env.json", settings);
        if let Some(cid) = managed {
            g.write(MANAGED_DISK, cid);
        }
        g.write(DISK_HINTS, "{}");
        g.link("/proc/1/ns/mnt", "mnt:[4026532001]");
        g.write("/proc/1/comm", "systemd\n");
        g.write(
            "/proc/1/stat",
            "1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 35077 0 0\n",
        );
        // a `monit summary` run: same name, no -I, younger; must not be taken for the daemon
        g.write("/proc/300/comm", "monit\n");
        g.write("/proc/300/cmdline", "/var/vcap/bosh/bin/monit\0summary\0");
        g.write(
            "/proc/300/stat",
            "300 (monit) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 499000 0 0\n",
        );
        g.link("/proc/300/ns/mnt", "mnt:[4026532001]");
        let (ns, table, seen) = match monit {
            Monit::None => return g,
            Monit::Plain => (
                "mnt:[4026532001]",
                [ROOT_LINE, PROC, LXCFS].concat(),
                "12.40 1.0\n",
            ),
            Monit::Fixed => (
                "mnt:[4026532999]",
                [SLAVE_ROOT, PROC].concat(),
                "4999.90 1.0\n",
            ),
            Monit::Private => (
                "mnt:[4026532999]",
                [PRIVATE_ROOT, PROC].concat(),
                "4999.90 1.0\n",
            ),
        };
        g.write("/proc/200/comm", "monit-actual\n");
        g.write(
            "/proc/200/cmdline",
            "/var/vcap/bosh/bin/monit-actual\0-I\0-c\0/var/vcap/bosh/etc/monitrc\0",
        );
        // started 4000 s after host boot (CLK_TCK 100): 400000 ticks
        g.write(
            "/proc/200/stat",
            "200 (monit-actual) S 1 200 200 0 -1 4194560 0 0 0 0 0 0 0 0 10 -10 1 0 400000 0 0\n",
        );
        g.link("/proc/200/ns/mnt", ns);
        g.write("/proc/200/mountinfo", &table);
        g.write("/proc/200/root/proc/uptime", seen);
        g
    }

    fn root(&self) -> GuestRoot {
        GuestRoot::new(self.dir.path())
    }

    fn write(&self, guest: &str, text: &str) {
        let path = self.root().host(guest);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn link(&self, guest: &str, target: &str) {
        let path = self.root().host(guest);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(Path::new(target), path).expect("symlink");
    }
}

/// The kernel side of a configured VM: eth0 up with its address and default route.
fn healthy_net() -> NetState {
    NetState {
        links: vec![Link {
            index: 2,
            name: "eth0".into(),
            mac: Some(MAC.into()),
            up: true,
            mtu: Some(1500),
            addresses: vec![(Ipv4Addr::new(10, 245, 7, 2), 16)],
        }],
        routes: vec![Route {
            destination: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            gateway: Some(Ipv4Addr::new(10, 245, 0, 1)),
            oif: Some(2),
        }],
    }
}

struct FixedNet(NetState);

impl NetLink for FixedNet {
    fn state(&mut self) -> Result<NetState> {
        Ok(self.0.clone())
    }
    fn set_up(&mut self, _: u32) -> Result<()> {
        anyhow::bail!("read-only")
    }
    fn set_mtu(&mut self, _: u32, _: u32) -> Result<()> {
        anyhow::bail!("read-only")
    }
    fn add_address(&mut self, _: u32, _: Ipv4Addr, _: u8) -> Result<()> {
        anyhow::bail!("read-only")
    }
    fn add_route(&mut self, _: &Route, _: bool) -> Result<()> {
        anyhow::bail!("read-only")
    }
    fn announce(&mut self, _: u32, _: Ipv4Addr) -> Result<()> {
        anyhow::bail!("read-only")
    }
}

fn settings(disks: &str) -> String {
    format!(
        r#"{{"networks":{{"n":{{"type":"manual","ip":"10.245.7.2","netmask":"255.255.0.0",
        "gateway":"10.245.0.1","default":["dns","gateway"],"mac":"{MAC}"}}}},
        "disks":{{"persistent":{{{disks}}}}}}}"#
    )
}

fn judge_guest(g: &Guest, net: NetState) -> (Facts, Vec<Finding>) {
    let mut fake = FixedNet(net);
    let mut facts = collect(&g.root(), Some(&mut fake)).expect("collect");
    facts.uptime_kernel = KERNEL_UPTIME;
    facts.clk_tck = 100;
    let findings = verdict::judge(&facts);
    (facts, findings)
}

/// (name, mounts, disks in settings, managed cid, monit, network, bad findings expected)
type Case<'a> = (
    &'a str,
    Vec<&'a str>,
    &'a str,
    Option<&'a str>,
    Monit,
    NetState,
    Vec<&'a str>,
);

#[test]
fn verdicts_per_state() {
    let d1 = r#""d1":"/warden-cpi-dev/d1""#;
    let mut down = healthy_net();
    down.links[0].addresses.clear();
    down.routes.clear();
    let cases: Vec<Case> = vec![
        (
            "healthy",
            vec![ROOT_LINE, PROC, LXCFS, DEVICE, STORE_BIND],
            d1,
            Some("d1"),
            Monit::Fixed,
            healthy_net(),
            vec![],
        ),
        (
            "healthy, no disk, monit not started yet",
            vec![ROOT_LINE, PROC, LXCFS],
            "",
            None,
            Monit::None,
            healthy_net(),
            vec![],
        ),
        (
            "detached disk still in settings",
            vec![ROOT_LINE, PROC, LXCFS],
            d1,
            None,
            Monit::Fixed,
            healthy_net(),
            vec!["disk d1 is in the settings but /warden-cpi-dev/d1 is not mounted"],
        ),
        (
            "store unmounted",
            vec![ROOT_LINE, PROC, LXCFS, DEVICE],
            d1,
            Some("d1"),
            Monit::Fixed,
            healthy_net(),
            vec!["the agent's disk is d1 but /var/vcap/store is not a mount point"],
        ),
        (
            "stale managed cid",
            vec![ROOT_LINE, PROC, LXCFS],
            "",
            Some("gone"),
            Monit::Fixed,
            healthy_net(),
            vec!["stale /var/vcap/bosh/managed_disk_settings.json: it names disk gone"],
        ),
        (
            "monit outside the namespace",
            vec![ROOT_LINE, PROC, LXCFS],
            "",
            None,
            Monit::Plain,
            healthy_net(),
            vec![
                "not started through monit-exec",
                "start times will be in the future",
            ],
        ),
        (
            "monit namespace private",
            vec![ROOT_LINE, PROC, LXCFS],
            "",
            None,
            Monit::Private,
            healthy_net(),
            vec!["its / is private"],
        ),
        (
            "network not configured",
            vec![ROOT_LINE, PROC, LXCFS],
            "",
            None,
            Monit::Fixed,
            down,
            vec![
                "eth0 lacks 10.245.7.2/16",
                "no route 0.0.0.0/0 via Some(10.245.0.1)",
            ],
        ),
    ];
    for (name, mounts, disks, managed, monit, net, want) in cases {
        let g = Guest::new(&mounts, &settings(disks), managed, monit);
        let (_, findings) = judge_guest(&g, net);
        let bad: Vec<&str> = findings
            .iter()
            .filter(|f| f.level == Level::Bad)
            .map(|f| f.text.as_str())
            .collect();
        assert_eq!(bad.len(), want.len(), "{name}: bad findings {bad:#?}");
        for (got, want) in bad.iter().zip(&want) {
            assert!(
                got.contains(want),
                "{name}: {got:?} should contain {want:?}"
            );
        }
    }
}

#[test]
fn facts_are_read_through_the_root() {
    let g = Guest::new(
        &[ROOT_LINE, PROC, LXCFS, DEVICE, STORE_BIND],
        &settings(""),
        Some("d1"),
        Monit::Fixed,
    );
    let (facts, findings) = judge_guest(&g, healthy_net());
    let monit = facts.monit.clone().expect("monit found");
    assert_eq!(monit.pid, 200, "the -I daemon, not `monit summary`");
    assert!(monit.own_namespace && !monit.lxcfs_uptime && monit.root_receives);
    assert_eq!(monit.seen_uptime, Some(4999.90));
    assert_eq!(monit.start_ticks, Some(400_000));
    assert_eq!(facts.uptime_here, Some(12.5));
    let json = to_json(&facts, &findings);
    assert_eq!(json["monit"]["pid"], 200);
    assert_eq!(json["uptime"]["monit"], 4999.90);
    let text = to_text(&findings);
    assert!(
        text.contains("monit (pid 200) runs under monit-exec"),
        "{text}"
    );
    assert!(text.contains("sees uptime 4999.90 s"), "{text}");
}

#[test]
fn start_ticks_survive_odd_command_names() {
    let cases = [
        (
            "5 (monit) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1234 0",
            Some(1234),
        ),
        (
            "5 (a ) b) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0",
            Some(99),
        ),
        ("5 (short) S 1", None),
        ("garbage", None),
    ];
    for (stat, want) in cases {
        assert_eq!(facts::parse_start_ticks(stat), want, "{stat}");
    }
}
