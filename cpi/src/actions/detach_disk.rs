//! `detach_disk(vm_cid, disk_cid)`, live: on a running VM the guest helper first unmounts
//! every mount of the volume ([`disk_release`]); a busy disk stops the call with a
//! retriable `CloudError` naming the holders. Then, under the instance lock, one PUT
//! (ETag-checked) removes the device and the key together, and the settings file is
//! rendered from the keys. A disk that is not attached is a success (the settings file is still checked).
//! If the settings cannot be written, the device and key are put back, so that file, keys
//! and devices still agree and the director's retry finds the same picture.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_keys::{DiskMap, disk_key, disk_path, is_attached, recorded_disks};
use super::disk_lookup::{EditError, disk_error, disk_failure};
use super::disk_release::{self, Released};
use super::errors::StepError;
use super::lxd_client::connect;
use super::names::HELPER_VERSION_KEY;
use super::settings_render::{self, Session};
use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, Device, ETag, Edit, Instance};
use crate::rpc::CpiError;

/// What the PUT removed, to put back if the settings cannot be written.
#[derive(Debug, Clone, Default)]
struct Removed {
    device: Option<Device>,
    key: Option<String>,
    keys: DiskMap,
}

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
        settings_render::sync(&client, vm.as_str(), Some(recorded_disks(&inst)))
            .await
            .map_err(|e| disk_failure(disk, Some(vm), format!("not attached, but {e}")))?;
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
    let session = Session::open(&client, vm.as_str())
        .await
        .map_err(|e| disk_error(disk, Some(vm), "locking the VM for", e))?;
    let detached = detach(&client, vm, disk, (inst, etag), &session).await;
    session.close(&client).await;
    detached?;
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

/// Under the session: the PUT (from the instance read before the release: the ETag
/// stays valid unless someone wrote meanwhile) while the settings file is read, then the
/// render; if that fails, the device and key are put back.
async fn detach(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    current: (Instance, ETag),
    session: &Session,
) -> Result<(), CpiError> {
    let cid = disk.as_str();
    let put = client.update_instance_locked(
        session.lock(),
        vm.as_str(),
        Edit::Replace,
        Some(current),
        |inst: &mut Instance| Ok::<Removed, EditError>(take_out(inst, cid)),
    );
    let (removed, settings) = tokio::join!(put, session.pull(client));
    let removed = removed.map_err(|e| e.into_cpi(disk, Some(vm), "detaching"))?;
    let rendered = match settings {
        Ok(mut settings) => session.render(client, &mut settings, &removed.keys).await,
        Err(e) => Err(e),
    };
    if let Err(e) = rendered {
        let err = disk_failure(disk, Some(vm), format!("detached, but {e}"));
        return Err(put_back(client, vm, disk, &removed, session, err).await);
    }
    Ok(())
}

/// The edit: device and key of `cid` gone (a state, so safe to run again).
fn take_out(inst: &mut Instance, cid: &str) -> Removed {
    Removed {
        device: inst.devices.remove(cid),
        key: inst.config.remove(&disk_key(cid)),
        keys: recorded_disks(inst),
    }
}

/// Restores what the PUT removed after the settings could not be written, and the file
/// from the keys. The guest's mounts are not restored; the device comes back at
/// `/warden-cpi-dev/<cid>`.
async fn put_back(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    removed: &Removed,
    session: &Session,
    err: CpiError,
) -> CpiError {
    tracing::warn!(error = %err, "putting the device and key back");
    let cid = disk.as_str();
    let restored = client
        .update_instance_locked(
            session.lock(),
            vm.as_str(),
            Edit::Merge,
            None,
            |inst: &mut Instance| {
                if let Some(dev) = &removed.device {
                    inst.devices.insert(cid.to_owned(), dev.clone());
                }
                if let Some(key) = &removed.key {
                    inst.config.insert(disk_key(cid), key.clone());
                }
                Ok::<DiskMap, EditError>(recorded_disks(inst))
            },
        )
        .await;
    // The failed render may have written the file before it failed: render it once more
    // from the restored keys (usually nothing to write).
    let outcome = match restored {
        Ok(keys) => session.sync(client, Some(keys)).await.map(drop),
        Err(e) => Err(StepError::Undo(e.into_cpi(disk, Some(vm), "re-attaching"))),
    };
    match outcome {
        Ok(()) => err,
        Err(why) => {
            tracing::error!(error = %why, "putting the device back failed");
            let message = format!("{err}; putting the device back also failed: {why}");
            err.with_message(message)
        }
    }
}

/// A stopped instance keeps an empty mode-0000 directory where the device was mounted
/// (`bosh-agent-in-lxd.md` §B); remove it so that nothing mistakes it for the disk.
async fn remove_mount_point(client: &Client, vm: &VmCid, disk: &DiskCid) {
    let path = disk_path(disk.as_str());
    match client.delete_file(vm.as_str(), &path).await {
        Ok(()) => tracing::debug!(path = %path, "removed the empty mount point"),
        Err(e) if e.is_not_found() => {}
        Err(e) => tracing::info!(path = %path, error = %e, "left the mount point in place"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::disk_keys::disk_device;
    use super::*;

    #[test]
    fn the_edit_removes_device_and_key_together() {
        let mut inst: Instance = serde_json::from_value(json!({"name": "vm-1",
            "config": {"user.bosh.disk.d1": "/warden-cpi-dev/d1", "user.bosh.disk.d2": "/warden-cpi-dev/d2"},
            "devices": {"d1": disk_device("btrfs", "d1"), "d2": disk_device("btrfs", "d2")}}))
        .unwrap();
        let removed = take_out(&mut inst, "d1");
        assert_eq!(removed.device, Some(disk_device("btrfs", "d1")));
        assert_eq!(removed.key.as_deref(), Some("/warden-cpi-dev/d1"));
        assert_eq!(removed.keys.keys().collect::<Vec<_>>(), ["d2"]);
        assert!(!is_attached(&inst, "d1") && is_attached(&inst, "d2"));
        let again = take_out(&mut inst, "d1");
        assert!(
            again.device.is_none() && again.key.is_none(),
            "nothing left to remove"
        );
    }
}
