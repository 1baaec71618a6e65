//! A VM's persistent disks, owned in one place (`ARCHITECTURE.md` §2): what the
//! `user.bosh.disk.*` keys and the disk devices say ([`keys`]), what the agent settings
//! file says ([`settings`]), attaching and detaching them, and taking a half-done call
//! back (`undo`). [`attach`] and [`detach`] are one straight line each under the
//! instance's lock: edit the instance (ETag-checked) while the settings file is read
//! (and, for attach, rendered from the keys the edit will leave), render the file from the
//! keys the edit left, and on any failure after the edit revert the one undo list.
//!
//! The lock is the one every CPI writer of the instance takes (`Client::update_instance`),
//! so the key edit and the render form one unit: no other CPI process can move the keys
//! between them, and two pushes of the file never overlap (LXD writes a pushed file by
//! truncating it and copying the new bytes in, so two pushes at the same moment can leave
//! the tail of a longer document behind a shorter one: invalid JSON the agent cannot boot
//! from).

pub mod keys;
pub mod settings;
mod undo;

use self::keys::{Added, DiskMap, add, take_out};
use self::undo::Undo;
use super::disk_lookup::{FoundDisk, require_disk};
use super::errors::{EditError, disk_error, disk_failure};
use crate::config::Config;
use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, ETag, Edit, Instance, ObjectLock};
use crate::rpc::CpiError;

/// One VM's disks, under the instance's lock from `open` to `close`.
#[derive(Debug)]
pub struct VmDisks<'a> {
    client: &'a Client,
    vm: &'a VmCid,
    lock: ObjectLock,
}

/// Attaches disk `disk` to VM `vm`, live: one ETag-checked PATCH adds the device and the
/// key, the settings file is rendered from the keys, and a disk another instance uses is
/// refused (before the PATCH, and again after it when two attaches raced). The volume,
/// the instance and the lock are fetched at once.
pub async fn attach(
    client: &Client,
    config: &Config,
    vm: &VmCid,
    disk: &DiskCid,
) -> Result<(), CpiError> {
    let (found, opened, current) = tokio::join!(
        require_disk(client, config, disk, Some(vm), "attaching"),
        VmDisks::open(client, vm, disk),
        client.get_instance_with_etag(vm.as_str()),
    );
    let disks = match opened {
        Ok(disks) => disks,
        Err(e) => {
            found?;
            return Err(e);
        }
    };
    let attached = match (found, current) {
        (Ok(found), Ok(current)) => disks.attach(disk, found, current).await,
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(disk_error(disk, Some(vm), "attaching", e)),
    };
    disks.close().await;
    attached
}

/// Detaches disk `disk` from VM `vm` (after the guest released it): one ETag-checked PUT
/// from `current`, the instance as read before the release, removes the device and the
/// key together, and the settings file is rendered from the keys.
pub async fn detach(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    current: (Instance, ETag),
) -> Result<(), CpiError> {
    let disks = VmDisks::open(client, vm, disk).await?;
    let detached = disks.detach(disk, current).await;
    disks.close().await;
    detached
}

/// Renders VM `vm`'s settings file from `keys`, the keys as just read, under the lock
/// (a detach of a disk that is not attached still puts a stale file right).
pub async fn render_settings(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    keys: &DiskMap,
) -> Result<(), CpiError> {
    let disks = VmDisks::open(client, vm, disk).await?;
    let rendered = disks.sync(keys).await.map(drop);
    disks.close().await;
    rendered.map_err(|e| disk_failure(disk, Some(vm), format!("not attached, but {e}")))
}

impl<'a> VmDisks<'a> {
    /// Takes the lock of instance `vm` (errors name `disk`, the one being worked on).
    async fn open(
        client: &'a Client,
        vm: &'a VmCid,
        disk: &DiskCid,
    ) -> Result<VmDisks<'a>, CpiError> {
        let lock = client
            .lock_instance(vm.as_str())
            .await
            .map_err(|e| disk_error(disk, Some(vm), "locking the VM for", e))?;
        Ok(VmDisks { client, vm, lock })
    }

    /// Gives the lock back.
    async fn close(self) {
        if let Err(e) = self.client.release_lock(self.lock).await {
            tracing::warn!(error = %e, "could not release the instance lock; it expires by itself");
        }
    }

    /// An ETag-checked edit of the instance under the held lock.
    async fn edit<T>(
        &self,
        how: Edit,
        first: Option<(Instance, ETag)>,
        edit: impl FnMut(&mut Instance) -> Result<T, EditError>,
    ) -> Result<T, EditError> {
        let (lock, vm) = (&self.lock, self.vm.as_str());
        self.client
            .update_instance_locked(lock, vm, how, first, edit)
            .await
    }

    /// The edit is a function of the instance, so the keys it will leave are known before
    /// it is sent: the settings file is rendered from them while the PATCH runs (and again
    /// in the rare case the PATCH landed differently). From then on, any failure reverts
    /// the undo list, which also renders the file from the keys as they are.
    async fn attach(
        &self,
        disk: &DiskCid,
        found: FoundDisk,
        (inst, etag): (Instance, ETag),
    ) -> Result<(), CpiError> {
        let (vm, cid, pool) = (self.vm, disk.as_str(), found.pool.as_str());
        refuse_if_used_elsewhere(vm, disk, &found.volume.instances_using())?;
        let planned = add(&mut inst.clone(), pool, cid)
            .map_err(|why| EditError::Refused(why).into_cpi(disk, Some(vm), "attaching"))?;
        let mut undo = Undo::default();
        undo.rendered();
        let (added, rendered) = tokio::join!(
            self.edit(Edit::Merge, Some((inst, etag)), |inst| {
                add(inst, pool, cid).map_err(EditError::Refused)
            }),
            self.sync(&planned.keys),
        );
        let finished = async {
            let added = added.map_err(|e| e.into_cpi(disk, Some(vm), "attaching"))?;
            undo.added(cid, &added);
            log_added(&added, pool);
            let attached_but = |e| disk_failure(disk, Some(vm), format!("attached, but {e}"));
            let settings = rendered.map_err(attached_but)?;
            if added.keys != planned.keys {
                self.render(Ok(settings), &added.keys)
                    .await
                    .map_err(attached_but)?;
            }
            if added.device {
                self.check_no_other_user(disk, pool).await?;
            }
            Ok(())
        };
        match finished.await {
            Ok(()) => Ok(()),
            Err(err) => Err(undo.roll_back(self, disk, err).await),
        }
    }

    /// After the PATCH: no other instance attached the disk at the same moment (two VMs'
    /// PATCHes do not exclude each other).
    async fn check_no_other_user(&self, disk: &DiskCid, pool: &str) -> Result<(), CpiError> {
        let volume = self
            .client
            .get_custom_volume(pool, disk.as_str())
            .await
            .map_err(|e| disk_error(disk, Some(self.vm), "checking who uses", e))?;
        refuse_if_used_elsewhere(self.vm, disk, &volume.instances_using())
    }

    async fn detach(&self, disk: &DiskCid, current: (Instance, ETag)) -> Result<(), CpiError> {
        let (vm, cid) = (self.vm, disk.as_str());
        let (removed, settings) = tokio::join!(
            self.edit(Edit::Replace, Some(current), |inst| Ok(take_out(inst, cid))),
            self.pull(),
        );
        let removed = removed.map_err(|e| e.into_cpi(disk, Some(vm), "detaching"))?;
        let mut undo = Undo::default();
        undo.removed(cid, &removed);
        match self.render(settings, &removed.keys).await.map(drop) {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = disk_failure(disk, Some(vm), format!("detached, but {e}"));
                Err(undo.roll_back(self, disk, err).await)
            }
        }
    }
}

fn log_added(added: &Added, pool: &str) {
    if added.device || added.key {
        tracing::info!(pool = %pool, "device and key added");
    } else {
        tracing::info!("disk is already attached to this VM");
    }
}

/// The disk may be in use by this VM (a repeated call) but by no other instance.
fn refuse_if_used_elsewhere(vm: &VmCid, disk: &DiskCid, users: &[String]) -> Result<(), CpiError> {
    let others: Vec<&str> = users
        .iter()
        .map(String::as_str)
        .filter(|u| *u != vm.as_str())
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(disk_failure(
        disk,
        Some(vm),
        format!(
            "cannot attach: the disk is attached to VM {} (detach it there first)",
            others.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
