//! `attach_disk(vm_cid, disk_cid)`, live: one PATCH (ETag-checked, under the instance
//! lock) adds the disk device named after the CID at `/warden-cpi-dev/<cid>` and the key
//! `user.bosh.disk.<cid>` holding that path; the settings file is rendered from the keys
//! under the same lock. The container keeps running. v2 callers get the path as the hint,
//! v1 callers null. A disk another instance uses is refused; any failure after the PATCH
//! takes it back.
//!
//! The raw work is a PATCH and a file push; everything else is kept off that path: the
//! volume, the instance and the lock are fetched at once, and the settings file (whose
//! keys the edit determines) is read and pushed while the PATCH runs. If the PATCH fails
//! or lands differently, the file is rendered again from the keys as they are.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_keys::{
    DiskMap, attach_conflict, device_matches, disk_device, disk_key, disk_path, instances_using,
    recorded_disks,
};
use super::disk_lookup::{EditError, FoundDisk, disk_error, disk_failure, require_disk};
use super::errors::StepError;
use super::lxd_client::connect;
use super::settings_render::Session;
use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, ETag, Edit, Instance};
use crate::rpc::CpiError;

/// What the PATCH changed, so that a failure can take exactly that back.
#[derive(Debug, Clone, Default, PartialEq)]
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
    let (found, session, current) = tokio::join!(
        require_disk(&client, &ctx.config, disk, Some(vm), "attaching"),
        Session::open(&client, vm.as_str()),
        client.get_instance_with_etag(vm.as_str()),
    );
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            found?;
            return Err(disk_error(disk, Some(vm), "locking the VM for", e));
        }
    };
    let outcome = match (found, current) {
        (Ok(found), Ok(current)) => attach(&client, vm, disk, found, current, &session).await,
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(disk_error(disk, Some(vm), "attaching", e)),
    };
    match outcome {
        Ok((pool, added)) => {
            // The lock is not needed for the check; the rare roll-back takes it again.
            let (checked, ()) = tokio::join!(
                check_no_other_user(&client, vm, disk, &pool, &added),
                session.close(&client)
            );
            if let Err(err) = checked {
                return Err(roll_back_unlocked(&client, vm, disk, &added, err).await);
            }
        }
        Err(e) => {
            session.close(&client).await;
            return Err(e);
        }
    }
    let hint = disk_path(disk.as_str());
    tracing::info!(hint = %hint, "disk attached");
    Ok(if ctx.api_version >= 2 {
        Value::String(hint)
    } else {
        Value::Null
    })
}

/// Under the session: the PATCH, with the settings file read and rendered from the keys
/// the edit will leave meanwhile; a failure after the PATCH takes it back.
async fn attach(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    found: FoundDisk,
    (inst, etag): (Instance, ETag),
    session: &Session,
) -> Result<(String, Added), CpiError> {
    refuse_if_used_elsewhere(vm, disk, &instances_using(&found.volume))?;
    let pool = found.pool;
    let cid = disk.as_str();
    let mut expected = inst.clone();
    let expected = add(&mut expected, &pool, cid)
        .map_err(|why| EditError::Refused(why).into_cpi(disk, Some(vm), "attaching"))?;
    let patch = client.update_instance_locked(
        session.lock(),
        vm.as_str(),
        Edit::Merge,
        Some((inst, etag)),
        |inst: &mut Instance| add(inst, &pool, cid).map_err(EditError::Refused),
    );
    let early = async {
        let mut settings = session.pull(client).await?;
        session
            .render(client, &mut settings, &expected.keys)
            .await?;
        Ok::<_, StepError>(settings)
    };
    let (added, rendered) = tokio::join!(patch, early);
    let added = match added {
        Ok(added) => added,
        Err(e) => {
            let err = e.into_cpi(disk, Some(vm), "attaching");
            // The file may already list the disk: render it from the keys as they are.
            return Err(match session.sync(client, None).await {
                Ok(_) => err,
                Err(why) => {
                    let message = format!("{err}; rendering the settings file again failed: {why}");
                    err.with_message(message)
                }
            });
        }
    };
    if added.device || added.key {
        tracing::info!(pool = %pool, "device and key added");
    } else {
        tracing::info!("disk is already attached to this VM");
    }
    let synced = match rendered {
        Ok(mut settings) if added.keys != expected.keys => session
            .render(client, &mut settings, &added.keys)
            .await
            .map(drop),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = synced {
        let err = disk_failure(disk, Some(vm), format!("attached, but {e}"));
        return Err(roll_back(client, vm, disk, &added, session, err).await);
    }
    Ok((pool, added))
}

/// The edit: the device and the key as the design wants them. Describes a state, so it is
/// safe to run again; an existing device that already matches is left as it is.
fn add(inst: &mut Instance, pool: &str, cid: &str) -> Result<Added, StepError> {
    if let Some(why) = attach_conflict(inst, pool, cid) {
        return Err(StepError::AttachConflict {
            disk: cid.to_owned(),
            why,
        });
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

/// After the PATCH: no other instance attached the disk at the same moment (two VMs'
/// PATCHes do not exclude each other).
async fn check_no_other_user(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    pool: &str,
    added: &Added,
) -> Result<(), CpiError> {
    if !added.device {
        return Ok(());
    }
    let volume = client
        .get_custom_volume(pool, disk.as_str())
        .await
        .map_err(|e| disk_error(disk, Some(vm), "checking who uses", e))?;
    refuse_if_used_elsewhere(vm, disk, &instances_using(&volume))
}

/// [`roll_back`] in a session of its own.
async fn roll_back_unlocked(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    added: &Added,
    err: CpiError,
) -> CpiError {
    match Session::open(client, vm.as_str()).await {
        Ok(session) => {
            let err = roll_back(client, vm, disk, added, &session, err).await;
            session.close(client).await;
            err
        }
        Err(e) => {
            let message = format!("{err}; taking the attach back also failed: locking: {e}");
            err.with_message(message)
        }
    }
}

/// Removes what the PATCH added and renders the settings file again; returns `err` with
/// any failure of that appended.
async fn roll_back(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    added: &Added,
    session: &Session,
    err: CpiError,
) -> CpiError {
    tracing::warn!(error = %err, "attach failed after the PATCH; taking it back");
    let cid = disk.as_str();
    let removed = client
        .update_instance_locked(
            session.lock(),
            vm.as_str(),
            Edit::Replace,
            None,
            |inst: &mut Instance| {
                if added.device {
                    inst.devices.remove(cid);
                }
                if added.key {
                    inst.config.remove(&disk_key(cid));
                }
                Ok::<DiskMap, EditError>(recorded_disks(inst))
            },
        )
        .await;
    let outcome = match removed {
        Ok(keys) => session.sync(client, Some(keys)).await.map(drop),
        Err(e) => Err(StepError::Undo(
            e.into_cpi(disk, Some(vm), "detaching")
                .context("removing the device and key again"),
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
