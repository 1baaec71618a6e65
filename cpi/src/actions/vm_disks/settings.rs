//! What the settings file says: the agent settings file's `disks.persistent` is kept
//! equal to the instance's `user.bosh.disk.*` keys (`ARCHITECTURE.md` §2). The file has no
//! ETag, so it is never edited from what a caller believes: it is read, rendered from the
//! keys and written, always under the instance's lock that [`VmDisks`] holds.

use std::collections::BTreeMap;

use serde_json::Value;

use super::VmDisks;
use super::keys::DiskMap;
use crate::actions::agent_settings::{self, AgentSettings, SETTINGS_PATH};
use crate::actions::errors::StepError;

/// `disks.persistent` for `keys`: each CID with its path as a string hint.
pub fn persistent_from(keys: &DiskMap) -> BTreeMap<String, Value> {
    keys.iter()
        .map(|(cid, path)| (cid.clone(), Value::String(path.clone())))
        .collect()
}

impl VmDisks<'_> {
    /// The settings file as it is now. A missing or unreadable file is an error: the
    /// rest of it (mbus, networks) cannot be rendered from anything the CPI keeps.
    pub(super) async fn pull(&self) -> Result<AgentSettings, StepError> {
        let file = self
            .client
            .pull_file(self.vm.as_str(), SETTINGS_PATH)
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

    /// Makes `settings` (the file's content, as read) list exactly the disks `keys`
    /// record and writes it when that changed something. Returns the content as it is now.
    pub(super) async fn render(
        &self,
        settings: Result<AgentSettings, StepError>,
        keys: &DiskMap,
    ) -> Result<AgentSettings, StepError> {
        let mut settings = settings?;
        let wanted = persistent_from(keys);
        if settings.disks.persistent == wanted {
            return Ok(settings);
        }
        settings.disks.persistent = wanted;
        agent_settings::push(self.client, self.vm.as_str(), &settings).await?;
        tracing::debug!(disks = ?keys.keys().collect::<Vec<_>>(), "settings file rendered from the disk keys");
        Ok(settings)
    }

    /// Reads the file and renders it from `keys`.
    pub(super) async fn sync(&self, keys: &DiskMap) -> Result<AgentSettings, StepError> {
        self.render(self.pull().await, keys).await
    }
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
