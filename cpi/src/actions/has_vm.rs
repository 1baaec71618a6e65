//! `has_vm(vm_cid)`: whether the instance exists. Not found is `false`, not an error.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::cloud_error;
use super::lxd_client::{connect, ensure_project};
use crate::ids::VmCid;
use crate::lxd::NotFoundExt;
use crate::rpc::CpiError;

/// True when the VM's instance exists.
#[instrument(skip_all, fields(vm_cid = %cid))]
pub async fn run(ctx: &CallContext, cid: &VmCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let found = client
        .get_instance(cid.as_str())
        .await
        .optional()
        .map_err(|e| cloud_error(format!("looking up VM {cid}"), e))?
        .is_some();
    if !found {
        ensure_project(&client).await?;
    }
    tracing::debug!(found, "has_vm");
    Ok(Value::Bool(found))
}
