//! The CPI methods: [`dispatch`] matches every [`Request`] variant to the action that answers
//! it. One short file per method; `info` and `calculate_vm_cloud_properties` need no LXD.
//! Shared pieces: [`agent_settings`] (the guest's settings file), [`networks`] and [`ipv4`]
//! (NICs and addresses), [`vm_spec`] (what an instance is made of), [`undo`] (rollback),
//! [`instance_ops`], [`errors`] (LXD errors as BOSH errors), [`names`] (names and keys).

pub mod agent_settings;
pub mod calculate_vm_cloud_properties;
pub mod cloud_properties;
pub mod create_stemcell;
pub mod create_vm;
pub mod delete_stemcell;
pub mod delete_vm;
pub mod errors;
pub mod has_vm;
pub mod image_lock;
pub mod info;
pub mod instance_ops;
pub mod ipv4;
pub mod lxd_client;
pub mod names;
pub mod networks;
pub mod reboot_vm;
pub mod set_vm_metadata;
pub mod undo;
pub mod vm_spec;

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
        Request::CreateStemcell {
            image_path,
            cloud_properties,
            tags: _,
        } => create_stemcell::run(ctx, &image_path, &cloud_properties).await,
        Request::DeleteStemcell { stemcell_cid } => delete_stemcell::run(ctx, &stemcell_cid).await,
        Request::CreateVm(args) => create_vm::run(ctx, &args).await,
        Request::DeleteVm { vm_cid } => delete_vm::run(ctx, &vm_cid).await,
        Request::HasVm { vm_cid } => has_vm::run(ctx, &vm_cid).await,
        Request::RebootVm { vm_cid } => reboot_vm::run(ctx, &vm_cid).await,
        Request::SetVmMetadata { vm_cid, metadata } => {
            set_vm_metadata::run(ctx, &vm_cid, &metadata).await
        }
        // Disk methods. TO BUILD: replace each `not_built(..)` with the call into the
        // method's own file, e.g. `attach_disk::run(ctx, &vm_cid, &disk_cid).await`.
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
