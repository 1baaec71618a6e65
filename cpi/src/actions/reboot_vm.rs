//! `reboot_vm(vm_cid)`: a clean restart (a forced one if the guest does not stop in time),
//! or a start if the VM is stopped; returns once it runs again. The restart is what the
//! guest helper is for: it puts persistent disks back before the agent starts.

use std::time::Duration;

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::vm_error;
use super::instance_ops::{RUNNING_TIMEOUT, wait_running};
use super::lxd_client::connect;
use crate::ids::VmCid;
use crate::rpc::CpiError;

/// How long the guest may take to shut down cleanly before it is stopped at once.
const CLEAN_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Reboots the VM `cid`.
#[instrument(skip_all, fields(vm_cid = %cid))]
pub async fn run(ctx: &CallContext, cid: &VmCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let name = cid.as_str();
    let state = client
        .instance_state(name)
        .await
        .map_err(|e| vm_error(cid, "rebooting", e))?;
    if state.is_running() {
        if let Err(e) = client
            .restart_instance(name, false, CLEAN_STOP_TIMEOUT)
            .await
        {
            tracing::warn!(error = %e, "clean restart failed, forcing it");
            client
                .restart_instance(name, true, CLEAN_STOP_TIMEOUT)
                .await
                .map_err(|e| vm_error(cid, "rebooting", e))?;
        }
    } else {
        tracing::info!(status = %state.status, "VM is not running: starting it");
        client
            .start_instance(name)
            .await
            .map_err(|e| vm_error(cid, "starting", e))?;
    }
    wait_running(&client, name, RUNNING_TIMEOUT)
        .await
        .map_err(|e| CpiError::cloud(format!("rebooting VM {cid}: {e}")))?;
    Ok(Value::Null)
}
