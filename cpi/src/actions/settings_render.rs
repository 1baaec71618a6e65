//! Keeps the agent settings file's `disks.persistent` equal to the instance's
//! `user.bosh.disk.*` keys (`docs/design.md` §2). The file has no ETag, so it is never
//! edited from what a caller believes: it is rendered from the keys, written, and the
//! instance is read again; if the keys changed meanwhile it is rendered again (bounded).
//!
//! The render runs under the project-wide lock `settings.<vm>`. The keys alone would make
//! the last writer's file right, but LXD writes a pushed file by truncating it and copying
//! the new bytes in, so two pushes at the same moment can leave the tail of a longer
//! document behind a shorter one: invalid JSON the agent cannot boot from. The lock is a
//! different object from the instance lock that `Client::update_instance` takes. A caller
//! may hold it while it waits for the instance lock (it reads the file in the meantime),
//! but an instance lock is always given back without waiting for this one (the edit inside
//! it is synchronous), so the two cannot deadlock.

use std::collections::BTreeMap;

use serde_json::Value;

use super::agent_settings::{self, AgentSettings, SETTINGS_PATH};
use super::disk_keys::{DiskMap, recorded_disks};
use crate::lxd::{Client, LOCK_WAIT, ObjectLock};

/// How often the file is rendered again because the keys moved under it.
const MAX_ROUNDS: u32 = 5;

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The disks the file now lists (equal to the keys when the sync ended).
    pub disks: DiskMap,
    /// How many times the file was written (0: it was already right).
    pub writes: u32,
}

/// `disks.persistent` for `keys`: each CID with its path as a string hint.
pub fn persistent_from(keys: &DiskMap) -> BTreeMap<String, Value> {
    keys.iter()
        .map(|(cid, path)| (cid.clone(), Value::String(path.clone())))
        .collect()
}

/// The settings file of one VM, held under its lock: open it early (it may be opened while
/// other work runs), render it after the instance changed, close it at the end.
#[derive(Debug)]
pub struct Session {
    vm: String,
    lock: ObjectLock,
    settings: AgentSettings,
}

/// Takes the settings lock of instance `vm` and reads its settings file. Errors are plain
/// text; the caller adds the disk and VM.
pub async fn open(client: &Client, vm: &str) -> Result<Session, String> {
    let lock = client
        .acquire_lock(&format!("settings.{vm}"), LOCK_WAIT)
        .await
        .map_err(|e| format!("locking the agent settings: {e}"))?;
    match pull(client, vm).await {
        Ok(settings) => Ok(Session {
            vm: vm.to_owned(),
            lock,
            settings,
        }),
        Err(e) => {
            release(client, lock).await;
            Err(e)
        }
    }
}

impl Session {
    /// Makes the file list exactly the disks the instance's keys record. `known` are keys
    /// the caller read a moment ago (saves one read); `None` reads them.
    pub async fn render(
        &mut self,
        client: &Client,
        known: Option<DiskMap>,
    ) -> Result<Synced, String> {
        let vm = self.vm.as_str();
        let mut keys = match known {
            Some(keys) => keys,
            None => read_keys(client, vm).await?,
        };
        let mut writes = 0;
        for round in 1..=MAX_ROUNDS {
            let wanted = persistent_from(&keys);
            if self.settings.disks.persistent != wanted {
                let mut next = self.settings.clone();
                next.disks.persistent = wanted;
                agent_settings::push(client, vm, &next).await?;
                self.settings = next;
                writes += 1;
            }
            let now = read_keys(client, vm).await?;
            if now == keys {
                tracing::debug!(writes, disks = ?keys.keys().collect::<Vec<_>>(), "settings file matches the disk keys");
                return Ok(Synced {
                    disks: keys,
                    writes,
                });
            }
            tracing::info!(
                round,
                of = MAX_ROUNDS,
                "disk keys changed while the settings file was written; rendering it again"
            );
            keys = now;
        }
        Err(format!(
            "the disk keys kept changing while {SETTINGS_PATH} was written ({MAX_ROUNDS} rounds); \
             the file may lag behind them"
        ))
    }

    /// Gives the lock back.
    pub async fn close(self, client: &Client) {
        release(client, self.lock).await;
    }
}

/// Opens, renders and closes: [`open`] + [`Session::render`] + [`Session::close`].
pub async fn sync(client: &Client, vm: &str, known: Option<DiskMap>) -> Result<Synced, String> {
    let mut session = open(client, vm).await?;
    let result = session.render(client, known).await;
    session.close(client).await;
    result
}

async fn release(client: &Client, lock: ObjectLock) {
    if let Err(e) = client.release_lock(lock).await {
        tracing::warn!(error = %e, "could not release the settings lock; it expires by itself");
    }
}

async fn read_keys(client: &Client, vm: &str) -> Result<DiskMap, String> {
    client
        .get_instance(vm)
        .await
        .map(|inst| recorded_disks(&inst))
        .map_err(|e| format!("reading the disk keys: {e}"))
}

/// The settings file as it is now. A missing or unreadable file is an error: the rest of
/// it (mbus, networks) cannot be rendered from anything the CPI keeps.
async fn pull(client: &Client, vm: &str) -> Result<AgentSettings, String> {
    let file = client
        .pull_file(vm, SETTINGS_PATH)
        .await
        .map_err(|e| format!("reading the agent settings {SETTINGS_PATH}: {e}"))?;
    AgentSettings::from_bytes(&file.data)
        .map_err(|e| format!("the agent settings {SETTINGS_PATH} are not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_the_paths_as_strings() {
        let keys = DiskMap::from([
            ("disk-a".to_owned(), "/warden-cpi-dev/disk-a".to_owned()),
            ("vol-p-1".to_owned(), "/warden-cpi-dev/vol-p-1".to_owned()),
        ]);
        let got = serde_json::to_value(persistent_from(&keys)).unwrap_or_default();
        assert_eq!(
            got,
            serde_json::json!({"disk-a": "/warden-cpi-dev/disk-a",
                "vol-p-1": "/warden-cpi-dev/vol-p-1"})
        );
        assert!(persistent_from(&DiskMap::new()).is_empty());
    }
}
