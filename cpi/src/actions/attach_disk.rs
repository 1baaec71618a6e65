//! `attach_disk(vm_cid, disk_cid)`, live: the disk device named after the CID at
//! `/warden-cpi-dev/<cid>` and the key `user.bosh.disk.<cid>` holding that path are added
//! and the settings file is rendered from the keys ([`vm_disks::attach`]); the container
//! keeps running. v2 callers get the path as the hint, v1 callers null.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::lxd_client::connect;
use super::vm_disks::{self, keys::disk_path};
use crate::ids::{DiskCid, VmCid};
use crate::rpc::CpiError;

/// Attaches disk `disk` to VM `vm`.
#[instrument(skip_all, fields(vm_cid = %vm, disk_cid = %disk))]
pub async fn run(ctx: &CallContext, vm: &VmCid, disk: &DiskCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    vm_disks::attach(&client, &ctx.config, vm, disk).await?;
    let hint = disk_path(disk.as_str());
    tracing::info!(hint = %hint, "disk attached");
    Ok(if ctx.api_version >= 2 {
        Value::String(hint)
    } else {
        Value::Null
    })
}
