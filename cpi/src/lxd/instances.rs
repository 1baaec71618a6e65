//! Instances (`/1.0/instances`): create from an image, get, PUT/PATCH, delete, list,
//! (the retrying ETag edit is in `instance_edit.rs`).
//!
//! Structs follow LXD's `shared/api/instance.go` (`Instance`, `InstancesPost`,
//! `InstanceSource`). Unknown fields are kept in `extra` because a PUT must send
//! the whole object back.

use std::collections::BTreeMap;

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::{Client, ETag};
use super::error::LxdError;
use super::etag::Editable;
use super::paths::{decode_component, instance_path, with_params};

/// An LXD config map (`config`, `expanded_config`, a volume's `config`).
pub type Config = BTreeMap<String, String>;
/// One LXD device: `type` plus its type-specific keys (`pool`, `source`, `path`...).
pub type Device = BTreeMap<String, String>;
/// Devices by name.
pub type Devices = BTreeMap<String, Device>;

/// LXD's `api.Instance`, as returned by `GET /1.0/instances/<name>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// Architecture (`x86_64`).
    #[serde(default)]
    pub architecture: String,
    /// Local config, including `volatile.*` keys (a PUT must send them back).
    #[serde(default)]
    pub config: Config,
    /// Local devices.
    #[serde(default)]
    pub devices: Devices,
    /// Deleted when stopped.
    #[serde(default)]
    pub ephemeral: bool,
    /// Profiles, in order.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Whether it has stateful snapshots.
    #[serde(default)]
    pub stateful: bool,
    /// Free-text description.
    #[serde(default)]
    pub description: String,
    /// Creation time (read-only).
    #[serde(default)]
    pub created_at: String,
    /// Config with the profiles applied (read-only).
    #[serde(default)]
    pub expanded_config: Config,
    /// Devices with the profiles applied (read-only).
    #[serde(default)]
    pub expanded_devices: Devices,
    /// `Running`, `Stopped`, ... (Incus: `Ready`) (read-only).
    #[serde(default)]
    pub status: String,
    /// 103 running, 102 stopped, 113 ready (Incus) (read-only).
    #[serde(default)]
    pub status_code: u16,
    /// Last start (read-only).
    #[serde(default)]
    pub last_used_at: String,
    /// Cluster member (read-only).
    #[serde(default)]
    pub location: String,
    /// `container` or `virtual-machine` (read-only).
    #[serde(default, rename = "type")]
    pub instance_type: String,
    /// Project (read-only).
    #[serde(default)]
    pub project: String,
    /// Fields this client does not model; sent back on PUT.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Instance {
    /// The writable part (`api.InstancePut`) as JSON: what PUT sends and PATCH diffs.
    pub fn put_view(&self) -> Value {
        let mut view = self.extra.clone();
        let mut set = |k: &str, v: Value| {
            view.insert(k.to_owned(), v);
        };
        set("architecture", Value::String(self.architecture.clone()));
        set("config", string_map(&self.config));
        set("devices", devices_json(&self.devices));
        set("ephemeral", Value::Bool(self.ephemeral));
        set(
            "profiles",
            self.profiles.iter().cloned().map(Value::String).collect(),
        );
        set("stateful", Value::Bool(self.stateful));
        set("description", Value::String(self.description.clone()));
        Value::Object(view)
    }

    /// True when the status says the instance runs (`Running`, or Incus' `Ready`).
    pub fn is_running(&self) -> bool {
        super::instance_state::status_is_running(&self.status, self.status_code)
    }
}

fn string_map(m: &Config) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn devices_json(d: &Devices) -> Value {
    Value::Object(d.iter().map(|(k, v)| (k.clone(), string_map(v))).collect())
}

/// Where a new instance comes from (`api.InstanceSource`); only images here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceSource {
    /// `image`.
    #[serde(rename = "type")]
    pub source_type: String,
    /// Image alias in the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Image fingerprint (or a unique prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl InstanceSource {
    /// From the image carrying `alias`.
    pub fn image_alias(alias: impl Into<String>) -> Self {
        InstanceSource {
            source_type: "image".to_owned(),
            alias: Some(alias.into()),
            fingerprint: None,
        }
    }

    /// From the image with `fingerprint`.
    pub fn image_fingerprint(fingerprint: impl Into<String>) -> Self {
        InstanceSource {
            source_type: "image".to_owned(),
            alias: None,
            fingerprint: Some(fingerprint.into()),
        }
    }
}

/// `POST /1.0/instances` body (`api.InstancesPost`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstancesPost {
    /// New instance name.
    pub name: String,
    /// `container` (the default here) or `virtual-machine`.
    #[serde(rename = "type")]
    pub instance_type: String,
    /// The image.
    pub source: InstanceSource,
    /// Instance config.
    #[serde(default)]
    pub config: Config,
    /// Instance devices (added to the profiles' devices).
    #[serde(default)]
    pub devices: Devices,
    /// Profiles; `None` lets LXD apply `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    /// Delete on stop.
    #[serde(default)]
    pub ephemeral: bool,
    /// Free-text description.
    #[serde(default)]
    pub description: String,
    /// A cloud instance type (`t2.micro`, `c2-m4`) LXD turns into CPU and memory limits.
    #[serde(
        default,
        rename = "instance_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<String>,
}

impl InstancesPost {
    /// A container named `name` from `source`, with no extra config or devices.
    pub fn container(name: impl Into<String>, source: InstanceSource) -> Self {
        InstancesPost {
            name: name.into(),
            instance_type: "container".to_owned(),
            source,
            ..InstancesPost::default()
        }
    }
}

/// The last path segment of each URL of an LXD list answer, decoded.
pub(crate) fn names_from_urls(urls: &[String]) -> Vec<String> {
    urls.iter()
        .map(|u| {
            let path = u.split('?').next().unwrap_or(u);
            decode_component(path.rsplit('/').next().unwrap_or(path))
        })
        .collect()
}

impl Client {
    /// Creates an instance (async; waits). A taken name is [`super::LxdErrorKind::AlreadyExists`]
    /// (LXD reports it only inside the operation).
    pub async fn create_instance(&self, req: &InstancesPost) -> Result<(), LxdError> {
        self.create_instance_on(req, None).await
    }

    /// Creates an instance on cluster member `target` (LXD's choice when `None`).
    pub async fn create_instance_on(
        &self,
        req: &InstancesPost,
        target: Option<&str>,
    ) -> Result<(), LxdError> {
        let path = with_params("/1.0/instances".to_owned(), target.map(|t| ("target", t)));
        self.write(Method::POST, &path, Some(req), None)
            .await
            .map(drop)
    }

    /// Every instance of the project with its config and devices (`recursion=1`).
    pub async fn list_instances_full(&self) -> Result<Vec<Instance>, LxdError> {
        self.get("/1.0/instances?recursion=1").await
    }

    /// The instance, or [`super::LxdErrorKind::NotFound`].
    pub async fn get_instance(&self, name: &str) -> Result<Instance, LxdError> {
        self.get(&instance_path(name)).await
    }

    /// The instance and its ETag, for an `If-Match` write.
    pub async fn get_instance_with_etag(&self, name: &str) -> Result<(Instance, ETag), LxdError> {
        self.get_with_etag(&instance_path(name)).await
    }

    /// Names of all instances in the project.
    pub async fn list_instances(&self) -> Result<Vec<String>, LxdError> {
        let urls: Vec<String> = self.get("/1.0/instances").await?;
        Ok(names_from_urls(&urls))
    }

    /// Replaces the instance's writable fields (async; waits). Send every `volatile.*`
    /// key back: dropping them makes the operation fail.
    pub async fn put_instance(
        &self,
        instance: &Instance,
        if_match: Option<&ETag>,
    ) -> Result<(), LxdError> {
        let path = instance_path(&instance.name);
        let body = instance.put_view();
        self.write(Method::PUT, &path, Some(&body), if_match)
            .await
            .map(drop)
    }

    /// Merges `patch` (a partial `InstancePut`) into the instance (sync). Cannot remove devices.
    pub async fn patch_instance(
        &self,
        name: &str,
        patch: &Value,
        if_match: Option<&ETag>,
    ) -> Result<(), LxdError> {
        let path = instance_path(name);
        self.write(Method::PATCH, &path, Some(patch), if_match)
            .await
            .map(drop)
    }

    /// Deletes a stopped instance (async; waits). A running one is refused (400).
    pub async fn delete_instance(&self, name: &str) -> Result<(), LxdError> {
        self.write::<()>(Method::DELETE, &instance_path(name), None, None)
            .await
            .map(drop)
    }
}

impl Editable for Instance {
    fn put_view(&self) -> Value {
        Instance::put_view(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_round_trip_keeps_unknown_fields() {
        let json = serde_json::json!({
            "name": "a", "architecture": "x86_64",
            "config": {"volatile.idmap.base": "0", "user.x": "1"},
            "devices": {"root": {"type": "disk", "path": "/", "pool": "btrfs"}},
            "ephemeral": false, "profiles": ["default"], "stateful": false, "description": "",
            "status": "Running", "status_code": 103, "type": "container",
            "some_future_field": {"k": 1}
        });
        let inst: Instance = match serde_json::from_value(json) {
            Ok(i) => i,
            Err(e) => panic!("decode: {e}"),
        };
        assert!(inst.is_running());
        let view = inst.put_view();
        assert_eq!(view["some_future_field"]["k"], 1, "unknown field kept");
        assert_eq!(view["config"]["volatile.idmap.base"], "0", "volatile kept");
        assert_eq!(view["devices"]["root"]["pool"], "btrfs");
        assert!(view.get("status").is_none(), "read-only fields not sent");
    }

    #[test]
    fn instances_post_shapes() {
        let cases = [
            (
                "alias",
                InstancesPost::container("vm-1", InstanceSource::image_alias("stemcell-1")),
                serde_json::json!({"type": "image", "alias": "stemcell-1"}),
            ),
            (
                "fingerprint",
                InstancesPost::container("vm-1", InstanceSource::image_fingerprint("abc")),
                serde_json::json!({"type": "image", "fingerprint": "abc"}),
            ),
        ];
        for (name, post, want_source) in cases {
            let v = serde_json::to_value(&post).unwrap_or_default();
            assert_eq!(v["source"], want_source, "case {name}");
            assert_eq!(v["type"], "container", "case {name}");
            assert!(
                v.get("profiles").is_none(),
                "case {name}: profiles omitted → LXD default"
            );
        }
    }

    #[test]
    fn names_from_list_urls() {
        let urls = vec![
            "/1.0/instances/vm-1?project=bosh".to_owned(),
            "/1.0/instances/with%20space".to_owned(),
        ];
        assert_eq!(names_from_urls(&urls), vec!["vm-1", "with space"]);
    }
}
