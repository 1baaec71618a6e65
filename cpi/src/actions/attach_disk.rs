//! `attach_disk(vm_cid, disk_cid)`, live: one PATCH (ETag-checked, under the instance
//! lock) adds the disk device named after the CID at `/warden-cpi-dev/<cid>` and the key
//! `user.bosh.disk.<cid>` holding that path; then the settings file is rendered from the
//! keys. The container keeps running. v2 callers get the path as the hint, v1 callers null.
//! A disk another instance uses is refused; any failure after the PATCH takes it back.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_keys::{
    DiskMap, attach_conflict, device_matches, disk_device, disk_key, disk_path, instances_using,
    recorded_disks,
};
use super::disk_lookup::{EditError, FoundDisk, disk_error, disk_failure, require_disk};
use super::lxd_client::connect;
use super::settings_render::{self, Session};
use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, Instance, WriteMethod};
use crate::rpc::CpiError;

/// What the PATCH changed, so that a failure can take exactly that back.
#[derive(Debug, Clone, Default)]
struct Added {
    device: bool,
    key: bool,
    /// The keys after the edit.
    keys: DiskMap,
}

/// Attaches disk `disk` to VM `vm`.
#[instrument(skip_all, fields(vm_cid = %vm, disk_cid = %disk))]
pub async fn run(ctx: &CallContext, vm: &VmCid, disk: &DiskCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    // The settings file is needed only after the PATCH; taking its lock and reading it
    // while the disk is looked up keeps those requests off the critical path.
    let (found, session) = tokio::join!(
        require_disk(&client, &ctx.config, disk, Some(vm), "attaching"),
        settings_render::open(&client, vm.as_str()),
    );
    let mut session = match session {
        Ok(session) => session,
        Err(why) => {
            found?;
            return Err(settings_unreadable(&client, vm, disk, why).await);
        }
    };
    let result = match found {
        Ok(found) => attach(&client, vm, disk, found, &mut session).await,
        Err(e) => Err(e),
    };
    session.close(&client).await;
    result?;
    let hint = disk_path(disk.as_str());
    tracing::info!(hint = %hint, "disk attached");
    Ok(if ctx.api_version >= 2 {
        Value::String(hint)
    } else {
        Value::Null
    })
}

/// The PATCH, the check that no other instance took the disk meanwhile, the settings file;
/// a failure after the PATCH takes it back.
async fn attach(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    found: FoundDisk,
    session: &mut Session,
) -> Result<(), CpiError> {
    refuse_if_used_elsewhere(vm, disk, &instances_using(&found.volume))?;
    let pool = found.pool;
    let added = client
        .update_instance(vm.as_str(), WriteMethod::Patch, |inst: &mut Instance| {
            add(inst, &pool, disk.as_str()).map_err(EditError::Refused)
        })
        .await
        .map_err(|e| e.into_cpi(disk, Some(vm), "attaching"))?;
    if added.device || added.key {
        tracing::info!(pool = %pool, "device and key added");
    } else {
        tracing::info!("disk is already attached to this VM");
    }
    if let Err(err) = finish(client, vm, disk, &pool, &added, session).await {
        return Err(roll_back(client, vm, disk, &added, session, err).await);
    }
    Ok(())
}

/// The settings file could not be opened: `VMNotFound` when the VM is missing, else why.
async fn settings_unreadable(client: &Client, vm: &VmCid, disk: &DiskCid, why: String) -> CpiError {
    match client.get_instance(vm.as_str()).await {
        Err(e) if e.is_not_found() => disk_error(disk, Some(vm), "attaching", e),
        _ => disk_failure(disk, Some(vm), format!("cannot attach: {why}")),
    }
}

/// The edit: the device and the key as the design wants them. Describes a state, so it is
/// safe to run again; an existing device that already matches is left as it is.
fn add(inst: &mut Instance, pool: &str, cid: &str) -> Result<Added, String> {
    if let Some(why) = attach_conflict(inst, pool, cid) {
        return Err(why);
    }
    let path = disk_path(cid);
    let mut added = Added::default();
    if !inst
        .devices
        .get(cid)
        .is_some_and(|d| device_matches(d, pool, cid))
    {
        inst.devices.insert(cid.to_owned(), disk_device(pool, cid));
        added.device = true;
    }
    let key = disk_key(cid);
    if inst.config.get(&key) != Some(&path) {
        inst.config.insert(key, path);
        added.key = true;
    }
    added.keys = recorded_disks(inst);
    Ok(added)
}

/// The disk may be in use by this VM (a repeated call) but by no other instance.
fn refuse_if_used_elsewhere(vm: &VmCid, disk: &DiskCid, users: &[String]) -> Result<(), CpiError> {
    let others: Vec<&String> = users.iter().filter(|u| u.as_str() != vm.as_str()).collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(disk_failure(
        disk,
        Some(vm),
        format!(
            "cannot attach: the disk is attached to VM {} (detach it there first)",
            others
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// After the PATCH: check that no other instance attached the disk at the same moment
/// (two VMs' PATCHes do not exclude each other) while the settings file is rendered.
async fn finish(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    pool: &str,
    added: &Added,
    session: &mut Session,
) -> Result<(), CpiError> {
    let check = async {
        if !added.device {
            return Ok(());
        }
        let volume = client
            .get_custom_volume(pool, disk.as_str())
            .await
            .map_err(|e| disk_error(disk, Some(vm), "checking who uses", e))?;
        refuse_if_used_elsewhere(vm, disk, &instances_using(&volume))
    };
    let render = session.render(client, Some(added.keys.clone()));
    let (checked, rendered) = tokio::join!(check, render);
    checked?;
    let synced =
        rendered.map_err(|e| disk_failure(disk, Some(vm), format!("attached, but {e}")))?;
    tracing::debug!(writes = synced.writes, "settings file rendered");
    Ok(())
}

/// Removes what the PATCH added and renders the settings file again; returns `err` with
/// any failure of that appended.
async fn roll_back(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    added: &Added,
    session: &mut Session,
    err: CpiError,
) -> CpiError {
    tracing::warn!(error = %err, "attach failed after the PATCH; taking it back");
    let cid = disk.as_str();
    let removed = client
        .update_instance(vm.as_str(), WriteMethod::Put, |inst: &mut Instance| {
            if added.device {
                inst.devices.remove(cid);
            }
            if added.key {
                inst.config.remove(&disk_key(cid));
            }
            Ok::<DiskMap, EditError>(recorded_disks(inst))
        })
        .await;
    let outcome = match removed {
        Ok(keys) => session.render(client, Some(keys)).await.map(drop),
        Err(e) => Err(format!(
            "removing the device and key again: {}",
            e.into_cpi(disk, Some(vm), "detaching")
        )),
    };
    match outcome {
        Ok(()) => {
            tracing::info!("attach taken back");
            err
        }
        Err(why) => {
            tracing::error!(error = %why, "taking the attach back failed");
            let message = format!("{err}; taking the attach back also failed: {why}");
            err.with_message(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_edit_adds_device_and_key_once() {
        let mut inst: Instance = serde_json::from_value(json!({"name": "vm-1",
            "config": {"user.bosh.disk.d0": "/warden-cpi-dev/d0"}}))
        .unwrap();
        let first = add(&mut inst, "btrfs", "d1").unwrap();
        assert!(first.device && first.key);
        assert_eq!(inst.devices["d1"]["path"], "/warden-cpi-dev/d1");
        assert_eq!(inst.config["user.bosh.disk.d1"], "/warden-cpi-dev/d1");
        assert_eq!(first.keys.len(), 2);
        let again = add(&mut inst, "btrfs", "d1").unwrap();
        assert!(
            !again.device && !again.key,
            "a repeated attach changes nothing"
        );
        assert!(
            add(&mut inst, "other-pool", "d1").is_err(),
            "same name, other pool"
        );
    }

    #[test]
    fn used_elsewhere_names_the_other_vm() {
        let vm = VmCid::new("vm-1").unwrap();
        let disk = DiskCid::new("d1").unwrap();
        assert!(refuse_if_used_elsewhere(&vm, &disk, &["vm-1".into()]).is_ok());
        let err = refuse_if_used_elsewhere(&vm, &disk, &["vm-2".into()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("disk d1 on VM vm-1: cannot attach: the disk is attached to VM vm-2"),
            "{err}"
        );
    }
}
