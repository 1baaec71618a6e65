//! What `create_vm` asks LXD for: the instance (image, profiles, config keys, devices) and
//! its ephemeral volume, built from the cloud properties, the config and the NIC plan.
//! Pure functions, so the rules are unit-tested without LXD.

use super::cloud_properties::VmCloudProperties;
use super::names::{
    AGENT_ID_KEY, DIRECTOR_KEY, EPHEMERAL_DEVICE, EPHEMERAL_PATH, HELPER_VERSION_KEY, MANAGED_BY,
    MANAGED_BY_KEY, RESERVED_PREFIX, ROOT_DEVICE, VM_KEY,
};
use super::networks::NetworkPlan;
use crate::config::LxdConfig;
use crate::lxd::{Config, Device, Devices, InstanceSource, InstancesPost, StorageVolumesPost};

/// Everything the instance is made from.
#[derive(Debug)]
pub struct VmSpec<'a> {
    /// Instance name (the VM CID).
    pub name: &'a str,
    /// The BOSH agent ID.
    pub agent_id: &'a str,
    /// Fingerprint of the stemcell's image.
    pub fingerprint: &'a str,
    /// The image's guest helper version.
    pub helper_version: &'a str,
    /// The director's UUID, from the request context.
    pub director: Option<&'a str>,
    /// Parsed cloud properties.
    pub props: &'a VmCloudProperties,
    /// The config's `lxd` section.
    pub lxd: &'a LxdConfig,
    /// Name of the ephemeral volume.
    pub ephemeral_volume: &'a str,
    /// NICs and their keys.
    pub nics: &'a NetworkPlan,
}

impl VmSpec<'_> {
    /// The cluster member to create the objects on, if any (`target` wins over `lxd.target`).
    pub fn target(&self) -> Option<&str> {
        self.props.target.as_deref().or(self.lxd.target.as_deref())
    }

    /// What creates the instance: a stopped container from the image.
    pub fn instance_body(&self) -> InstancesPost {
        let mut post = InstancesPost::container(
            self.name,
            InstanceSource::image_fingerprint(self.fingerprint),
        );
        post.config = self.config();
        post.devices = self.devices();
        post.profiles = Some(self.profiles());
        post.description = format!("BOSH VM of agent {}", self.agent_id);
        post.size = self.props.lxd_instance_type().map(str::to_owned);
        post
    }

    /// The ephemeral volume: `ephemeral_disk` MiB, marked as this VM's.
    pub fn ephemeral_volume_body(&self) -> StorageVolumesPost {
        let mut post =
            StorageVolumesPost::filesystem(self.ephemeral_volume, self.props.ephemeral_disk_mib);
        post.config
            .insert(MANAGED_BY_KEY.to_owned(), MANAGED_BY.to_owned());
        post.config.insert(VM_KEY.to_owned(), self.name.to_owned());
        if let Some(director) = self.director {
            post.config
                .insert(DIRECTOR_KEY.to_owned(), director.to_owned());
        }
        post.description = format!("ephemeral disk of BOSH VM {}", self.name);
        post
    }

    /// Instance config: limits and security from the flat properties, then the raw cloud
    /// `config`, then the CPI's own `user.bosh.*` keys (which raw config cannot override).
    fn config(&self) -> Config {
        let p = self.props;
        let mut c = Config::new();
        c.insert("boot.autostart".into(), "true".into());
        if let Some(cpu) = p.cpu_limit() {
            c.insert("limits.cpu".into(), cpu.to_string());
        }
        if let Some(mib) = p.memory_limit_mib() {
            c.insert("limits.memory".into(), format!("{mib}MiB"));
        }
        if p.privileged {
            c.insert("security.privileged".into(), "true".into());
        }
        if p.nesting {
            c.insert("security.nesting".into(), "true".into());
        }
        for (key, value) in &p.config {
            if key.starts_with(RESERVED_PREFIX) {
                tracing::warn!(key = %key, "cloud config may not set the CPI's own keys; ignored");
            } else {
                c.insert(key.clone(), value.clone());
            }
        }
        c.insert(MANAGED_BY_KEY.into(), MANAGED_BY.into());
        c.insert(AGENT_ID_KEY.into(), self.agent_id.into());
        c.insert(HELPER_VERSION_KEY.into(), self.helper_version.into());
        if let Some(director) = self.director {
            c.insert(DIRECTOR_KEY.into(), director.into());
        }
        c.extend(self.nics.config.clone());
        c
    }

    /// Root disk on the configured pool, the ephemeral volume, the NICs, then the raw cloud
    /// `devices` (a raw device of the same name replaces the CPI's, with a warning).
    fn devices(&self) -> Devices {
        let pool = self.lxd.storage_pool.as_str();
        let mut d = Devices::new();
        d.insert(
            ROOT_DEVICE.into(),
            device(&[("type", "disk"), ("path", "/"), ("pool", pool)]),
        );
        d.insert(
            EPHEMERAL_DEVICE.into(),
            device(&[
                ("type", "disk"),
                ("pool", pool),
                ("source", self.ephemeral_volume),
                ("path", EPHEMERAL_PATH),
            ]),
        );
        d.extend(self.nics.devices.clone());
        for (name, raw) in &self.props.devices {
            if d.contains_key(name) {
                tracing::warn!(device = %name, "cloud devices replace the CPI's device of the same name");
            }
            d.insert(name.clone(), raw.clone());
        }
        d
    }

    /// The configured profile, then the cloud `profiles`, each once.
    fn profiles(&self) -> Vec<String> {
        let mut out = vec![self.lxd.profile.clone()];
        for p in &self.props.profiles {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

fn device(pairs: &[(&str, &str)]) -> Device {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
#[path = "vm_spec_tests.rs"]
mod tests;
