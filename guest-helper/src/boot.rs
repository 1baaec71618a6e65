//! `boot`: once per container start, after LXD has mounted the disk devices and before
//! the agent and monit start. Reads the guest once, waits (bounded) for every attached
//! disk's device mount, decides ([`decide`]) and acts ([`exec`]); see `ARCHITECTURE.md` §4.

pub mod decide;
pub mod exec;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::guestapi::GuestApi;
use crate::mountinfo::MountTable;
use crate::netlink::RtNetLink;
use crate::paths::{
    AGENT_SETTINGS, DATA_DIR, DATA_SYS, DATA_SYS_RUN, DISK_HINTS, GuestRoot, MANAGED_DISK,
    SELF_MOUNTINFO, STORE, disk_device_path,
};
use crate::settings::{self, DiskMap, Source};
use crate::{netsettings, network};
use decide::{Level, PathState, Snapshot};

/// How `boot` runs.
#[derive(Debug, Clone)]
pub struct BootConfig {
    /// Where the guest's files are.
    pub root: GuestRoot,
    /// Longest wait for attached disks' device mounts.
    pub wait: Duration,
    /// Per-request timeout of the guest API.
    pub api_timeout: Duration,
    /// Configure interfaces, DNS and hostname from the settings (off in tests whose
    /// root is a temporary directory: the kernel's network is the machine's).
    pub network: bool,
}

/// Time between two looks at the mount table while waiting.
const POLL: Duration = Duration::from_millis(50);

/// Run `boot`.
pub fn run(config: &BootConfig) -> Result<()> {
    let started = Instant::now();
    let root = &config.root;
    let net_failures = if config.network {
        network_step(root)
    } else {
        0
    };
    let managed = settings::read_managed_cid(&root.host(MANAGED_DISK));
    let agent_settings = settings::read_agent_settings(&root.host(AGENT_SETTINGS));
    let hints = settings::read_hints(&root.host(DISK_HINTS));
    let keys = read_keys(root, config.api_timeout);
    let expected = expected_devices(keys.as_ref(), &agent_settings);
    let mounts = wait_for_devices(root, &expected, config.wait)?;
    let snapshot = Snapshot {
        managed,
        settings: agent_settings,
        hints,
        keys,
        mounts,
        data_dir: path_state(&root.host(DATA_DIR)),
        data_sys: path_state(&root.host(DATA_SYS)),
        data_sys_run: path_state(&root.host(DATA_SYS_RUN)),
        store: path_state(&root.host(STORE)),
    };
    let plan = decide::decide(&snapshot);
    for note in &plan.notes {
        match note.level {
            Level::Info => tracing::info!("{}", note.text),
            Level::Warn => tracing::warn!("{}", note.text),
        }
    }
    let failures = exec::execute(&plan, root, &mut exec::RealOps) + net_failures;
    tracing::info!(
        "boot done in {} ms: {} action(s), {failures} failed",
        started.elapsed().as_millis(),
        plan.actions.len()
    );
    if failures > 0 {
        bail!("{failures} boot action(s) failed; see the log above; not signalling Ready");
    }
    if let Some(api) = GuestApi::find(root, config.api_timeout) {
        crate::readiness::signal_and_log(&api);
    }
    Ok(())
}

fn read_keys(root: &GuestRoot, timeout: Duration) -> Option<DiskMap> {
    let Some(api) = GuestApi::find(root, timeout) else {
        tracing::warn!("no guest API socket (/dev/lxd/sock, /dev/incus/sock): disk keys not read");
        return None;
    };
    match api.disk_keys() {
        Ok(keys) => {
            tracing::info!("guest API {}: disk keys {:?}", api.socket().display(), keys);
            Some(keys)
        }
        Err(e) => {
            tracing::warn!("{e:#}");
            None
        }
    }
}

/// The disks LXD should have mounted: the instance's keys when readable (they are
/// written with the device), else what the settings file lists.
pub fn expected_devices(
    keys: Option<&DiskMap>,
    agent_settings: &Source<settings::AgentSettings>,
) -> BTreeSet<String> {
    let cids = match (keys, agent_settings.parsed()) {
        (Some(keys), _) => keys.keys().cloned().collect(),
        (None, Some(st)) => st.persistent.keys().cloned().collect(),
        (None, None) => BTreeSet::new(),
    };
    cids.into_iter()
        .filter(|cid| settings::check_cid(cid).is_ok())
        .map(|cid| disk_device_path(&cid))
        .collect()
}

/// Interfaces, DNS and hostname from the settings file; returns how many steps failed.
fn network_step(root: &GuestRoot) -> usize {
    let path = root.host(AGENT_SETTINGS);
    let doc = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!("network: no {AGENT_SETTINGS}; interfaces left alone");
            return 0;
        }
        Err(e) => {
            tracing::error!("network: reading {}: {e}", path.display());
            return 1;
        }
        Ok(bytes) => bytes,
    };
    let doc: serde_json::Value = match serde_json::from_slice(&doc) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("network: {} is not JSON: {e}", path.display());
            return 1;
        }
    };
    let settings = netsettings::parse(&doc);
    let result = RtNetLink::open().and_then(|mut net| network::bring_up(root, &settings, &mut net));
    match result {
        Ok(failures) => failures,
        Err(e) => {
            tracing::error!("network: {e:#}");
            1
        }
    }
}

/// Poll the mount table until every expected device path is a mount point, or until
/// `wait` has passed; returns the last table read.
pub fn wait_for_devices(
    root: &GuestRoot,
    expected: &BTreeSet<String>,
    wait: Duration,
) -> Result<MountTable> {
    let mountinfo = root.host(SELF_MOUNTINFO);
    let deadline = Instant::now() + wait;
    loop {
        let table = MountTable::read(&mountinfo)?;
        let missing: Vec<&String> = expected
            .iter()
            .filter(|p| !table.is_mount_point(p.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(table);
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                "after {} ms these disk devices are still not mounted: {missing:?}",
                wait.as_millis()
            );
            return Ok(table);
        }
        std::thread::sleep(POLL);
    }
}

/// What is at `path` (symlinks not followed).
pub fn path_state(path: &Path) -> PathState {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => PathState::Missing,
        Ok(meta) if meta.is_dir() => PathState::Dir {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            empty: std::fs::read_dir(path)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false),
        },
        _ => PathState::Other,
    }
}

#[cfg(test)]
#[path = "boot/run_tests.rs"]
mod tests;
