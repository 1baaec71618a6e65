//! What `check` reads, once: the agent's disk files, the guest API's disk keys, the mount
//! table, monit's process and mount namespace, both uptimes, and the network. Every
//! `/proc` and `/etc` path goes through the [`GuestRoot`]; the kernel's uptime
//! (sysinfo(2)) and the network state come in from the caller, so tests give their own.

use std::path::Path;

use crate::mountinfo::MountTable;
use crate::netlink::NetState;
use crate::netsettings::NetSettings;
use crate::paths::{
    AGENT_SETTINGS, DISK_HINTS, GuestRoot, MANAGED_DISK, PROC, PROC_UPTIME, SELF_MOUNTINFO,
};
use crate::settings::{self, AgentSettings, DiskMap, ManagedCid, Source};

/// Process names monit runs under: the binary (Noble) or the one the Jammy wrapper execs.
pub const MONIT_NAMES: [&str; 2] = ["monit", "monit-actual"];

/// The monit daemon as seen from outside.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitFacts {
    /// Its pid.
    pub pid: u32,
    /// Its mount namespace (`/proc/<pid>/ns/mnt` link text) differs from PID 1's.
    pub own_namespace: bool,
    /// The top mount on `/proc/uptime` in its namespace is lxcfs's.
    pub lxcfs_uptime: bool,
    /// `/` in its namespace receives propagation (`master:` or `shared:`).
    pub root_receives: bool,
    /// `/proc/uptime` as monit reads it, seconds.
    pub seen_uptime: Option<f64>,
    /// Its start time, clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: Option<u64>,
}

/// Everything `check` judges.
#[derive(Debug)]
pub struct Facts {
    /// The agent settings file (disks part).
    pub settings: Source<AgentSettings>,
    /// `persistent_disk_hints.json`.
    pub hints: Source<DiskMap>,
    /// `managed_disk_settings.json`.
    pub managed: ManagedCid,
    /// `user.bosh.disk.*` keys; `None` when the guest API could not be read.
    pub keys: Option<DiskMap>,
    /// The mount table of `check`'s own namespace (the container's).
    pub mounts: MountTable,
    /// The monit daemon, if one runs.
    pub monit: Option<MonitFacts>,
    /// `/proc/uptime` here (lxcfs's container age when lxcfs is on).
    pub uptime_here: Option<f64>,
    /// The kernel's uptime, sysinfo(2).
    pub uptime_kernel: f64,
    /// Clock ticks per second.
    pub clk_tck: u64,
    /// Network settings and the kernel's state, or why they could not be read.
    pub network: anyhow::Result<(NetSettings, NetState)>,
}

/// Read the file-based facts under `root`.
pub struct Reader<'a> {
    /// The root the guest paths hang from.
    pub root: &'a GuestRoot,
}

impl Reader<'_> {
    /// The agent's disk files.
    pub fn disk_files(&self) -> (Source<AgentSettings>, Source<DiskMap>, ManagedCid) {
        (
            settings::read_agent_settings(&self.root.host(AGENT_SETTINGS)),
            settings::read_hints(&self.root.host(DISK_HINTS)),
            settings::read_managed_cid(&self.root.host(MANAGED_DISK)),
        )
    }

    /// The container's mount table (empty when unreadable, with the reason).
    pub fn mounts(&self) -> anyhow::Result<MountTable> {
        MountTable::read(&self.root.host(SELF_MOUNTINFO))
    }

    /// `/proc/uptime`'s first number here.
    pub fn uptime_here(&self) -> Option<f64> {
        read_uptime(&self.root.host(PROC_UPTIME))
    }

    /// The monit daemon: the oldest process named one of [`MONIT_NAMES`] that was
    /// started with `-I` (both stemcell lines start the daemon so; a `monit summary`
    /// is not the daemon).
    pub fn monit(&self) -> Option<MonitFacts> {
        let mut found: Vec<(u64, u32)> = Vec::new();
        for entry in std::fs::read_dir(self.root.host(PROC)).ok()?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let comm =
                std::fs::read_to_string(self.root.proc_entry(pid, "comm")).unwrap_or_default();
            if !MONIT_NAMES.contains(&comm.trim()) {
                continue;
            }
            let cmdline = std::fs::read(self.root.proc_entry(pid, "cmdline")).unwrap_or_default();
            if !cmdline.split(|b| *b == 0).any(|a| a == b"-I") {
                continue;
            }
            found.push((self.start_ticks(pid).unwrap_or(u64::MAX), pid));
        }
        found.sort();
        let pid = found.first()?.1;
        Some(self.monit_facts(pid))
    }

    fn monit_facts(&self, pid: u32) -> MonitFacts {
        let ns = |p: u32| std::fs::read_link(self.root.proc_entry(p, "ns/mnt")).ok();
        let own_namespace = match (ns(pid), ns(1)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        };
        let table = MountTable::read(&self.root.proc_entry(pid, "mountinfo")).unwrap_or_default();
        let lxcfs_uptime = crate::monit_exec::lxcfs_on_top(&table, PROC_UPTIME);
        let root_receives = table.top("/").is_some_and(|m| {
            m.optional
                .iter()
                .any(|o| o.starts_with("master:") || o.starts_with("shared:"))
        });
        // the path is resolved through monit's root, so in monit's mount namespace
        let seen = self
            .root
            .proc_entry(pid, "root")
            .join(PROC_UPTIME.trim_start_matches('/'));
        MonitFacts {
            pid,
            own_namespace,
            lxcfs_uptime,
            root_receives,
            seen_uptime: read_uptime(&seen),
            start_ticks: self.start_ticks(pid),
        }
    }

    /// Field 22 of `/proc/<pid>/stat` (after the parenthesised command name).
    pub fn start_ticks(&self, pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(self.root.proc_entry(pid, "stat")).ok()?;
        parse_start_ticks(&stat)
    }
}

/// The start time in a `/proc/<pid>/stat` line: field 22, counted after the `)` that
/// ends field 2 (the command name may contain spaces and parentheses).
pub fn parse_start_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The first number of an uptime file.
pub fn read_uptime(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok()
}
