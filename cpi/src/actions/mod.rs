//! The CPI methods: [`dispatch`] matches every [`Request`] variant to the action that answers
//! it. One short file per method; `info` and `calculate_vm_cloud_properties` need no LXD.

pub mod calculate_vm_cloud_properties;
pub mod cloud_properties;
pub mod info;

use serde_json::Value;

use crate::config::Config;
use crate::rpc::{CpiError, Request, RequestContext};

/// What every action gets besides its arguments.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The validated config, with the request context's `lxd`/`agent` overrides applied.
    pub config: Config,
    /// The contract version the caller speaks (`create_vm` and `attach_disk` answer
    /// differently to v1 and v2).
    pub api_version: u32,
    /// The request context (director UUID, request ID, stemcell API version, raw keys).
    pub context: RequestContext,
}

/// Runs one request and returns its JSON result.
pub async fn dispatch(req: Request, ctx: &CallContext) -> Result<Value, CpiError> {
    tracing::debug!(
        method = req.method(),
        api_version = ctx.api_version,
        "dispatching"
    );
    match req {
        Request::Info => Ok(info::info()),
        Request::CalculateVmCloudProperties { resources } => {
            Ok(calculate_vm_cloud_properties::calculate(&resources))
        }
        // LXD-backed methods. TO BUILD: replace each `not_built(..)` with the call into the
        // method's own file, e.g. `create_vm::run(ctx, args).await`.
        Request::CreateStemcell { .. } => not_built("create_stemcell"),
        Request::DeleteStemcell { .. } => not_built("delete_stemcell"),
        Request::CreateVm(_) => not_built("create_vm"),
        Request::DeleteVm { .. } => not_built("delete_vm"),
        Request::HasVm { .. } => not_built("has_vm"),
        Request::RebootVm { .. } => not_built("reboot_vm"),
        Request::SetVmMetadata { .. } => not_built("set_vm_metadata"),
        Request::CreateDisk { .. } => not_built("create_disk"),
        Request::DeleteDisk { .. } => not_built("delete_disk"),
        Request::HasDisk { .. } => not_built("has_disk"),
        Request::AttachDisk { .. } => not_built("attach_disk"),
        Request::DetachDisk { .. } => not_built("detach_disk"),
        Request::GetDisks { .. } => not_built("get_disks"),
        Request::SetDiskMetadata { .. } => not_built("set_disk_metadata"),
        Request::ResizeDisk { .. } => not_built("resize_disk"),
        Request::UpdateDisk { .. } => not_built("update_disk"),
        Request::SnapshotDisk { .. } => not_built("snapshot_disk"),
        Request::DeleteSnapshot { .. } => not_built("delete_snapshot"),
    }
}

/// TO BUILD: the answer of every LXD-backed method until its action exists. Delete this
/// function once no arm above calls it.
fn not_built(method: &str) -> Result<Value, CpiError> {
    Err(CpiError::not_implemented(format!(
        "{method}: not built yet"
    )))
}
