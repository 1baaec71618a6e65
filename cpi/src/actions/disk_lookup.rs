//! Finding a persistent disk and its VM: a disk CID names a custom volume, usually in the
//! configured pool, but `create_disk` may have put it in a VM's pool, so the other pools
//! are searched when it is not there.

use super::errors::{disk_error, on_vm};
use super::lxd_client::ensure_project;
use crate::config::Config;
use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, NotFoundExt, StorageVolume};
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
