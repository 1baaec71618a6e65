//! Keeps the agent settings file's `disks.persistent` equal to the instance's
//! `user.bosh.disk.*` keys (`docs/design.md` §2). The file has no ETag, so it is never
//! edited from what a caller believes: it is rendered from the keys and written.
//!
//! A render happens inside a [`Session`], which holds the instance's lock, the one every
//! CPI writer of the instance takes (`Client::update_instance`). The key edit and the
//! render therefore form one unit: no other CPI process can move the keys between them,
//! so a render needs no re-read; and two pushes never overlap (LXD writes a pushed file
//! by truncating it and copying the new bytes in, so two pushes at the same moment can
//! leave the tail of a longer document behind a shorter one: invalid JSON the agent
//! cannot boot from).

use std::collections::BTreeMap;

use serde_json::Value;

use super::agent_settings::{self, AgentSettings, SETTINGS_PATH};
use super::disk_keys::{DiskMap, recorded_disks};
use super::errors::StepError;
use crate::lxd::{Client, LxdError, ObjectLock};

/// `disks.persistent` for `keys`: each CID with its path as a string hint.
pub fn persistent_from(keys: &DiskMap) -> BTreeMap<String, Value> {
    keys.iter()
        .map(|(cid, path)| (cid.clone(), Value::String(path.clone())))
        .collect()
}

/// One VM's keys and settings file, held under the instance's lock: open, edit the
/// instance with `Client::update_instance_locked(session.lock(), ..)`, render, close.
#[derive(Debug)]
pub struct Session {
    vm: String,
    lock: ObjectLock,
}

impl Session {
    /// Takes the lock of instance `vm`.
    pub async fn open(client: &Client, vm: &str) -> Result<Session, LxdError> {
        let lock = client.lock_instance(vm).await?;
        Ok(Session {
            vm: vm.to_owned(),
            lock,
        })
    }

    /// The held lock, for `Client::update_instance_locked`.
    pub fn lock(&self) -> &ObjectLock {
        &self.lock
    }

    /// The settings file as it is now. A missing or unreadable file is an error: the
    /// rest of it (mbus, networks) cannot be rendered from anything the CPI keeps.
    pub async fn pull(&self, client: &Client) -> Result<AgentSettings, StepError> {
        let file = client
            .pull_file(&self.vm, SETTINGS_PATH)
            .await
            .map_err(|source| StepError::SettingsRead {
                path: SETTINGS_PATH,
                source,
            })?;
        AgentSettings::from_bytes(&file.data).map_err(|source| StepError::SettingsInvalid {
            path: SETTINGS_PATH,
            source,
        })
    }

    /// The disk keys as the instance records them now.
    pub async fn read_keys(&self, client: &Client) -> Result<DiskMap, StepError> {
        client
            .get_instance(&self.vm)
            .await
            .map(|inst| recorded_disks(&inst))
            .map_err(StepError::DiskKeysRead)
    }

    /// Makes `settings` (the file's content) list exactly the disks `keys` record and
    /// writes it when that changed something. Returns whether it wrote.
    pub async fn render(
        &self,
        client: &Client,
        settings: &mut AgentSettings,
        keys: &DiskMap,
    ) -> Result<bool, StepError> {
        let wanted = persistent_from(keys);
        if settings.disks.persistent == wanted {
            return Ok(false);
        }
        let mut next = settings.clone();
        next.disks.persistent = wanted;
        agent_settings::push(client, &self.vm, &next).await?;
        *settings = next;
        tracing::debug!(disks = ?keys.keys().collect::<Vec<_>>(), "settings file rendered from the disk keys");
        Ok(true)
    }

    /// Reads the file (and the keys, unless `known`) and renders it.
    pub async fn sync(&self, client: &Client, known: Option<DiskMap>) -> Result<bool, StepError> {
        let keys = async {
            match known {
                Some(keys) => Ok(keys),
                None => self.read_keys(client).await,
            }
        };
        let (settings, keys) = tokio::join!(self.pull(client), keys);
        self.render(client, &mut settings?, &keys?).await
    }

    /// Gives the lock back.
    pub async fn close(self, client: &Client) {
        if let Err(e) = client.release_lock(self.lock).await {
            tracing::warn!(error = %e, "could not release the instance lock; it expires by itself");
        }
    }
}

/// Opens a session, syncs the file from the keys (`known`, or read) and closes it.
pub async fn sync(client: &Client, vm: &str, known: Option<DiskMap>) -> Result<bool, StepError> {
    let session = Session::open(client, vm)
        .await
        .map_err(|source| StepError::Lock {
            vm: vm.to_owned(),
            source,
        })?;
    let result = session.sync(client, known).await;
    session.close(client).await;
    result
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
