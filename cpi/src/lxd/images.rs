//! Images (`/1.0/images`) and their aliases (`/1.0/images/aliases`).
//!
//! Structs follow LXD's `shared/api/image.go` (`Image`, `ImageAlias`,
//! `ImageAliasesPost`, `ImageAliasesEntry`). Uploads live in `image_upload.rs`.

use std::collections::BTreeMap;

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::Client;
use super::error::LxdError;
use super::etag::{Edit, Editable, RetryPolicy};
use super::instances::{Config, names_from_urls};
use super::paths::encode_component;

/// An alias as listed inside an image (`api.ImageAlias`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageAlias {
    /// Alias name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// LXD's `api.Image`, as returned by `GET /1.0/images/<fingerprint>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Full SHA-256 fingerprint.
    pub fingerprint: String,
    /// Free-form properties (`os`, stemcell name/version, `bosh_lxd_helper_version`...).
    #[serde(default)]
    pub properties: Config,
    /// Aliases pointing to this image.
    #[serde(default)]
    pub aliases: Vec<ImageAlias>,
    /// Architecture (`x86_64`).
    #[serde(default)]
    pub architecture: String,
    /// `container` or `virtual-machine`.
    #[serde(default, rename = "type")]
    pub image_type: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: i64,
    /// Whether unauthenticated clients may use it.
    #[serde(default)]
    pub public: bool,
    /// Whether LXD refreshes it from its source.
    #[serde(default)]
    pub auto_update: bool,
    /// Profiles applied to instances created from it.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Original file name.
    #[serde(default)]
    pub filename: String,
    /// Creation date from the metadata (read-only).
    #[serde(default)]
    pub created_at: String,
    /// Upload date (read-only).
    #[serde(default)]
    pub uploaded_at: String,
    /// Fields this client does not model; sent back on PUT.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /1.0/images/aliases` body (`api.ImageAliasesPost`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageAliasesPost {
    /// Alias name.
    pub name: String,
    /// Fingerprint of the image it points to.
    pub target: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// `GET /1.0/images/aliases/<name>` (`api.ImageAliasesEntry`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageAliasesEntry {
    /// Alias name.
    pub name: String,
    /// Fingerprint it points to.
    pub target: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// `container` or `virtual-machine`.
    #[serde(default, rename = "type")]
    pub image_type: String,
}

impl Editable for Image {
    /// `api.ImagePut`: the writable fields; unknown ones ride along from `extra`.
    fn put_view(&self) -> Value {
        let mut put = self.extra.clone();
        let props = self
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())));
        put.insert("properties".to_owned(), Value::Object(props.collect()));
        put.insert("public".to_owned(), Value::Bool(self.public));
        put.insert("auto_update".to_owned(), Value::Bool(self.auto_update));
        let profiles = self.profiles.iter().cloned().map(Value::String).collect();
        put.insert("profiles".to_owned(), Value::Array(profiles));
        Value::Object(put)
    }
}

pub(crate) fn image_path(fingerprint: &str) -> String {
    format!("/1.0/images/{}", encode_component(fingerprint))
}

fn alias_path(name: &str) -> String {
    format!("/1.0/images/aliases/{}", encode_component(name))
}

impl Client {
    /// The image with this fingerprint (a unique prefix works too).
    pub async fn get_image(&self, fingerprint: &str) -> Result<Image, LxdError> {
        self.get(&image_path(fingerprint)).await
    }

    /// Fingerprints of all images in the project.
    pub async fn list_images(&self) -> Result<Vec<String>, LxdError> {
        let urls: Vec<String> = self.get("/1.0/images").await?;
        Ok(names_from_urls(&urls))
    }

    /// Names of the aliases that point to the image.
    pub async fn image_aliases(&self, fingerprint: &str) -> Result<Vec<String>, LxdError> {
        let image = self.get_image(fingerprint).await?;
        Ok(image.aliases.into_iter().map(|a| a.name).collect())
    }

    /// Sets (adds or overwrites) image properties, keeping the others. ETag-checked, retried.
    pub async fn set_image_properties(
        &self,
        fingerprint: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<(), LxdError> {
        let path = image_path(fingerprint);
        let what = format!("image {fingerprint}");
        let edit = |image: &mut Image| {
            image.properties.extend(properties.clone());
            Ok::<(), LxdError>(())
        };
        let (how, policy) = (Edit::Replace, RetryPolicy::default());
        self.edit_at(&path, &what, how, policy, None, edit).await
    }

    /// Deletes the image (async; waits). Its aliases go with it.
    pub async fn delete_image(&self, fingerprint: &str) -> Result<(), LxdError> {
        self.write::<()>(Method::DELETE, &image_path(fingerprint), None, None)
            .await
            .map(drop)
    }

    /// Creates alias `name` → `fingerprint`. A taken name is [`super::LxdErrorKind::AlreadyExists`] (409).
    pub async fn create_image_alias(
        &self,
        name: &str,
        fingerprint: &str,
        description: &str,
    ) -> Result<(), LxdError> {
        let body = ImageAliasesPost {
            name: name.to_owned(),
            target: fingerprint.to_owned(),
            description: description.to_owned(),
        };
        self.write(Method::POST, "/1.0/images/aliases", Some(&body), None)
            .await
            .map(drop)
    }

    /// The alias, or [`super::LxdErrorKind::NotFound`].
    pub async fn get_image_alias(&self, name: &str) -> Result<ImageAliasesEntry, LxdError> {
        self.get(&alias_path(name)).await
    }

    /// Deletes the alias (the image stays).
    pub async fn delete_image_alias(&self, name: &str) -> Result<(), LxdError> {
        self.write::<()>(Method::DELETE, &alias_path(name), None, None)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_decodes_lxd_answer() {
        // Trimmed from a real LXD 5.0.2 answer.
        let json = r#"{"auto_update":false,"properties":{"bosh_x":"1","os":"busybox"},"public":false,
            "expires_at":"1970-01-01T00:00:00Z","profiles":["default"],"aliases":[{"name":"bb","description":""}],
            "architecture":"x86_64","cached":false,"filename":"rootfs.tar.gz","fingerprint":"c766",
            "size":1031394,"type":"container","created_at":"2023-11-14T22:13:20Z",
            "last_used_at":"0001-01-01T00:00:00Z","uploaded_at":"2026-11-25T14:13:55Z"}"#;
        let image: Image = match serde_json::from_str(json) {
            Ok(i) => i,
            Err(e) => panic!("decode: {e}"),
        };
        assert_eq!(
            image.properties.get("os").map(String::as_str),
            Some("busybox")
        );
        assert_eq!(image.aliases.first().map(|a| a.name.as_str()), Some("bb"));
        assert!(
            image.extra.contains_key("expires_at"),
            "unknown writable field kept"
        );
    }
}
