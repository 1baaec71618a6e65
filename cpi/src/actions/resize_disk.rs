//! `resize_disk(disk_cid, new_size)`: grows the volume in place by raising its `size` key
//! (btrfs applies a larger quota at once, even while attached). The same size is a success
//! that changes nothing; a smaller one is refused naming both sizes, because the director's
//! fallback for it (the agent's `migrate_disk`) does not work with bind-mounted disks.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::{FoundDisk, pool_ignores_sizes, require_disk};
use super::disk_properties::{mib_bytes, size_bytes, size_value};
use super::errors::EditError;
use super::errors::StepError;
use super::lxd_client::connect;
use crate::ids::DiskCid;
use crate::lxd::{Client, Edit, StorageVolume};
use crate::rpc::CpiError;

/// Resizes disk `disk` to `new_mib` MiB.
#[instrument(skip_all, fields(disk_cid = %disk, new_mib))]
pub async fn run(ctx: &CallContext, disk: &DiskCid, new_mib: u64) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let found = require_disk(&client, &ctx.config, disk, None, "resizing").await?;
    grow(&client, &found, disk, new_mib).await?;
    Ok(Value::Null)
}

/// Sets the volume's size to `new_mib` MiB unless that would shrink it. Returns whether the
/// size changed.
pub async fn grow(
    client: &Client,
    found: &FoundDisk,
    disk: &DiskCid,
    new_mib: u64,
) -> Result<bool, CpiError> {
    let changed = client
        .update_storage_volume(
            &found.pool,
            disk.as_str(),
            Edit::Merge,
            |vol: &mut StorageVolume| set_size(vol, new_mib).map_err(EditError::Refused),
        )
        .await
        .map_err(|e| e.into_cpi(disk, None, "resizing"))?;
    if !changed {
        tracing::info!(new_mib, "disk already has that size");
        return Ok(false);
    }
    if pool_ignores_sizes(client, &found.pool).await {
        tracing::warn!(pool = %found.pool, "storage pool uses the dir driver: the new size is recorded, not enforced");
    }
    tracing::info!(new_mib, pool = %found.pool, "disk resized");
    Ok(true)
}

/// The edit: `size` = `new_mib` MiB. Refuses to shrink; `Ok(false)` when nothing changes.
/// A volume without a size has no quota: any size is then a change.
fn set_size(vol: &mut StorageVolume, new_mib: u64) -> Result<bool, StepError> {
    let new = mib_bytes(new_mib);
    let current = vol.config.get("size").and_then(|s| size_bytes(s));
    match current {
        Some(cur) if new < cur => Err(StepError::Shrink { from: cur, to: new }),
        Some(cur) if new == cur => Ok(false),
        _ => {
            vol.config.insert("size".to_owned(), size_value(new_mib));
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(size: Option<&str>) -> StorageVolume {
        let mut v = StorageVolume::default();
        if let Some(s) = size {
            v.config.insert("size".into(), s.into());
        }
        v
    }

    #[test]
    fn grow_same_shrink() {
        let cases = [
            ("grow", Some("64MiB"), 128, Ok(true), Some("128MiB")),
            ("same", Some("1GiB"), 1024, Ok(false), Some("1GiB")),
            (
                "shrink",
                Some("128MiB"),
                64,
                Err("from 128 MiB to 64 MiB"),
                Some("128MiB"),
            ),
            ("no size yet", None, 64, Ok(true), Some("64MiB")),
        ];
        for (name, size, new, want, after) in cases {
            let mut v = vol(size);
            match (set_size(&mut v, new), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "case {name}"),
                (Err(got), Err(w)) => assert!(got.to_string().contains(w), "case {name}: {got}"),
                (got, w) => panic!("case {name}: got {got:?}, want {w:?}"),
            }
            assert_eq!(
                v.config.get("size").map(String::as_str),
                after,
                "case {name}"
            );
        }
    }
}
