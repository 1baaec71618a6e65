//! Finding a persistent disk and its VM: a disk CID names a custom volume, usually in the
//! configured pool, but `create_disk` may have put it in a VM's pool, so the other pools
//! are searched when it is not there. Also the errors every disk method shares, each
//! naming the disk (and the VM, when there is one).

use std::fmt::Display;

use super::errors::StepError;
use super::lxd_client::ensure_project;
use crate::config::Config;
use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, LxdError, NotFoundExt, StorageVolume};
use crate::rpc::CpiError;

/// A disk's volume and the pool it lives in.
#[derive(Debug, Clone)]
pub struct FoundDisk {
    /// The storage pool.
    pub pool: String,
    /// The volume as LXD returned it.
    pub volume: StorageVolume,
}

/// The pool and cluster member an instance lives on (for `create_disk`'s placement hint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Pool of the instance's root disk.
    pub pool: Option<String>,
    /// Cluster member, when the server is clustered.
    pub member: Option<String>,
}

/// The volume `cid`, looked up in the configured pool first and then in every other pool.
/// `None` when no pool has it (after checking that the project exists: LXD 5.0.2 answers
/// not-found for everything in a missing project).
pub async fn find_disk(
    client: &Client,
    config: &Config,
    cid: &DiskCid,
    vm: Option<&VmCid>,
) -> Result<Option<FoundDisk>, CpiError> {
    let first = &config.lxd.storage_pool;
    if let Some(found) = volume_in(client, first, cid, vm).await? {
        return Ok(Some(found));
    }
    let pools = client
        .list_storage_pools()
        .await
        .map_err(|e| disk_error(cid, vm, "listing storage pools to find", e))?;
    for pool in pools.iter().filter(|p| *p != first) {
        if let Some(found) = volume_in(client, pool, cid, vm).await? {
            return Ok(Some(found));
        }
    }
    ensure_project(client).await?;
    Ok(None)
}

/// Like [`find_disk`], but a missing disk is `DiskNotFound` naming what was being done.
pub async fn require_disk(
    client: &Client,
    config: &Config,
    cid: &DiskCid,
    vm: Option<&VmCid>,
    doing: &str,
) -> Result<FoundDisk, CpiError> {
    find_disk(client, config, cid, vm).await?.ok_or_else(|| {
        CpiError::disk_not_found(format!(
            "{doing} disk {cid}{}: no custom volume of that name in any storage pool of \
             project {}",
            on_vm(vm),
            client.project()
        ))
    })
}

async fn volume_in(
    client: &Client,
    pool: &str,
    cid: &DiskCid,
    vm: Option<&VmCid>,
) -> Result<Option<FoundDisk>, CpiError> {
    client
        .get_custom_volume(pool, cid.as_str())
        .await
        .optional()
        .map(|v| {
            v.map(|volume| FoundDisk {
                pool: pool.to_owned(),
                volume,
            })
        })
        .map_err(|e| disk_error(cid, vm, &format!("looking in pool {pool} for"), e))
}

/// Where VM `vm` lives: the pool of its root disk and its cluster member. `None` when the
/// VM does not exist.
pub async fn placement_of(client: &Client, vm: &VmCid) -> Result<Option<Placement>, CpiError> {
    let Some(inst) = client
        .get_instance(vm.as_str())
        .await
        .optional()
        .map_err(|e| CpiError::cloud(format!("looking up VM {vm} to place a disk near it: {e}")))?
    else {
        return Ok(None);
    };
    let pool = inst
        .expanded_devices
        .values()
        .find(|d| {
            d.get("type").map(String::as_str) == Some("disk")
                && d.get("path").map(String::as_str) == Some("/")
        })
        .and_then(|d| d.get("pool").cloned());
    let member = Some(inst.location).filter(|l| !l.is_empty() && l != "none");
    Ok(Some(Placement { pool, member }))
}

/// True when `pool` uses a driver that accepts volume sizes and ignores them (dir). An
/// unreadable pool counts as false: the warning it would give is not worth failing for.
pub async fn pool_ignores_sizes(client: &Client, pool: &str) -> bool {
    matches!(client.get_storage_pool(pool).await, Ok(info) if info.ignores_sizes())
}

/// ` on VM <vm>` or nothing.
pub fn on_vm(vm: Option<&VmCid>) -> String {
    vm.map(|v| format!(" on VM {v}")).unwrap_or_default()
}

/// A failed LXD call while `doing` something with disk `cid` (on VM `vm`): `VMNotFound`
/// when the instance is missing, `CloudError` otherwise; the message names both CIDs.
pub fn disk_error(cid: &DiskCid, vm: Option<&VmCid>, doing: &str, err: LxdError) -> CpiError {
    let message = format!("{doing} disk {cid}{}: {err}", on_vm(vm));
    let instance_gone = vm.is_some_and(|v| err.is_missing_instance(v.as_str()));
    if instance_gone {
        CpiError::vm_not_found(message)
    } else {
        CpiError::cloud(message)
    }
}

/// A `CloudError` for disk `cid` (on VM `vm`) with a message of the CPI's own.
pub fn disk_failure(cid: &DiskCid, vm: Option<&VmCid>, what: impl Display) -> CpiError {
    CpiError::cloud(format!("disk {cid}{}: {what}", on_vm(vm)))
}

/// The error of an instance or volume edit: LXD's, or the edit's own refusal.
#[derive(Debug)]
pub enum EditError {
    /// LXD failed.
    Lxd(LxdError),
    /// The edit refused, saying why.
    Refused(StepError),
}

impl From<LxdError> for EditError {
    fn from(err: LxdError) -> Self {
        EditError::Lxd(err)
    }
}

impl EditError {
    /// As a BOSH error naming the disk and the VM: LXD's failures through [`disk_error`],
    /// refusals as `CloudError`s.
    pub fn into_cpi(self, cid: &DiskCid, vm: Option<&VmCid>, doing: &str) -> CpiError {
        match self {
            EditError::Lxd(e) => disk_error(cid, vm, doing, e),
            EditError::Refused(why) => {
                CpiError::cloud(format!("{doing} disk {cid}{}: {why}", on_vm(vm)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_disk_and_vm() {
        let disk = DiskCid::new("disk-1").unwrap();
        let vm = VmCid::new("vm-1").unwrap();
        let gone = LxdError::from_status(
            "GET",
            "/1.0/instances/vm-1?project=p",
            404,
            "Instance not found",
        );
        let err = disk_error(&disk, Some(&vm), "attaching", gone);
        assert_eq!(err.bosh_type(), "Bosh::Clouds::VMNotFound");
        assert!(
            err.to_string()
                .starts_with("attaching disk disk-1 on VM vm-1: LXD GET"),
            "{err}"
        );
        let file_gone = LxdError::from_status(
            "GET",
            "/1.0/instances/vm-1/files?path=%2Fx&project=p",
            404,
            "not found",
        );
        let err = disk_error(&disk, Some(&vm), "attaching", file_gone);
        assert_eq!(
            err.bosh_type(),
            "Bosh::Clouds::CloudError",
            "a file, not the VM"
        );
        let vol_gone = LxdError::from_status(
            "GET",
            "/1.0/storage-pools/p/volumes/custom/disk-1",
            404,
            "Storage pool volume not found",
        );
        let err = disk_error(&disk, Some(&vm), "attaching", vol_gone);
        assert_eq!(err.bosh_type(), "Bosh::Clouds::CloudError");
        assert_eq!(disk_failure(&disk, None, "x").to_string(), "disk disk-1: x");
    }
}
