//! VM cloud properties (`ARCHITECTURE.md` §3): the flat keys `create_vm` reads from the merged
//! AZ, vm_type and vm_extension properties. A malformed known key is a `CloudError` naming
//! it; an unknown key is logged and ignored, since extensions may be shared with other CPIs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::json::{FieldError, Fields};
use crate::rpc::CpiError;

/// Ephemeral disk size when `ephemeral_disk` is not given, in MiB.
pub const DEFAULT_EPHEMERAL_DISK_MIB: u64 = 10 * 1024;

/// What `instance_type` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceType {
    /// `cN-mM`: N CPUs and M GiB of memory, resolved here without LXD's type list.
    Sized {
        /// CPUs.
        cpu: u32,
        /// Memory in MiB (M × 1024).
        memory_mib: u64,
    },
    /// Any other name (e.g. `t2.micro`), passed to LXD as its `instance_type`.
    Named(String),
}

impl InstanceType {
    /// Reads `cN-mM` with positive integers N and M as [`InstanceType::Sized`], anything else
    /// as [`InstanceType::Named`].
    pub fn parse(name: &str) -> Self {
        Self::parse_sized(name).unwrap_or_else(|| Self::Named(name.to_owned()))
    }

    fn parse_sized(name: &str) -> Option<Self> {
        let (cpu, mem) = name.strip_prefix('c')?.split_once("-m")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(cpu) || !digits(mem) {
            return None;
        }
        let cpu: u32 = cpu.parse().ok().filter(|n| *n > 0)?;
        let gib: u64 = mem.parse().ok().filter(|n| *n > 0)?;
        Some(Self::Sized {
            cpu,
            memory_mib: gib.checked_mul(1024)?,
        })
    }
}

/// The typed VM cloud properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmCloudProperties {
    /// `instance_type`.
    pub instance_type: Option<InstanceType>,
    /// `cpu`: CPU count; wins over `instance_type`.
    pub cpu: Option<u32>,
    /// `memory` in MiB; wins over `instance_type`.
    pub memory_mib: Option<u64>,
    /// `ephemeral_disk` in MiB, default [`DEFAULT_EPHEMERAL_DISK_MIB`].
    pub ephemeral_disk_mib: u64,
    /// `privileged`: run the container privileged (default false).
    pub privileged: bool,
    /// `nesting`: allow nested containers (default false; the director under bpm needs it).
    pub nesting: bool,
    /// `target`: cluster member to place the VM on, overriding `lxd.target`.
    pub target: Option<String>,
    /// `devices`: raw LXD devices by name; scalar values are turned into strings.
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
    /// `config`: raw LXD instance config; scalar values are turned into strings.
    pub config: BTreeMap<String, String>,
    /// `profiles`: extra LXD profiles, applied after the configured one.
    pub profiles: Vec<String>,
}

impl VmCloudProperties {
    /// Parses `create_vm`'s merged cloud properties.
    pub fn parse(props: &Map<String, Value>) -> Result<Self, CpiError> {
        let mut f = Fields::from_map("cloud_properties", props.clone());
        let parsed = Self::read(&mut f)?;
        for key in f.leftover_paths() {
            tracing::warn!(key = %key, "ignoring unknown VM cloud property");
        }
        Ok(parsed)
    }

    fn read(f: &mut Fields) -> Result<Self, FieldError> {
        let instance_type = f
            .non_empty_string("instance_type")?
            .map(|s| InstanceType::parse(&s));
        Ok(Self {
            instance_type,
            cpu: f.positive_u32("cpu")?,
            memory_mib: f.positive_u64("memory")?,
            ephemeral_disk_mib: f
                .positive_u64("ephemeral_disk")?
                .unwrap_or(DEFAULT_EPHEMERAL_DISK_MIB),
            privileged: f.bool("privileged")?.unwrap_or(false),
            nesting: f.bool("nesting")?.unwrap_or(false),
            target: f.non_empty_string("target")?,
            devices: read_devices(f)?,
            config: f.string_map("config")?.unwrap_or_default(),
            profiles: read_profiles(f)?,
        })
    }

    /// CPU limit to apply: `cpu` if given, else the one from a `cN-mM` instance type.
    pub fn cpu_limit(&self) -> Option<u32> {
        match (&self.cpu, &self.instance_type) {
            (Some(cpu), _) => Some(*cpu),
            (None, Some(InstanceType::Sized { cpu, .. })) => Some(*cpu),
            (None, _) => None,
        }
    }

    /// Memory limit to apply in MiB: `memory` if given, else from a `cN-mM` instance type.
    pub fn memory_limit_mib(&self) -> Option<u64> {
        match (&self.memory_mib, &self.instance_type) {
            (Some(mib), _) => Some(*mib),
            (None, Some(InstanceType::Sized { memory_mib, .. })) => Some(*memory_mib),
            (None, _) => None,
        }
    }

    /// The instance type name to hand to LXD, for names this parser does not resolve.
    pub fn lxd_instance_type(&self) -> Option<&str> {
        match &self.instance_type {
            Some(InstanceType::Named(name)) => Some(name),
            Some(InstanceType::Sized { .. }) | None => None,
        }
    }
}

fn read_devices(f: &mut Fields) -> Result<BTreeMap<String, BTreeMap<String, String>>, FieldError> {
    let Some(devices) = f.object("devices")? else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (name, device) in devices {
        let mut d = Fields::new(format!("{}.{name}", f.path("devices")), device)?;
        let kind = d.non_empty_string("type")?;
        let kind = d.required("type", kind)?;
        let mut entries = d.into_string_map()?;
        entries.insert("type".to_owned(), kind);
        out.insert(name, entries);
    }
    Ok(out)
}

fn read_profiles(f: &mut Fields) -> Result<Vec<String>, FieldError> {
    let profiles = f.string_list("profiles")?.unwrap_or_default();
    if profiles.iter().any(String::is_empty) {
        return Err(f.error("profiles", "profile names must not be empty"));
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<VmCloudProperties, CpiError> {
        VmCloudProperties::parse(value.as_object().unwrap())
    }

    #[test]
    fn empty_properties_give_the_defaults() {
        let p = parse(json!({})).unwrap();
        assert_eq!(p.ephemeral_disk_mib, DEFAULT_EPHEMERAL_DISK_MIB);
        assert!(!p.privileged && !p.nesting);
        assert_eq!(
            (p.cpu_limit(), p.memory_limit_mib(), p.lxd_instance_type()),
            (None, None, None)
        );
        assert!(p.devices.is_empty() && p.config.is_empty() && p.profiles.is_empty());
    }

    #[test]
    fn every_known_key_is_read() {
        let p = parse(json!({
            "instance_type": "t2.micro", "cpu": 2, "memory": 2048, "ephemeral_disk": 4096,
            "privileged": true, "nesting": true, "target": "node2",
            "devices": {"lxd-sock": {"type": "proxy", "bind": "container", "uid": 1000}},
            "config": {"limits.processes": 500, "security.syscalls.intercept.mknod": true},
            "profiles": ["extra"], "some_other_cpi_key": {"x": 1}}))
        .unwrap();
        assert_eq!(p.lxd_instance_type(), Some("t2.micro"));
        assert_eq!(
            (p.cpu_limit(), p.memory_limit_mib(), p.ephemeral_disk_mib),
            (Some(2), Some(2048), 4096)
        );
        assert!(p.privileged && p.nesting);
        assert_eq!(p.target.as_deref(), Some("node2"));
        assert_eq!(p.devices["lxd-sock"]["type"], "proxy");
        assert_eq!(p.devices["lxd-sock"]["uid"], "1000");
        assert_eq!(p.config["limits.processes"], "500");
        assert_eq!(p.config["security.syscalls.intercept.mknod"], "true");
        assert_eq!(p.profiles, vec!["extra".to_owned()]);
    }

    #[test]
    fn sized_instance_types_resolve_offline_and_explicit_keys_win() {
        let cases = [
            (
                "c2-m4",
                Some(InstanceType::Sized {
                    cpu: 2,
                    memory_mib: 4096,
                }),
            ),
            (
                "c16-m64",
                Some(InstanceType::Sized {
                    cpu: 16,
                    memory_mib: 65536,
                }),
            ),
            ("c0-m4", None),
            ("c2-m0.5", None),
            ("c2-m", None),
            ("cx-m4", None),
            ("m4-c2", None),
        ];
        for (name, sized) in cases {
            let want = sized.unwrap_or_else(|| InstanceType::Named(name.to_owned()));
            assert_eq!(InstanceType::parse(name), want, "case {name}");
        }
        let p = parse(json!({"instance_type": "c2-m4", "memory": 1024})).unwrap();
        assert_eq!(
            (p.cpu_limit(), p.memory_limit_mib(), p.lxd_instance_type()),
            (Some(2), Some(1024), None)
        );
    }

    #[test]
    fn malformed_scalar_keys_are_named() {
        let cases = [
            (
                "instance_type",
                json!({"instance_type": ""}),
                "cloud_properties.instance_type: expected a non-empty string",
            ),
            (
                "cpu",
                json!({"cpu": "2"}),
                "cloud_properties.cpu: expected a positive integer",
            ),
            (
                "cpu zero",
                json!({"cpu": 0}),
                "cloud_properties.cpu: expected a positive integer",
            ),
            (
                "memory",
                json!({"memory": 1.5}),
                "cloud_properties.memory: expected a positive integer",
            ),
            (
                "ephemeral_disk",
                json!({"ephemeral_disk": -1}),
                "cloud_properties.ephemeral_disk: expected a positive integer",
            ),
            (
                "privileged",
                json!({"privileged": "true"}),
                "cloud_properties.privileged: expected a boolean",
            ),
            (
                "nesting",
                json!({"nesting": 1}),
                "cloud_properties.nesting: expected a boolean",
            ),
            (
                "target",
                json!({"target": 3}),
                "cloud_properties.target: expected a non-empty string",
            ),
        ];
        assert_each_named(&cases);
    }

    #[test]
    fn malformed_nested_keys_are_named() {
        let cases = [
            (
                "devices",
                json!({"devices": []}),
                "cloud_properties.devices: expected an object",
            ),
            (
                "device",
                json!({"devices": {"d": "disk"}}),
                "cloud_properties.devices.d: expected an object",
            ),
            (
                "device type",
                json!({"devices": {"d": {"path": "/x"}}}),
                "cloud_properties.devices.d.type: required field is missing",
            ),
            (
                "device value",
                json!({"devices": {"d": {"type": "disk", "x": [1]}}}),
                "cloud_properties.devices.d.x: expected a string, number or boolean",
            ),
            (
                "config",
                json!({"config": {"a": {"b": 1}}}),
                "cloud_properties.config.a: expected a string, number or boolean",
            ),
            (
                "profiles",
                json!({"profiles": "p"}),
                "cloud_properties.profiles: expected an array of strings",
            ),
            (
                "profile name",
                json!({"profiles": [""]}),
                "cloud_properties.profiles: profile names must not be empty",
            ),
        ];
        assert_each_named(&cases);
    }

    /// Each case's properties are refused with a `CloudError` starting with its text.
    fn assert_each_named(cases: &[(&str, Value, &str)]) {
        for (name, value, want) in cases {
            let err = parse(value.clone()).expect_err(name);
            assert_eq!(err.bosh_type(), "Bosh::Clouds::CloudError", "case {name}");
            assert!(err.to_string().starts_with(want), "case {name}: got {err}");
        }
    }
}
