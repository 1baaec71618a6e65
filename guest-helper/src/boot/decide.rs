//! The boot decision: a pure function from a snapshot of the guest to the actions that
//! put the last-mounted disk back on `/var/vcap/store` (five steps, in `last_mounted_disk`)
//! and restore the `/var/vcap/data` layout, plus notes that explain each choice.

use std::collections::BTreeSet;

use crate::mountinfo::MountTable;
pub use crate::note::{Level, Note};
use crate::paths::{DATA_DIR, DATA_SYS, DATA_SYS_RUN, STORE, disk_device_path};
use crate::settings::{AgentSettings, DiskMap, ManagedCid, Source};

/// Mode of `/var/vcap/data` in a stock stemcell; an LXD volume root comes up 0711.
pub const DATA_DIR_MODE: u32 = 0o755;
/// Mode the agent gives `/var/vcap/data/sys` when it creates it (`logDirPermissions`).
pub const DATA_SYS_MODE: u32 = 0o750;
/// Mode the agent gives `/var/vcap/store` when it creates it (`persistentDiskPermissions`).
pub const STORE_MODE: u32 = 0o700;

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    /// Nothing.
    Missing,
    /// A directory.
    Dir {
        /// Permission bits (`& 0o7777`).
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
        /// Whether it has no entries.
        empty: bool,
    },
    /// Something else (a file, a dangling link, unreadable).
    Other,
}

/// Everything the decision looks at, read once.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `managed_disk_settings.json`.
    pub managed: ManagedCid,
    /// The agent settings file.
    pub settings: Source<AgentSettings>,
    /// `persistent_disk_hints.json`.
    pub hints: Source<DiskMap>,
    /// `user.bosh.disk.*` keys; `None` when the guest API could not be read.
    pub keys: Option<DiskMap>,
    /// The helper's mount table.
    pub mounts: MountTable,
    /// `/var/vcap/data`.
    pub data_dir: PathState,
    /// `/var/vcap/data/sys`.
    pub data_sys: PathState,
    /// `/var/vcap/data/sys/run`.
    pub data_sys_run: PathState,
    /// `/var/vcap/store`.
    pub store: PathState,
}

/// One change to make, on guest paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a directory with `mode`, owned by root.
    CreateDir {
        /// Guest path.
        path: &'static str,
        /// Permission bits.
        mode: u32,
    },
    /// Set permission bits.
    SetMode {
        /// Guest path.
        path: &'static str,
        /// Permission bits.
        mode: u32,
    },
    /// Give to root:root.
    SetRootOwner {
        /// Guest path.
        path: &'static str,
    },
    /// Remove a directory that has no entries.
    RemoveEmptyDir {
        /// Guest path.
        path: &'static str,
    },
    /// Truncate `managed_disk_settings.json` to nothing.
    EmptyManagedFile {
        /// The stale cid it held.
        cid: String,
    },
    /// `mount <source> /var/vcap/store [-o <option>]... -o bind`, as the agent does.
    BindStore {
        /// The disk.
        cid: String,
        /// `/warden-cpi-dev/<cid>`.
        source: String,
        /// `env.persistent_disk_mount_options`.
        options: Vec<String>,
    },
}

/// The decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Changes, in order.
    pub actions: Vec<Action>,
    /// Explanations.
    pub notes: Vec<Note>,
}

impl Plan {
    fn info(&mut self, text: impl Into<String>) {
        self.notes.push(Note {
            level: Level::Info,
            text: text.into(),
        });
    }
    fn warn(&mut self, text: impl Into<String>) {
        self.notes.push(Note {
            level: Level::Warn,
            text: text.into(),
        });
    }
}

/// Decide what `boot` does.
pub fn decide(s: &Snapshot) -> Plan {
    let mut plan = Plan::default();
    data_layout(s, &mut plan);
    for (what, source) in [
        ("the agent settings file", corrupt_reason(&s.settings)),
        ("the disk hints file", corrupt_reason(&s.hints)),
    ] {
        if let Some(why) = source {
            plan.warn(format!("{what} is unusable: {why}"));
        }
    }
    cross_check(s, &mut plan);
    last_mounted_disk(s, &mut plan);
    plan
}

/// `/var/vcap/data` 0755 root:root, `sys` present, and no stale `sys/run` directory:
/// the monit units start only once it exists (Noble) or is mounted (Jammy), and the
/// agent creates and mounts it itself; warden recreates `sys` at every start for this.
fn data_layout(s: &Snapshot, plan: &mut Plan) {
    match s.data_dir {
        PathState::Missing => plan.actions.push(Action::CreateDir {
            path: DATA_DIR,
            mode: DATA_DIR_MODE,
        }),
        PathState::Dir { mode, uid, gid, .. } => {
            if mode != DATA_DIR_MODE {
                plan.actions.push(Action::SetMode {
                    path: DATA_DIR,
                    mode: DATA_DIR_MODE,
                });
            }
            if uid != 0 || gid != 0 {
                plan.actions.push(Action::SetRootOwner { path: DATA_DIR });
            }
        }
        PathState::Other => {
            plan.warn(format!(
                "{DATA_DIR} is not a directory; its layout is left alone"
            ));
            return;
        }
    }
    if s.data_sys == PathState::Missing {
        plan.actions.push(Action::CreateDir {
            path: DATA_SYS,
            mode: DATA_SYS_MODE,
        });
    }
    if let PathState::Dir { empty, .. } = s.data_sys_run {
        if s.mounts.is_mount_point(DATA_SYS_RUN) {
            return;
        }
        if empty {
            plan.actions
                .push(Action::RemoveEmptyDir { path: DATA_SYS_RUN });
        } else {
            plan.warn(format!(
                "{DATA_SYS_RUN} is not mounted but holds files (written while the agent's tmpfs was absent); left alone"
            ));
        }
    }
}

fn corrupt_reason<T>(source: &Source<T>) -> Option<&str> {
    match source {
        Source::Corrupt(why) => Some(why),
        _ => None,
    }
}

/// Compare the three views of "attached": LXD devices mounted in the guest, the
/// instance's `user.bosh.disk.*` keys, and the settings file. Only logs.
fn cross_check(s: &Snapshot, plan: &mut Plan) {
    let mounted: BTreeSet<&str> = s
        .mounts
        .mounts
        .iter()
        .filter_map(|m| m.mount_point.strip_prefix(crate::paths::DISK_DEVICES).ok())
        .filter_map(|rest| rest.to_str())
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .collect();
    let settings = s.settings.parsed().map(|st| &st.persistent);
    let Some(keys) = &s.keys else {
        plan.info("guest API keys unavailable: attached disks not cross-checked");
        return;
    };
    for (cid, value) in keys {
        if *value != disk_device_path(cid) {
            plan.warn(format!(
                "user.bosh.disk.{cid} is {value:?}, expected {:?}",
                disk_device_path(cid)
            ));
        }
        if !mounted.contains(cid.as_str()) {
            plan.warn(format!(
                "user.bosh.disk.{cid} is set but {} is not a mount point",
                disk_device_path(cid)
            ));
        }
        if settings.is_some_and(|st| !st.contains_key(cid)) {
            plan.warn(format!(
                "user.bosh.disk.{cid} is set but disks.persistent does not list {cid}"
            ));
        }
    }
    for cid in &mounted {
        if !keys.contains_key(*cid) {
            plan.warn(format!(
                "{} is mounted but user.bosh.disk.{cid} is not set",
                disk_device_path(cid)
            ));
        }
    }
    for cid in settings.into_iter().flat_map(|st| st.keys()) {
        if !keys.contains_key(cid) {
            plan.warn(format!(
                "disks.persistent lists {cid} but user.bosh.disk.{cid} is not set"
            ));
        }
    }
}

/// The last-mounted disk, five steps in this order: the agent's cid; nothing when the store
/// is mounted; no cid the agent would refuse; only a mounted device; a bind like the agent's.
fn last_mounted_disk(s: &Snapshot, plan: &mut Plan) {
    // 1. the cid, or nothing to do
    let cid = match &s.managed {
        ManagedCid::Missing => {
            return plan.info("no managed_disk_settings.json: no disk to put back");
        }
        ManagedCid::Empty => {
            return plan.info("managed_disk_settings.json is empty: no disk to put back");
        }
        ManagedCid::Corrupt(why) => {
            return plan.warn(format!(
                "managed_disk_settings.json unusable ({why}): no disk bound"
            ));
        }
        ManagedCid::Cid(cid) => cid,
    };
    // 2. idempotent
    if let Some(top) = s.mounts.top(STORE) {
        return plan.info(format!(
            "{STORE} is already a mount point ({} {}:{} {}): nothing to do for {cid}",
            top.source,
            top.major,
            top.minor,
            top.root.display()
        ));
    }
    // 3. a stale cid makes the agent refuse to boot
    let listed = |src: &Source<DiskMap>| src.parsed().is_some_and(|m| m.contains_key(cid));
    let in_settings = s
        .settings
        .parsed()
        .is_some_and(|st| st.persistent.contains_key(cid));
    let corrupt = [
        matches!(s.settings, Source::Corrupt(_)).then_some("the settings file"),
        matches!(s.hints, Source::Corrupt(_)).then_some("persistent_disk_hints.json"),
    ];
    if !in_settings && !listed(&s.hints) {
        let corrupt: Vec<&str> = corrupt.into_iter().flatten().collect();
        if corrupt.is_empty() {
            plan.warn(format!(
                "last mounted disk {cid} is in neither disks.persistent nor persistent_disk_hints.json: \
                 emptying managed_disk_settings.json, else the agent refuses to boot"
            ));
            plan.actions
                .push(Action::EmptyManagedFile { cid: cid.clone() });
            return;
        }
        plan.warn(format!(
            "cannot tell whether {cid} is stale: {} unreadable; managed_disk_settings.json kept",
            corrupt.join(" and ")
        ));
    }
    // 4. attached means LXD's device is mounted, not merely a directory
    let source = disk_device_path(cid);
    if !s.mounts.is_mount_point(&source) {
        return plan.info(format!(
            "{source} is not a mount point: {cid} is not attached, not bound"
        ));
    }
    // 5. bind it like the agent does
    match s.store {
        PathState::Dir { .. } => {}
        PathState::Missing => plan.actions.push(Action::CreateDir {
            path: STORE,
            mode: STORE_MODE,
        }),
        PathState::Other => {
            return plan.warn(format!("{STORE} is not a directory: {cid} not bound"));
        }
    }
    let options = s
        .settings
        .parsed()
        .map(|st| st.mount_options.clone())
        .unwrap_or_default();
    plan.actions.push(Action::BindStore {
        cid: cid.clone(),
        source,
        options,
    });
}

#[cfg(test)]
#[path = "decide_checks_tests.rs"]
mod checks_tests;
#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
