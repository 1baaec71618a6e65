//! `create_stemcell(image_path, cloud_properties)`: imports the stemcell's `image` (a rootfs
//! tarball) as an LXD split image, with a generated metadata tarball, the rootfs streamed
//! from disk, and returns the new alias `stemcell-<uuid>` as the CID. When the project already
//! has the same image, the new alias points to it (`ARCHITECTURE.md` §2). The project's name is
//! part of the image's metadata, so another project's import of the same stemcell is another
//! image, which a delete there cannot take away (`docs/decisions.md` §7).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::cloud_error;
use super::image_lock::ImageLock;
use super::lxd_client::connect;
use super::names::{
    HELPER_VERSION_PROPERTY, PROJECT_PROPERTY, STEMCELL_NAME_PROPERTY, STEMCELL_VERSION_PROPERTY,
    new_uuid, stemcell_alias,
};
use crate::json::scalar_to_string;
use crate::lxd::{Client, ImageMetadata, ImageUpload};
use crate::rpc::{CloudProperties, CpiError};

/// Imports the image and returns the stemcell CID.
#[instrument(skip_all, fields(image = %image_path.display()))]
pub async fn run(
    ctx: &CallContext,
    image_path: &Path,
    cloud_properties: &CloudProperties,
) -> Result<Value, CpiError> {
    let file = tokio::fs::metadata(image_path)
        .await
        .map_err(|e| CpiError::cloud(format!("stemcell image {}: {e}", image_path.display())))?;
    if !file.is_file() {
        return Err(CpiError::cloud(format!(
            "stemcell image {} is not a regular file",
            image_path.display()
        )));
    }
    let metadata = image_metadata(cloud_properties, &file, &ctx.config.lxd.project);
    if !metadata.properties.contains_key(HELPER_VERSION_PROPERTY) {
        tracing::warn!(
            "stemcell has no {HELPER_VERSION_PROPERTY}: create_vm will refuse it until it is repacked"
        );
    }
    let client = connect(&ctx.config)?;
    let alias = stemcell_alias(&new_uuid());
    let description = metadata
        .properties
        .get("description")
        .cloned()
        .unwrap_or_default();
    // A concurrent delete_stemcell may remove the image between the upload and the alias;
    // the second round uploads it again.
    for round in 1..=2 {
        let upload = upload(&client, &metadata, image_path).await?;
        match add_alias(&client, &upload, &alias, &description).await {
            Ok(()) => {
                tracing::info!(stemcell_cid = %alias, fingerprint = %upload.fingerprint, reused = !upload.created, "stemcell created");
                return Ok(Value::String(alias));
            }
            Err(e) if e.is_not_found() && round == 1 => {
                tracing::info!(fingerprint = %upload.fingerprint, "image deleted meanwhile, uploading again");
            }
            Err(e) => {
                if upload.created {
                    forget_image(&client, &upload.fingerprint).await;
                }
                return Err(cloud_error(format!("creating image alias {alias}"), e));
            }
        }
    }
    Err(CpiError::cloud(format!(
        "creating stemcell {alias}: the image kept disappearing during the upload"
    )))
}

async fn upload(
    client: &Client,
    metadata: &ImageMetadata,
    image_path: &Path,
) -> Result<ImageUpload, CpiError> {
    let tarball = metadata.tarball()?;
    let first = client
        .upload_split_image(tarball.clone(), image_path, &metadata.properties)
        .await;
    let result = match first {
        // Two uploads of one image at the same moment: LXD fails one of them inside the
        // operation. Sent again, it finds the image and answers with its fingerprint.
        Err(e) if e.kind() == &crate::lxd::LxdErrorKind::OperationFailed => {
            tracing::warn!(error = %e, "image upload failed; sending it once more");
            client
                .upload_split_image(tarball, image_path, &metadata.properties)
                .await
        }
        other => other,
    };
    result.map_err(|e| {
        cloud_error(
            format!("uploading stemcell image {}", image_path.display()),
            e,
        )
    })
}

/// Points `alias` at the uploaded image, under the image's lock so that a concurrent
/// `delete_stemcell` cannot delete the image in between.
async fn add_alias(
    client: &Client,
    upload: &ImageUpload,
    alias: &str,
    description: &str,
) -> Result<(), crate::lxd::LxdError> {
    let lock = ImageLock::take(client, &upload.fingerprint).await?;
    let result = client
        .create_image_alias(alias, &upload.fingerprint, description)
        .await;
    lock.release(client).await;
    result
}

/// Deletes an image this call uploaded and could not alias (best effort, logged).
async fn forget_image(client: &Client, fingerprint: &str) {
    if let Err(e) = client.delete_image(fingerprint).await {
        tracing::error!(fingerprint, error = %e, "could not delete the unaliased image");
    }
}

/// `metadata.yaml` of the image. Everything in it is derived from the stemcell and the
/// project alone, so the same stemcell gives the same metadata tarball, and so the same
/// fingerprint, in one project (a retry finds its image) and another one in every other
/// project: LXD keeps one file per fingerprint for all projects, and a delete in one
/// project can remove it under another's import (`docs/decisions.md` §7).
fn image_metadata(
    props: &CloudProperties,
    file: &std::fs::Metadata,
    project: &str,
) -> ImageMetadata {
    let text = |key: &str| props.get(key).and_then(scalar_to_string);
    let mut properties = BTreeMap::new();
    properties.insert(PROJECT_PROPERTY.to_owned(), project.to_owned());
    let name = text("name");
    let version = text("version");
    if let Some(name) = &name {
        properties.insert(STEMCELL_NAME_PROPERTY.to_owned(), name.clone());
    }
    if let Some(version) = &version {
        properties.insert(STEMCELL_VERSION_PROPERTY.to_owned(), version.clone());
    }
    if let Some(helper) = text(HELPER_VERSION_PROPERTY).filter(|v| !v.is_empty()) {
        properties.insert(HELPER_VERSION_PROPERTY.to_owned(), helper);
    }
    if let Some(os) = text("os_distro") {
        properties.insert("os".to_owned(), os);
    }
    let description = match (name, version) {
        (Some(n), Some(v)) => format!("BOSH stemcell {n}/{v}"),
        (Some(n), None) => format!("BOSH stemcell {n}"),
        _ => "BOSH stemcell".to_owned(),
    };
    properties.insert("description".to_owned(), description);
    let creation_date = file
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0);
    ImageMetadata {
        architecture: lxd_architecture(text("architecture").as_deref()),
        creation_date,
        properties,
    }
}

/// LXD's architecture name for a stemcell's (`x86_64` when the stemcell says nothing).
fn lxd_architecture(stemcell: Option<&str>) -> String {
    match stemcell {
        None | Some("" | "amd64" | "x86_64") => "x86_64",
        Some("arm64" | "aarch64") => "aarch64",
        Some(other) => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_comes_from_the_stemcell_and_the_project_only() {
        let dir = std::env::temp_dir();
        let file = std::fs::metadata(&dir).unwrap();
        let props = json!({"name": "bosh-warden-boshlite-ubuntu-jammy", "version": 1.5,
            "architecture": "x86_64", "os_distro": "ubuntu", "bosh_lxd_helper_version": "0.3.0",
            "infrastructure": "warden"});
        let m = image_metadata(props.as_object().unwrap(), &file, "bosh");
        assert_eq!(m.architecture, "x86_64");
        assert_eq!(m.properties[PROJECT_PROPERTY], "bosh");
        assert_eq!(
            m.properties[STEMCELL_NAME_PROPERTY],
            "bosh-warden-boshlite-ubuntu-jammy"
        );
        assert_eq!(m.properties[STEMCELL_VERSION_PROPERTY], "1.5");
        assert_eq!(m.properties[HELPER_VERSION_PROPERTY], "0.3.0");
        assert_eq!(m.properties["os"], "ubuntu");
        assert_eq!(
            m.properties["description"],
            "BOSH stemcell bosh-warden-boshlite-ubuntu-jammy/1.5"
        );
        assert!(!m.properties.contains_key("infrastructure"));
        assert_eq!(
            m,
            image_metadata(props.as_object().unwrap(), &file, "bosh"),
            "deterministic"
        );
        let stock = image_metadata(
            json!({"bosh_lxd_helper_version": ""}).as_object().unwrap(),
            &file,
            "bosh",
        );
        assert!(
            !stock.properties.contains_key(HELPER_VERSION_PROPERTY),
            "empty = absent"
        );
    }

    #[test]
    fn one_stemcell_gives_one_fingerprint_per_project() {
        let file = std::fs::metadata(std::env::temp_dir()).unwrap();
        let props = json!({"name": "s", "version": "1"});
        let tarball = |project: &str| {
            image_metadata(props.as_object().unwrap(), &file, project)
                .tarball()
                .unwrap()
        };
        assert_eq!(tarball("bosh"), tarball("bosh"), "a retry finds its image");
        assert_ne!(
            tarball("bosh"),
            tarball("bosh-2"),
            "another project imports an image of its own"
        );
    }

    #[test]
    fn architectures_use_lxd_names() {
        let cases = [
            (None, "x86_64"),
            (Some("amd64"), "x86_64"),
            (Some("arm64"), "aarch64"),
            (Some("ppc64le"), "ppc64le"),
        ];
        for (stemcell, want) in cases {
            assert_eq!(lxd_architecture(stemcell), want, "case {stemcell:?}");
        }
    }
}
