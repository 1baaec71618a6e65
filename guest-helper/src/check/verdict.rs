//! The judgement: [`Facts`] → findings, a pure function. A `Bad` finding makes `check`
//! exit non-zero; each text names the disk, path, pid or interface it is about.

use std::collections::BTreeSet;

use crate::check::facts::{Facts, MonitFacts};
use crate::monit_exec::lxcfs_on_top;
use crate::network::{NetAction, plan};
use crate::note::Level as NoteLevel;
use crate::paths::{DISK_DEVICES, MANAGED_DISK, PROC_UPTIME, STORE, disk_device_path};
use crate::settings::{ManagedCid, Source};

/// Most difference between two uptimes read a moment apart that still counts as equal.
pub const UPTIME_SLACK: f64 = 2.0;

/// How a finding counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// As it should be.
    Ok,
    /// Worth knowing; not a fault.
    Info,
    /// Odd, but the VM works.
    Warn,
    /// Something is wrong.
    Bad,
}

impl Level {
    /// Lower-case name (JSON).
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Bad => "bad",
        }
    }
}

/// One line of the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `disks`, `store`, `monit`, `uptime`, `network`.
    pub area: &'static str,
    /// How it counts.
    pub level: Level,
    /// What was found.
    pub text: String,
}

#[derive(Default)]
struct Out(Vec<Finding>);

impl Out {
    fn add(&mut self, area: &'static str, level: Level, text: impl Into<String>) {
        self.0.push(Finding {
            area,
            level,
            text: text.into(),
        });
    }
}

/// Judge everything.
pub fn judge(f: &Facts) -> Vec<Finding> {
    let mut out = Out::default();
    disks(f, &mut out);
    store(f, &mut out);
    monit(f, &mut out);
    network(f, &mut out);
    out.0
}

/// The cid of the attached disk whose volume backs `path` (top mount), if any.
fn backing_disk(f: &Facts, path: &str) -> Option<String> {
    let top = f.mounts.top(path)?;
    f.mounts
        .mounts
        .iter()
        .filter_map(|m| {
            let cid = m.mount_point.strip_prefix(DISK_DEVICES).ok()?.to_str()?;
            (!cid.is_empty() && !cid.contains('/') && m.volume().covers(top))
                .then(|| cid.to_string())
        })
        .next()
}

fn device_mounted(f: &Facts, cid: &str) -> bool {
    f.mounts.is_mount_point(disk_device_path(cid))
}

fn disks(f: &Facts, out: &mut Out) {
    if let Source::Corrupt(why) = &f.settings {
        out.add(
            "disks",
            Level::Bad,
            format!("the settings file cannot be used: {why}"),
        );
    }
    if let Source::Corrupt(why) = &f.hints {
        out.add(
            "disks",
            Level::Bad,
            format!("the hints file cannot be used: {why}"),
        );
    }
    let in_settings: BTreeSet<String> = f
        .settings
        .parsed()
        .map(|s| s.persistent.keys().cloned().collect())
        .unwrap_or_default();
    if f.keys.is_none() {
        out.add(
            "disks",
            Level::Info,
            "guest API not readable: attachment judged by the device mounts alone",
        );
    }
    for cid in &in_settings {
        let keyed = f.keys.as_ref().is_none_or(|k| k.contains_key(cid));
        match (keyed, device_mounted(f, cid)) {
            (true, true) => out.add("disks", Level::Ok, format!("disk {cid}: attached, {} mounted", disk_device_path(cid))),
            (false, _) => out.add("disks", Level::Bad, format!(
                "disk {cid} is in the settings' disks.persistent but not attached (no user.bosh.disk.{cid} key)")),
            (true, false) => out.add("disks", Level::Bad, format!(
                "disk {cid} is in the settings but {} is not mounted (detached, or LXD did not mount it)",
                disk_device_path(cid))),
        }
    }
    for cid in f
        .keys
        .iter()
        .flat_map(|k| k.keys())
        .filter(|c| !in_settings.contains(*c))
    {
        let level = if device_mounted(f, cid) {
            Level::Warn
        } else {
            Level::Bad
        };
        out.add("disks", level, format!(
            "disk {cid} is attached (user.bosh.disk.{cid}) but missing from the settings' disks.persistent{}",
            if level == Level::Bad { format!("; {} is not mounted either", disk_device_path(cid)) } else { String::new() }));
    }
}

fn store(f: &Facts, out: &mut Out) {
    let backing = backing_disk(f, STORE);
    let what = match (&backing, f.mounts.top(STORE)) {
        (Some(cid), _) => format!("{STORE} is disk {cid} ({})", disk_device_path(cid)),
        (None, Some(m)) => format!(
            "{STORE} is a {} mount of {} (no attached disk)",
            m.fs_type, m.source
        ),
        (None, None) => format!("{STORE} is not a mount point: it is the root filesystem"),
    };
    let known = |cid: &str| {
        f.settings
            .parsed()
            .is_some_and(|s| s.persistent.contains_key(cid))
            || f.hints.parsed().is_some_and(|h| h.contains_key(cid))
            || f.keys.as_ref().is_some_and(|k| k.contains_key(cid))
    };
    match &f.managed {
        ManagedCid::Corrupt(why) => out.add("store", Level::Bad, format!("{MANAGED_DISK}: {why}")),
        ManagedCid::Missing | ManagedCid::Empty => out.add("store", Level::Info, format!("no disk mounted by the agent yet; {what}")),
        ManagedCid::Cid(cid) if !known(cid) => out.add("store", Level::Bad, format!(
            "stale {MANAGED_DISK}: it names disk {cid}, which is neither attached nor in the settings; \
             the agent refuses to boot with it (bosh-lxd-helper boot empties it)")),
        ManagedCid::Cid(cid) if backing.as_deref() == Some(cid.as_str()) => out.add("store", Level::Ok, what),
        ManagedCid::Cid(cid) if !device_mounted(f, cid) => out.add("store", Level::Bad, format!(
            "the agent's disk {cid} is not mounted at {}; {what}", disk_device_path(cid))),
        ManagedCid::Cid(cid) => out.add("store", Level::Bad, format!(
            "the agent's disk is {cid} but {what}: jobs write to the wrong place")),
    }
}

fn monit(f: &Facts, out: &mut Out) {
    let here_lxcfs = lxcfs_on_top(&f.mounts, PROC_UPTIME);
    if let Some(here) = f.uptime_here {
        let skew = f.uptime_kernel - here;
        let level = if here_lxcfs { Level::Info } else { Level::Ok };
        out.add(
            "uptime",
            level,
            format!(
                "kernel uptime {:.2} s, {PROC_UPTIME} here {here:.2} s (skew {skew:.2} s{})",
                f.uptime_kernel,
                if here_lxcfs {
                    ", lxcfs: the container's age"
                } else {
                    ""
                }
            ),
        );
    }
    let Some(m) = &f.monit else {
        out.add(
            "monit",
            Level::Info,
            "monit is not running (the agent starts it after its bootstrap)",
        );
        return;
    };
    monit_namespace(m, here_lxcfs, out);
    let Some(seen) = m.seen_uptime else {
        out.add(
            "monit",
            Level::Warn,
            format!("monit (pid {}): its {PROC_UPTIME} could not be read", m.pid),
        );
        return;
    };
    let start = m.start_ticks.map(|t| t as f64 / f.clk_tck.max(1) as f64);
    let age = start.map(|s| seen - s);
    let text = format!(
        "monit (pid {}) sees uptime {seen:.2} s (kernel {:.2} s); its own age as it computes it: {}",
        m.pid,
        f.uptime_kernel,
        age.map_or("unknown".into(), |a| format!("{a:.2} s"))
    );
    let off = (seen - f.uptime_kernel).abs() > UPTIME_SLACK;
    if off || age.is_some_and(|a| a < -UPTIME_SLACK) {
        out.add(
            "uptime",
            Level::Bad,
            format!("{text}: start times will be in the future"),
        );
    } else {
        out.add("uptime", Level::Ok, text);
    }
}

fn monit_namespace(m: &MonitFacts, here_lxcfs: bool, out: &mut Out) {
    let pid = m.pid;
    match (m.own_namespace, m.lxcfs_uptime) {
        (false, true) => out.add("monit", Level::Bad, format!(
            "monit (pid {pid}) runs in PID 1's mount namespace with lxcfs's {PROC_UPTIME}: not started through monit-exec")),
        (true, true) => out.add("monit", Level::Bad, format!(
            "monit (pid {pid}) has its own mount namespace but {PROC_UPTIME} there is still lxcfs's")),
        (false, false) if here_lxcfs => out.add("monit", Level::Bad, format!(
            "monit (pid {pid}) shares PID 1's namespace, whose {PROC_UPTIME} is lxcfs's")),
        (false, false) => out.add("monit", Level::Ok, format!(
            "monit (pid {pid}) shares PID 1's namespace; {PROC_UPTIME} is not lxcfs's there")),
        (true, false) if !m.root_receives => out.add("monit", Level::Bad, format!(
            "monit (pid {pid}) runs under monit-exec but its / is private: the agent's later mounts on {STORE} never reach the jobs")),
        (true, false) => out.add("monit", Level::Ok, format!(
            "monit (pid {pid}) runs under monit-exec: own mount namespace, / a slave, kernel {PROC_UPTIME}")),
    }
}

fn network(f: &Facts, out: &mut Out) {
    let (settings, state) = match &f.network {
        Ok(pair) => pair,
        Err(why) => return out.add("network", Level::Warn, format!("not checked: {why:#}")),
    };
    let pending = plan(settings, state);
    for note in &pending.notes {
        let level = if note.level == NoteLevel::Warn {
            Level::Warn
        } else {
            Level::Info
        };
        out.add("network", level, note.text.clone());
    }
    for action in &pending.actions {
        let text = match action {
            NetAction::LinkUp { name, .. } => format!("{name} is down"),
            NetAction::SetMtu { name, mtu, .. } => format!("{name}: MTU is not {mtu}"),
            NetAction::AddAddress {
                name,
                address,
                prefix,
                ..
            } => format!("{name} lacks {address}/{prefix}"),
            NetAction::AddRoute { route, .. } => format!(
                "no route {}/{} via {:?} as the settings say",
                route.destination, route.prefix, route.gateway
            ),
        };
        out.add("network", Level::Bad, text);
    }
    if pending.actions.is_empty() {
        let n = settings.networks.len();
        out.add(
            "network",
            Level::Ok,
            format!("{n} network(s): interfaces, addresses and routes as the settings say"),
        );
    }
}
