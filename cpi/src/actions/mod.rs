//! The CPI methods: [`dispatch`] matches every [`Request`] variant to the action that answers
//! it. One short file per method; `info` and `calculate_vm_cloud_properties` need no LXD.
//! Shared pieces: [`agent_settings`] (the guest's settings file), [`networks`] and [`ipv4`]
//! (NICs and addresses), [`vm_spec`] (what an instance is made of), [`undo`] (rollback),
//! [`instance_ops`], [`errors`] (LXD errors as BOSH errors), [`names`] (names and keys).
//! Disks: [`vm_disks`] (a VM's disks: device, key and hint of an attached disk, the
//! settings file from the keys, attach, detach and their undo), [`disk_lookup`] (which
//! pool holds a disk), [`disk_release`] (the guest helper's `release`),
//! [`disk_properties`] (cloud properties and sizes).

pub mod agent_settings;
pub mod attach_disk;
pub mod calculate_vm_cloud_properties;
pub mod cloud_properties;
pub mod create_disk;
pub mod create_stemcell;
pub mod create_vm;
pub mod delete_disk;
pub mod delete_snapshot;
pub mod delete_stemcell;
pub mod delete_vm;
pub mod detach_disk;
pub mod disk_lookup;
pub mod disk_properties;
pub mod disk_release;
pub mod errors;
pub mod get_disks;
pub mod has_disk;
pub mod has_vm;
pub mod image_lock;
pub mod info;
pub mod instance_ops;
pub mod ipv4;
pub mod lxd_client;
pub mod names;
pub mod networks;
pub mod reboot_vm;
pub mod resize_disk;
pub mod set_disk_metadata;
pub mod set_vm_metadata;
pub mod snapshot_disk;
pub mod undo;
pub mod update_disk;
pub mod vm_disks;
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
        Request::CreateDisk {
            size_mib,
            cloud_properties,
            vm_cid,
        } => create_disk::run(ctx, size_mib, &cloud_properties, vm_cid.as_ref()).await,
        Request::DeleteDisk { disk_cid } => delete_disk::run(ctx, &disk_cid).await,
        Request::HasDisk { disk_cid } => has_disk::run(ctx, &disk_cid).await,
        Request::AttachDisk { vm_cid, disk_cid } => attach_disk::run(ctx, &vm_cid, &disk_cid).await,
        Request::DetachDisk { vm_cid, disk_cid } => detach_disk::run(ctx, &vm_cid, &disk_cid).await,
        Request::GetDisks { vm_cid } => get_disks::run(ctx, &vm_cid).await,
        Request::SetDiskMetadata { disk_cid, metadata } => {
            set_disk_metadata::run(ctx, &disk_cid, &metadata).await
        }
        Request::ResizeDisk {
            disk_cid,
            new_size_mib,
        } => resize_disk::run(ctx, &disk_cid, new_size_mib).await,
        Request::UpdateDisk {
            disk_cid,
            new_size_mib,
            cloud_properties,
        } => update_disk::run(ctx, &disk_cid, new_size_mib, &cloud_properties).await,
        Request::SnapshotDisk { disk_cid, metadata } => {
            snapshot_disk::run(ctx, &disk_cid, &metadata).await
        }
        Request::DeleteSnapshot { snapshot_cid } => delete_snapshot::run(ctx, &snapshot_cid).await,
    }
}
