//! `delete_disk(disk_cid)`: deletes the volume and its snapshots. A disk that is gone is a
//! success; a disk an instance still uses is refused with an error naming the instance
//! (LXD would refuse too, with less to go on).

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::find_disk;
use super::errors::{disk_error, disk_failure};
use super::lxd_client::connect;
use crate::ids::DiskCid;
use crate::lxd::NotFoundExt;
use crate::rpc::CpiError;

/// Deletes the disk.
#[instrument(skip_all, fields(disk_cid = %disk))]
pub async fn run(ctx: &CallContext, disk: &DiskCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let Some(found) = find_disk(&client, &ctx.config, disk, None).await? else {
        tracing::info!("disk is already gone");
        return Ok(Value::Null);
    };
    let users = found.volume.instances_using();
    if !users.is_empty() {
        return Err(disk_failure(
            disk,
            None,
            format!(
                "cannot delete: still attached to VM {} (detach it first)",
                users.join(", ")
            ),
        ));
    }
    let deleted = client
        .delete_custom_volume(&found.pool, disk.as_str())
        .await
        .optional()
        .map_err(|e| disk_error(disk, None, &format!("deleting (pool {})", found.pool), e))?;
    match deleted {
        Some(()) => tracing::info!(pool = %found.pool, "disk deleted"),
        None => tracing::info!("disk vanished while being deleted"),
    }
    Ok(Value::Null)
}
