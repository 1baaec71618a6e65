//! Storage pools (`/1.0/storage-pools`): their names and drivers. The dir driver accepts
//! volume sizes and ignores them, so callers ask for the driver to warn about it.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::client::Client;
use super::error::LxdError;
use super::instances::names_from_urls;
use super::paths::encode_component;

/// LXD's `api.StoragePool`, as far as the CPI reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StoragePool {
    /// Pool name.
    pub name: String,
    /// `btrfs`, `zfs`, `lvm`, `dir`, `ceph`...
    #[serde(default)]
    pub driver: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StoragePool {
    /// True for a driver that accepts volume sizes and does not enforce them (dir).
    pub fn ignores_sizes(&self) -> bool {
        self.driver == "dir"
    }
}

impl Client {
    /// Names of all storage pools.
    pub async fn list_storage_pools(&self) -> Result<Vec<String>, LxdError> {
        let urls: Vec<String> = self.get("/1.0/storage-pools").await?;
        Ok(names_from_urls(&urls))
    }

    /// The pool, or [`super::LxdErrorKind::NotFound`].
    pub async fn get_storage_pool(&self, name: &str) -> Result<StoragePool, LxdError> {
        self.get(&format!("/1.0/storage-pools/{}", encode_component(name)))
            .await
    }
}
