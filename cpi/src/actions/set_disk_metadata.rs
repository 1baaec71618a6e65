//! `set_disk_metadata(disk_cid, metadata)`: stores the director's metadata on the volume as
//! `user.bosh.meta.<key>` (dropping keys an earlier call set that are no longer sent) and a
//! readable description such as `BOSH persistent disk of cf/postgres/0`, in one
//! ETag-checked write under the volume's lock.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::require_disk;
use super::errors::EditError;
use super::lxd_client::connect;
use super::set_vm_metadata::apply_meta;
use crate::ids::DiskCid;
use crate::lxd::{Edit, StorageVolume};
use crate::rpc::{CpiError, Metadata};

/// Sets the metadata of disk `disk`.
#[instrument(skip_all, fields(disk_cid = %disk))]
pub async fn run(
    ctx: &CallContext,
    disk: &DiskCid,
    metadata: &Metadata,
) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let found = require_disk(&client, &ctx.config, disk, None, "setting metadata of").await?;
    let description = describe(metadata);
    client
        .update_storage_volume(
            &found.pool,
            disk.as_str(),
            Edit::Replace,
            |vol: &mut StorageVolume| {
                apply(vol, metadata, description.as_deref());
                Ok::<(), EditError>(())
            },
        )
        .await
        .map_err(|e| e.into_cpi(disk, None, "setting metadata of"))?;
    Ok(Value::Null)
}

/// Replaces the `user.bosh.meta.*` keys with `metadata` and sets the description.
fn apply(vol: &mut StorageVolume, metadata: &Metadata, description: Option<&str>) {
    apply_meta(&mut vol.config, &mut vol.description, metadata, description);
}

/// `BOSH persistent disk of <deployment>/<instance group>/<index or id>`, from the parts given.
fn describe(m: &Metadata) -> Option<String> {
    let get = |k: &str| m.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let parts: Vec<&str> = [
        get("deployment"),
        get("instance_group").or(get("job")),
        get("instance_index")
            .or(get("index"))
            .or(get("instance_id")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| format!("BOSH persistent disk of {}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::set_vm_metadata::meta;

    #[test]
    fn keys_are_replaced_and_the_description_reads_well() {
        let mut vol = StorageVolume::default();
        vol.config.insert("user.bosh.meta.old".into(), "1".into());
        vol.config.insert("size".into(), "64MiB".into());
        let m = meta(&[
            ("director", "d"),
            ("deployment", "cf"),
            ("instance_group", "pg"),
            ("instance_index", "0"),
            ("attached_at", "2026-01-01T00:00:00Z"),
        ]);
        apply(&mut vol, &m, describe(&m).as_deref());
        assert!(!vol.config.contains_key("user.bosh.meta.old"));
        assert_eq!(vol.config["user.bosh.meta.deployment"], "cf");
        assert_eq!(vol.config["size"], "64MiB");
        assert_eq!(vol.description, "BOSH persistent disk of cf/pg/0");
        assert_eq!(describe(&meta(&[("attached_at", "x")])), None);
    }
}
