//! `check [--json]`: what a user needs to diagnose a VM (`ARCHITECTURE.md` §4): attached vs
//! mounted disks, what backs `/var/vcap/store`, a stale `managed_disk_settings.json`,
//! whether monit runs under `monit-exec` and which uptime it sees, the uptime skew, and
//! interfaces and routes against the settings. Exits 1 when a finding is `bad`.
//!
//! [`facts`] reads, [`verdict`] judges (pure), this module prints.

pub mod facts;
pub mod verdict;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::guestapi::GuestApi;
use crate::netlink::{NetLink, RtNetLink};
use crate::netsettings;
use crate::paths::{AGENT_SETTINGS, GuestRoot};
use facts::{Facts, Reader};
use verdict::{Finding, Level};

/// Gather the facts of the running guest under `root`.
pub fn collect(root: &GuestRoot, net: Option<&mut dyn NetLink>) -> Result<Facts> {
    let reader = Reader { root };
    let (settings, hints, managed) = reader.disk_files();
    let keys = GuestApi::find(root, Duration::from_secs(2)).and_then(|api| api.disk_keys().ok());
    let mounts = reader.mounts()?;
    let kernel = nix::sys::sysinfo::sysinfo().context("sysinfo(2)")?;
    let clk_tck = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(100);
    Ok(Facts {
        settings,
        hints,
        managed,
        keys,
        mounts,
        monit: reader.monit(),
        uptime_here: reader.uptime_here(),
        uptime_kernel: kernel.uptime().as_secs_f64(),
        clk_tck,
        network: network_facts(root, net),
    })
}

fn network_facts(
    root: &GuestRoot,
    net: Option<&mut dyn NetLink>,
) -> Result<(netsettings::NetSettings, crate::netlink::NetState)> {
    let path = root.host(AGENT_SETTINGS);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_slice(&bytes).with_context(|| path.display().to_string())?;
    let settings = netsettings::parse(&doc);
    let state = match net {
        Some(net) => net.state(),
        None => RtNetLink::open().and_then(|mut n| n.state()),
    };
    Ok((settings, state?))
}

/// The diagnosis as JSON.
pub fn to_json(facts: &Facts, findings: &[Finding]) -> Value {
    let ok = findings.iter().all(|f| f.level != Level::Bad);
    json!({
        "ok": ok,
        "findings": findings.iter().map(|f| json!({
            "area": f.area, "level": f.level.name(), "text": f.text,
        })).collect::<Vec<_>>(),
        "uptime": {
            "kernel": facts.uptime_kernel,
            "here": facts.uptime_here,
            "monit": facts.monit.as_ref().and_then(|m| m.seen_uptime),
        },
        "monit": facts.monit.as_ref().map(|m| json!({
            "pid": m.pid,
            "own_namespace": m.own_namespace,
            "lxcfs_uptime": m.lxcfs_uptime,
            "root_receives_mounts": m.root_receives,
            "start_ticks": m.start_ticks,
        })),
    })
}

/// The diagnosis as text, one finding a line, then a summary.
pub fn to_text(findings: &[Finding]) -> String {
    let mut text = String::new();
    for f in findings {
        text.push_str(&format!(
            "[{:>4}] {:<7} {}\n",
            f.level.name(),
            f.area,
            f.text
        ));
    }
    let bad = findings.iter().filter(|f| f.level == Level::Bad).count();
    if bad == 0 {
        text.push_str("check: no problem found\n");
    } else {
        text.push_str(&format!("check: {bad} problem(s) found\n"));
    }
    text
}

/// Run `check`: print the diagnosis on stdout; 1 when something is wrong.
pub fn run(root: &GuestRoot, json: bool) -> Result<ExitCode> {
    let facts = collect(root, None)?;
    let findings = verdict::judge(&facts);
    let out = if json {
        format!("{:#}\n", to_json(&facts, &findings))
    } else {
        to_text(&findings)
    };
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes()).context("writing stdout")?;
    Ok(if findings.iter().any(|f| f.level == Level::Bad) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
#[path = "check/tests.rs"]
mod tests;
