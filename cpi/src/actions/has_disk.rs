//! `has_disk(disk_cid)`: whether the volume exists in any storage pool of the project.
//! Not found is `false`, not an error.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::find_disk;
use super::lxd_client::connect;
use crate::ids::DiskCid;
use crate::rpc::CpiError;

/// True when the disk's volume exists.
#[instrument(skip_all, fields(disk_cid = %disk))]
pub async fn run(ctx: &CallContext, disk: &DiskCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let found = find_disk(&client, &ctx.config, disk, None).await?;
    tracing::debug!(found = found.is_some(), pool = ?found.as_ref().map(|f| &f.pool), "has_disk");
    Ok(Value::Bool(found.is_some()))
}
