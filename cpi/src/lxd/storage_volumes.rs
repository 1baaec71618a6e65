//! Custom storage volumes (`/1.0/storage-pools/<pool>/volumes/custom`), their
//! snapshots and usage, and the retrying ETag edit [`Client::update_storage_volume`].
//!
//! Structs follow LXD's `shared/api/storage_pool_volume.go` (`StorageVolume`,
//! `StorageVolumesPost`, `StorageVolumeState`). The `size` key is enforced by
//! btrfs (and zfs/lvm/ceph) but accepted and ignored by the dir driver, whose
//! `/state` answers 500 `Not supported`.

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::{Client, ETag};
use super::error::LxdError;
use super::etag::{Edit, Editable, RetryPolicy};
use super::instances::{Config, names_from_urls};
use super::paths::{decode_component, encode_component, with_params};

/// LXD's `api.StorageVolume`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageVolume {
    /// Volume name.
    pub name: String,
    /// `custom`, `container`, `image`...
    #[serde(default, rename = "type")]
    pub volume_type: String,
    /// `filesystem` or `block`.
    #[serde(default)]
    pub content_type: String,
    /// Config (`size`, `user.*`...).
    #[serde(default)]
    pub config: Config,
    /// Free-text description.
    #[serde(default)]
    pub description: String,
    /// URLs of the instances and profiles using it (read-only).
    #[serde(default)]
    pub used_by: Vec<String>,
    /// Cluster member (read-only).
    #[serde(default)]
    pub location: String,
    /// Fields this client does not model; sent back on PUT.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StorageVolume {
    /// Names of the instances in `used_by` (profiles and instance snapshots are skipped).
    pub fn instances_using(&self) -> Vec<String> {
        self.used_by
            .iter()
            .filter_map(|url| {
                let path = url.split('?').next().unwrap_or(url);
                let name = path.strip_prefix("/1.0/instances/")?;
                (!name.is_empty() && !name.contains('/')).then(|| decode_component(name))
            })
            .collect()
    }

    /// The writable part (`api.StorageVolumePut`) as JSON.
    pub fn put_view(&self) -> Value {
        let mut view = self.extra.clone();
        view.insert(
            "config".to_owned(),
            serde_json::to_value(&self.config).unwrap_or_default(),
        );
        view.insert(
            "description".to_owned(),
            Value::String(self.description.clone()),
        );
        Value::Object(view)
    }
}

/// `POST .../volumes/custom` body (`api.StorageVolumesPost`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageVolumesPost {
    /// Volume name.
    pub name: String,
    /// `custom`.
    #[serde(rename = "type")]
    pub volume_type: String,
    /// `filesystem` or `block`.
    pub content_type: String,
    /// Config (`size` such as `"10240MiB"`, `user.*`...).
    #[serde(default)]
    pub config: Config,
    /// Free-text description.
    #[serde(default)]
    pub description: String,
}

impl StorageVolumesPost {
    /// A custom filesystem volume of `size_mib` MiB (0: no `size` key).
    pub fn filesystem(name: impl Into<String>, size_mib: u64) -> Self {
        let mut config = Config::new();
        if size_mib > 0 {
            config.insert("size".to_owned(), format!("{size_mib}MiB"));
        }
        StorageVolumesPost {
            name: name.into(),
            volume_type: "custom".to_owned(),
            content_type: "filesystem".to_owned(),
            config,
            description: String::new(),
        }
    }
}

/// Usage of a volume (`api.StorageVolumeStateUsage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageVolumeStateUsage {
    /// Bytes used.
    #[serde(default)]
    pub used: u64,
    /// Quota in bytes (0 when unlimited).
    #[serde(default)]
    pub total: i64,
}

/// `GET .../volumes/custom/<name>/state` (`api.StorageVolumeState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageVolumeState {
    /// Usage, when the driver reports it.
    #[serde(default)]
    pub usage: Option<StorageVolumeStateUsage>,
}

/// A volume snapshot (`api.StorageVolumeSnapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageVolumeSnapshot {
    /// `<volume>/<snapshot>`.
    pub name: String,
    /// Config at snapshot time.
    #[serde(default)]
    pub config: Config,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn volume_path(pool: &str, name: &str) -> String {
    format!(
        "/1.0/storage-pools/{}/volumes/custom/{}",
        encode_component(pool),
        encode_component(name)
    )
}

/// `/1.0/storage-pools/<pool>/volumes/custom/<volume>/snapshots/<snapshot>`.
fn snapshot_path(pool: &str, volume: &str, snapshot: &str) -> String {
    format!(
        "{}/snapshots/{}",
        volume_path(pool, volume),
        encode_component(snapshot)
    )
}

impl Client {
    /// Creates a custom volume. A taken name is [`super::LxdErrorKind::AlreadyExists`] (409).
    pub async fn create_custom_volume(
        &self,
        pool: &str,
        req: &StorageVolumesPost,
    ) -> Result<(), LxdError> {
        self.create_custom_volume_on(pool, req, None).await
    }

    /// Creates a custom volume on cluster member `target` (LXD's choice when `None`).
    pub async fn create_custom_volume_on(
        &self,
        pool: &str,
        req: &StorageVolumesPost,
        target: Option<&str>,
    ) -> Result<(), LxdError> {
        let path = format!(
            "/1.0/storage-pools/{}/volumes/custom",
            encode_component(pool)
        );
        let path = with_params(path, target.map(|t| ("target", t)));
        self.write(Method::POST, &path, Some(req), None)
            .await
            .map(drop)
    }

    /// The volume, or [`super::LxdErrorKind::NotFound`].
    pub async fn get_custom_volume(
        &self,
        pool: &str,
        name: &str,
    ) -> Result<StorageVolume, LxdError> {
        self.get(&volume_path(pool, name)).await
    }

    /// The volume and its ETag.
    pub async fn get_custom_volume_with_etag(
        &self,
        pool: &str,
        name: &str,
    ) -> Result<(StorageVolume, ETag), LxdError> {
        self.get_with_etag(&volume_path(pool, name)).await
    }

    /// Names of the custom volumes of `pool` in the project.
    pub async fn list_custom_volumes(&self, pool: &str) -> Result<Vec<String>, LxdError> {
        let path = format!(
            "/1.0/storage-pools/{}/volumes/custom",
            encode_component(pool)
        );
        let urls: Vec<String> = self.get(&path).await?;
        Ok(names_from_urls(&urls))
    }

    /// Replaces config and description (`api.StorageVolumePut`).
    pub async fn put_custom_volume(
        &self,
        pool: &str,
        volume: &StorageVolume,
        if_match: Option<&ETag>,
    ) -> Result<(), LxdError> {
        let path = volume_path(pool, &volume.name);
        self.write(Method::PUT, &path, Some(&volume.put_view()), if_match)
            .await
            .map(drop)
    }

    /// Merges `patch` (a partial `StorageVolumePut`, e.g. `{"config":{"size":"2GiB"}}`).
    pub async fn patch_custom_volume(
        &self,
        pool: &str,
        name: &str,
        patch: &Value,
        if_match: Option<&ETag>,
    ) -> Result<(), LxdError> {
        self.write(
            Method::PATCH,
            &volume_path(pool, name),
            Some(patch),
            if_match,
        )
        .await
        .map(drop)
    }

    /// Deletes the volume and its snapshots. An attached volume is refused (400 `still in use`).
    pub async fn delete_custom_volume(&self, pool: &str, name: &str) -> Result<(), LxdError> {
        self.write::<()>(Method::DELETE, &volume_path(pool, name), None, None)
            .await
            .map(drop)
    }

    /// Usage of the volume. The dir driver answers 500 `Not supported`.
    pub async fn custom_volume_state(
        &self,
        pool: &str,
        name: &str,
    ) -> Result<StorageVolumeState, LxdError> {
        self.get(&format!("{}/state", volume_path(pool, name)))
            .await
    }

    /// Snapshots the volume (async; waits).
    pub async fn create_volume_snapshot(
        &self,
        pool: &str,
        volume: &str,
        snapshot: &str,
    ) -> Result<(), LxdError> {
        let path = format!("{}/snapshots", volume_path(pool, volume));
        let body = serde_json::json!({ "name": snapshot });
        self.write(Method::POST, &path, Some(&body), None)
            .await
            .map(drop)
    }

    /// Names (without the `<volume>/` prefix) of the volume's snapshots.
    pub async fn list_volume_snapshots(
        &self,
        pool: &str,
        volume: &str,
    ) -> Result<Vec<String>, LxdError> {
        let urls: Vec<String> = self
            .get(&format!("{}/snapshots", volume_path(pool, volume)))
            .await?;
        Ok(names_from_urls(&urls))
    }

    /// Deletes one snapshot (async; waits).
    pub async fn delete_volume_snapshot(
        &self,
        pool: &str,
        volume: &str,
        snapshot: &str,
    ) -> Result<(), LxdError> {
        let path = snapshot_path(pool, volume, snapshot);
        self.write::<()>(Method::DELETE, &path, None, None)
            .await
            .map(drop)
    }

    /// Replaces one snapshot's description (`api.StorageVolumeSnapshotPut`).
    pub async fn describe_volume_snapshot(
        &self,
        pool: &str,
        volume: &str,
        snapshot: &str,
        description: &str,
    ) -> Result<(), LxdError> {
        let path = snapshot_path(pool, volume, snapshot);
        let body = serde_json::json!({ "description": description });
        self.write(Method::PUT, &path, Some(&body), None)
            .await
            .map(drop)
    }

    /// Read-modify-write of a volume under the lock `volume.<pool>.<name>`: GET,
    /// `edit`, PUT or PATCH with `If-Match`, check, retried on a stale ETag, a busy
    /// answer or a lost edit (see [`Client::update_instance`]).
    pub async fn update_storage_volume<T, E, F>(
        &self,
        pool: &str,
        name: &str,
        how: Edit,
        edit: F,
    ) -> Result<T, E>
    where
        E: From<LxdError>,
        F: FnMut(&mut StorageVolume) -> Result<T, E>,
    {
        let (path, what) = (volume_path(pool, name), format!("volume {pool}/{name}"));
        self.with_lock(&format!("volume.{pool}.{name}"), async || {
            let policy = RetryPolicy::default();
            self.edit_at(&path, &what, how, policy, None, edit).await
        })
        .await
    }
}

impl Editable for StorageVolume {
    fn put_view(&self) -> Value {
        StorageVolume::put_view(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_post_sizes() {
        for (name, mib, want) in [("sized", 200, Some("200MiB")), ("unsized", 0, None)] {
            let v = StorageVolumesPost::filesystem("disk-1", mib);
            assert_eq!(
                v.config.get("size").map(String::as_str),
                want,
                "case {name}"
            );
            assert_eq!(
                (v.volume_type.as_str(), v.content_type.as_str()),
                ("custom", "filesystem"),
                "case {name}"
            );
        }
    }

    #[test]
    fn used_by_lists_instances_only() {
        let vol: StorageVolume = serde_json::from_value(serde_json::json!({"name": "d",
            "used_by": ["/1.0/instances/vm-1?project=bosh", "/1.0/profiles/p?project=bosh",
            "/1.0/instances/c-2", "/1.0/instances/c-3/snapshots/s", "/1.0/instances/a%20b"]}))
        .unwrap();
        assert_eq!(vol.instances_using(), ["vm-1", "c-2", "a b"]);
    }

    #[test]
    fn snapshot_paths_encode_each_name() {
        assert_eq!(
            snapshot_path("btrfs", "d 1", "s/x"),
            "/1.0/storage-pools/btrfs/volumes/custom/d%201/snapshots/s%2Fx"
        );
    }

    #[test]
    fn state_decodes_usage() {
        let cases = [
            (
                "btrfs",
                r#"{"usage":{"used":104841216,"total":104857600}}"#,
                Some(104_841_216),
            ),
            ("no usage", r#"{"usage":null}"#, None),
        ];
        for (name, json, want) in cases {
            let st: StorageVolumeState = match serde_json::from_str(json) {
                Ok(s) => s,
                Err(e) => panic!("case {name}: {e}"),
            };
            assert_eq!(st.usage.map(|u| u.used), want, "case {name}");
        }
    }
}
