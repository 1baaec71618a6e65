//! The agent settings file of a warden-style agent: where it lives, what it holds (bosh-agent
//! `settings/settings.go`, type `Settings`), and writing it into an instance through LXD's
//! file API, mode 0600, owned by root. It carries the mbus and blobstore credentials, which
//! is why it is a file and never a `user.*` key.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::errors::StepError;
use crate::config::AgentConfig;
use crate::lxd::{Client, FileMode, LxdError, LxdErrorKind};

/// The file the stemcell's `agent.json` names as the agent's settings source.
pub use bosh_lxd_contract::paths::AGENT_SETTINGS as SETTINGS_PATH;
/// Its mode: readable by root only.
pub const SETTINGS_MODE: u32 = 0o600;
/// Directories that must exist before the file can be pushed, outermost first.
const PARENTS: [(&str, u32); 2] = [("/var/vcap", 0o755), ("/var/vcap/bosh", 0o700)];

/// `vm` of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmSettings {
    /// The VM CID.
    pub name: String,
    /// Whatever else a reader found (kept on a rewrite).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `disks` of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskSettings {
    /// Always `""` for a container.
    pub system: String,
    /// Always null: with `SkipDiskSetup` the agent uses `/var/vcap/data` as it is.
    pub ephemeral: Value,
    /// Disk CID to hint (`/warden-cpi-dev/<cid>`).
    pub persistent: BTreeMap<String, Value>,
    /// Whatever else a reader found (kept on a rewrite).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The whole settings document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSettings {
    /// `create_vm` argument 0; the agent also uses it as its hostname.
    pub agent_id: String,
    /// The VM's name.
    pub vm: VmSettings,
    /// Message bus URL (a secret).
    pub mbus: String,
    /// NTP servers.
    pub ntp: Vec<String>,
    /// Default blobstore (`provider` + `options`, may hold credentials); absent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobstore: Option<Value>,
    /// Network name to network, each with `mac` and `preconfigured`.
    pub networks: Map<String, Value>,
    /// System, ephemeral and persistent disks.
    pub disks: DiskSettings,
    /// `create_vm` argument 5, untouched.
    pub env: Value,
    /// Whatever else a reader found (kept on a rewrite).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AgentSettings {
    /// The settings of a new VM: no persistent disk yet.
    pub fn new(
        agent_id: &str,
        vm_name: &str,
        agent: &AgentConfig,
        networks: Map<String, Value>,
        env: Value,
    ) -> Self {
        AgentSettings {
            agent_id: agent_id.to_owned(),
            vm: VmSettings {
                name: vm_name.to_owned(),
                extra: Map::new(),
            },
            mbus: agent.mbus.clone(),
            ntp: agent.ntp.clone(),
            blobstore: agent
                .blobstore
                .as_ref()
                .map(|b| json!({"provider": b.provider, "options": b.options})),
            networks,
            disks: DiskSettings {
                system: String::new(),
                ephemeral: Value::Null,
                persistent: BTreeMap::new(),
                extra: Map::new(),
            },
            env,
            extra: Map::new(),
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(self).map(Bytes::from)
    }

    /// Parses the file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Writes `settings` to [`SETTINGS_PATH`] in `instance`, root-owned, mode 0600. Works on a
/// stopped instance. Missing parent directories (a stemcell without `/var/vcap/bosh`) are
/// created first.
pub async fn push(
    client: &Client,
    instance: &str,
    settings: &AgentSettings,
) -> Result<(), StepError> {
    let bytes = settings.to_bytes().map_err(StepError::SettingsEncode)?;
    let mode = FileMode::root(SETTINGS_MODE);
    let first = client
        .push_file(instance, SETTINGS_PATH, bytes.clone(), mode)
        .await;
    match first {
        Ok(()) => return Ok(()),
        Err(e) if e.is_not_found() => {
            tracing::info!(
                instance,
                "creating the parent directories of the settings file"
            );
        }
        Err(e) => return Err(push_error(e)),
    }
    for (dir, dir_mode) in PARENTS {
        match client
            .create_directory(instance, dir, FileMode::root(dir_mode))
            .await
        {
            // An existing directory is fine whatever LXD says about it.
            Ok(()) => {}
            Err(e) if e.is_already_exists() || e.kind() == &LxdErrorKind::Refused => {}
            Err(e) => return Err(push_error(e)),
        }
    }
    client
        .push_file(instance, SETTINGS_PATH, bytes, mode)
        .await
        .map_err(push_error)
}

fn push_error(source: LxdError) -> StepError {
    StepError::SettingsWrite {
        path: SETTINGS_PATH,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn agent() -> AgentConfig {
        let text = r#"{"agent": {"mbus": "https://mbus:pw@0.0.0.0:6868", "ntp": ["1.2.3.4"],
            "blobstore": {"provider": "dav", "options": {"password": "bp"}}}}"#;
        Config::from_json_str(text, "test").unwrap().agent
    }

    #[test]
    fn new_vm_settings_have_the_documented_shape() {
        let mut networks = Map::new();
        networks.insert(
            "n".into(),
            json!({"type": "manual", "mac": "00:16:3e:00:00:01"}),
        );
        let s = AgentSettings::new("agent-1", "vm-1", &agent(), networks, json!({"bosh": {}}));
        let v: Value = serde_json::from_slice(&s.to_bytes().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({"agent_id": "agent-1", "vm": {"name": "vm-1"},
                "mbus": "https://mbus:pw@0.0.0.0:6868", "ntp": ["1.2.3.4"],
                "blobstore": {"provider": "dav", "options": {"password": "bp"}},
                "networks": {"n": {"type": "manual", "mac": "00:16:3e:00:00:01"}},
                "disks": {"system": "", "ephemeral": null, "persistent": {}},
                "env": {"bosh": {}}})
        );
        let back = AgentSettings::from_bytes(&s.to_bytes().unwrap()).unwrap();
        assert_eq!(back, s, "round trip");
    }

    #[test]
    fn unknown_fields_survive_a_rewrite_and_null_blobstore_is_omitted() {
        let text = br#"{"agent_id":"a","vm":{"name":"v","id":"v"},"mbus":"m","ntp":[],
            "networks":{},"disks":{"system":"","ephemeral":null,"persistent":{"d":"/p"},
            "raw_ephemeral":[]},"env":null,"trusted_certs":"x"}"#;
        let s = AgentSettings::from_bytes(text).unwrap();
        let v: Value = serde_json::from_slice(&s.to_bytes().unwrap()).unwrap();
        assert_eq!(v["trusted_certs"], "x");
        assert_eq!(v["vm"]["id"], "v");
        assert_eq!(v["disks"]["raw_ephemeral"], json!([]));
        assert_eq!(v["disks"]["persistent"]["d"], "/p");
        assert!(v.get("blobstore").is_none());
        assert_eq!(v["env"], Value::Null);
    }

    /// What the helper reads, found where `bosh-lxd-contract` says the CPI writes it.
    #[test]
    fn the_helper_finds_its_fields_at_the_contract_pointers() {
        use bosh_lxd_contract::paths::disk_device_path;
        use bosh_lxd_contract::settings as fields;

        let mut networks = Map::new();
        networks.insert("n".into(), json!({"mac": "00:16:3e:00:00:01"}));
        let env = json!({"persistent_disk_mount_options": ["noatime"]});
        let mut s = AgentSettings::new("agent-1", "vm-1", &agent(), networks, env);
        let hint = Value::String(disk_device_path("disk-1"));
        s.disks.persistent.insert("disk-1".into(), hint);
        let v: Value = serde_json::from_slice(&s.to_bytes().unwrap()).unwrap();
        let at = |pointer: &str| v.pointer(pointer).cloned();
        assert_eq!(at(fields::AGENT_ID), Some(json!("agent-1")));
        assert_eq!(at(fields::VM_NAME), Some(json!("vm-1")));
        let nic = at(fields::NETWORKS).map(|n| n["n"][fields::NETWORK_MAC].clone());
        assert_eq!(nic, Some(json!("00:16:3e:00:00:01")));
        let disks = at(fields::PERSISTENT_DISKS);
        assert_eq!(disks, Some(json!({"disk-1": "/warden-cpi-dev/disk-1"})));
        let options = at(fields::PERSISTENT_DISK_MOUNT_OPTIONS);
        assert_eq!(options, Some(json!(["noatime"])));
        assert_eq!(SETTINGS_PATH, bosh_lxd_contract::paths::AGENT_SETTINGS);
    }
}
