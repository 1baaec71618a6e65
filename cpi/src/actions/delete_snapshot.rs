//! `delete_snapshot(snapshot_cid)`: deletes the LXD volume snapshot the CID names. A
//! snapshot (or disk) that is gone is a success, and so is a CID that is not of the form
//! `<disk>@<name>`: no snapshot of that name can exist (the old CPI answered every
//! `snapshot_disk` with the constant `snap-cid` and made nothing).

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::find_disk;
use super::errors::disk_error;
use super::lxd_client::connect;
use super::snapshot_disk::SnapshotId;
use crate::ids::{DiskCid, SnapshotCid};
use crate::lxd::NotFoundExt;
use crate::rpc::CpiError;

/// Deletes snapshot `snapshot`.
#[instrument(skip_all, fields(snapshot_cid = %snapshot))]
pub async fn run(ctx: &CallContext, snapshot: &SnapshotCid) -> Result<Value, CpiError> {
    let Some(id) = SnapshotId::parse(snapshot.as_str()) else {
        tracing::warn!("not a snapshot CID of this CPI (<disk>@<name>): nothing to delete");
        return Ok(Value::Null);
    };
    let disk = DiskCid::new(id.disk.clone())
        .map_err(|e| CpiError::invalid_request(format!("snapshot {snapshot}: {e}")))?;
    let client = connect(&ctx.config)?;
    let Some(found) = find_disk(&client, &ctx.config, &disk, None).await? else {
        tracing::info!(disk_cid = %disk, "the disk is gone, and its snapshots with it");
        return Ok(Value::Null);
    };
    let deleted = client
        .delete_volume_snapshot(&found.pool, disk.as_str(), &id.name)
        .await
        .optional()
        .map_err(|e| disk_error(&disk, None, &format!("deleting snapshot {} of", id.name), e))?;
    match deleted {
        Some(()) => tracing::info!(pool = %found.pool, "snapshot deleted"),
        None => tracing::info!("snapshot is already gone"),
    }
    Ok(Value::Null)
}
