//! `update_disk(disk_cid, new_size, cloud_properties)`: a size change is made in place (as
//! `resize_disk`) and answered with null, meaning "same disk". Cloud properties that need
//! another disk (a different `pool`) are `NotSupported`, so the director falls back to its
//! own copy.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::require_disk;
use super::disk_properties::DiskCloudProperties;
use super::lxd_client::connect;
use super::resize_disk::grow;
use crate::ids::DiskCid;
use crate::rpc::{CloudProperties, CpiError};

/// Updates disk `disk` in place, or says it cannot.
#[instrument(skip_all, fields(disk_cid = %disk, new_mib))]
pub async fn run(
    ctx: &CallContext,
    disk: &DiskCid,
    new_mib: u64,
    cloud_properties: &CloudProperties,
) -> Result<Value, CpiError> {
    let props = DiskCloudProperties::parse(cloud_properties)?;
    let client = connect(&ctx.config)?;
    let found = require_disk(&client, &ctx.config, disk, None, "updating").await?;
    if let Some(pool) = props.pool.as_deref().filter(|p| *p != found.pool) {
        return Err(CpiError::not_supported(format!(
            "updating disk {disk}: moving it from storage pool {} to {pool} needs a new disk, \
             which update_disk does not make",
            found.pool
        )));
    }
    grow(&client, &found, disk, new_mib).await?;
    Ok(Value::Null)
}
