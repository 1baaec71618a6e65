//! `detach_disk(vm_cid, disk_cid)`, live: on a running VM the guest helper first unmounts
//! every mount of the volume ([`disk_release`]); a busy disk stops the call with a
//! retriable `CloudError` naming the holders. Then [`vm_disks::detach`] removes the device
//! and the key and renders the settings file from the keys; if the file cannot be
//! written, the device and key are put back, so that file, keys and devices still agree
//! and the director's retry finds the same picture. A disk that is not attached is a
//! success (the settings file is still put right).

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_release::{self, Released};
use super::errors::disk_error;
use super::lxd_client::connect;
use super::names::HELPER_VERSION_KEY;
use super::vm_disks::{
    self,
    keys::{disk_path, is_attached, recorded_disks},
};
use crate::ids::{DiskCid, VmCid};
use crate::lxd::Client;
use crate::rpc::CpiError;

/// Detaches disk `disk` from VM `vm`.
#[instrument(skip_all, fields(vm_cid = %vm, disk_cid = %disk))]
pub async fn run(ctx: &CallContext, vm: &VmCid, disk: &DiskCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let (inst, etag) = client
        .get_instance_with_etag(vm.as_str())
        .await
        .map_err(|e| disk_error(disk, Some(vm), "detaching", e))?;
    if !is_attached(&inst, disk.as_str()) {
        tracing::info!("disk is not attached to this VM");
        vm_disks::render_settings(&client, vm, disk, &recorded_disks(&inst)).await?;
        return Ok(Value::Null);
    }
    let running = inst.is_running();
    let released = if running {
        let has_key = inst.config.contains_key(HELPER_VERSION_KEY);
        Some(disk_release::release(&client, vm, disk, has_key).await?)
    } else {
        tracing::info!(status = %inst.status, "VM is not running: nothing to release in the guest");
        None
    };
    vm_disks::detach(&client, vm, disk, (inst, etag)).await?;
    if !running {
        remove_mount_point(&client, vm, disk).await;
    }
    match released {
        Some(Released::Done(what)) => {
            tracing::info!(released = %what, "disk released in the guest and detached");
        }
        Some(Released::NoHelper) => tracing::info!("disk detached without a release in the guest"),
        None => tracing::info!("disk detached from the stopped VM"),
    }
    Ok(Value::Null)
}

/// A stopped instance keeps an empty mode-0000 directory where the device was mounted
/// (seen by hand on LXD 5.0.2); remove it so that nothing mistakes it for the disk.
async fn remove_mount_point(client: &Client, vm: &VmCid, disk: &DiskCid) {
    let path = disk_path(disk.as_str());
    match client.delete_file(vm.as_str(), &path).await {
        Ok(()) => tracing::debug!(path = %path, "removed the empty mount point"),
        Err(e) if e.is_not_found() => {}
        Err(e) => tracing::info!(path = %path, error = %e, "left the mount point in place"),
    }
}
