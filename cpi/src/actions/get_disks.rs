//! `get_disks(vm_cid)`: the persistent disks attached to the VM, as its `user.bosh.disk.*`
//! keys record them (plus disk devices at `/warden-cpi-dev/<cid>` that the old CPI made
//! without keys). The root disk and the ephemeral volume are never listed.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::vm_error;
use super::lxd_client::connect;
use super::vm_disks::keys::attached_cids;
use crate::ids::VmCid;
use crate::rpc::CpiError;

/// The disk CIDs attached to VM `vm`, sorted.
#[instrument(skip_all, fields(vm_cid = %vm))]
pub async fn run(ctx: &CallContext, vm: &VmCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let inst = client
        .get_instance(vm.as_str())
        .await
        .map_err(|e| vm_error(vm, "listing the disks of", e))?;
    let cids = attached_cids(&inst);
    tracing::debug!(disks = ?cids, "get_disks");
    Ok(Value::Array(cids.into_iter().map(Value::String).collect()))
}
