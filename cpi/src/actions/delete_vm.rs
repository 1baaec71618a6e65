//! `delete_vm(vm_cid)`: stops the container at once, deletes it and its ephemeral volume.
//! Persistent disks stay: LXD detaches custom volumes when an instance is deleted and never
//! deletes them. A VM that is already gone is a success; its ephemeral volume, if a crash
//! left it behind, is still removed.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::vm_error;
use super::instance_ops::remove_instance;
use super::lxd_client::{connect, ensure_project};
use super::names::{EPHEMERAL_PATH, ephemeral_volume_of};
use crate::ids::VmCid;
use crate::lxd::{Client, Instance, NotFoundExt};
use crate::rpc::CpiError;

/// Deletes the VM `cid`.
#[instrument(skip_all, fields(vm_cid = %cid))]
pub async fn run(ctx: &CallContext, cid: &VmCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let instance = client
        .get_instance(cid.as_str())
        .await
        .optional()
        .map_err(|e| vm_error(cid, "deleting", e))?;
    let ephemeral = match &instance {
        Some(inst) => ephemeral_volume(inst),
        None => {
            ensure_project(&client).await?;
            tracing::info!("VM is already gone");
            ephemeral_volume_of(cid.as_str()).map(|v| (ctx.config.lxd.storage_pool.clone(), v))
        }
    };
    if instance.is_some() {
        remove_instance(&client, cid.as_str())
            .await
            .map_err(|e| vm_error(cid, "deleting", e))?;
        tracing::info!("instance deleted");
    }
    if let Some((pool, volume)) = ephemeral {
        delete_volume(&client, cid, &pool, &volume).await?;
    }
    Ok(Value::Null)
}

/// The volume mounted at `/var/vcap/data`: (pool, name).
fn ephemeral_volume(inst: &Instance) -> Option<(String, String)> {
    inst.devices.values().find_map(|d| {
        let is_eph = d.get("type").map(String::as_str) == Some("disk")
            && d.get("path").map(String::as_str) == Some(EPHEMERAL_PATH);
        match (is_eph, d.get("pool"), d.get("source")) {
            (true, Some(pool), Some(source)) if !source.starts_with('/') => {
                Some((pool.clone(), source.clone()))
            }
            _ => None,
        }
    })
}

async fn delete_volume(
    client: &Client,
    cid: &VmCid,
    pool: &str,
    volume: &str,
) -> Result<(), CpiError> {
    match client.delete_custom_volume(pool, volume).await.optional() {
        Ok(Some(())) => {
            tracing::info!(pool, volume, "ephemeral volume deleted");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(CpiError::cloud(format!(
            "deleting VM {cid}: deleting its ephemeral volume {volume} on pool {pool}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_the_volume_at_var_vcap_data_only() {
        let inst: Instance = serde_json::from_value(json!({"name": "vm-1", "devices": {
            "root": {"type": "disk", "path": "/", "pool": "btrfs"},
            "disk-1": {"type": "disk", "path": "/warden-cpi-dev/disk-1", "pool": "btrfs", "source": "disk-1"},
            "ephemeral": {"type": "disk", "path": "/var/vcap/data", "pool": "btrfs", "source": "eph-1"}}}))
        .unwrap();
        assert_eq!(
            ephemeral_volume(&inst),
            Some(("btrfs".to_owned(), "eph-1".to_owned()))
        );
        let host_dir: Instance = serde_json::from_value(json!({"name": "vm-2", "devices": {
            "data": {"type": "disk", "path": "/var/vcap/data", "source": "/srv/data"}}}))
        .unwrap();
        assert_eq!(
            ephemeral_volume(&host_dir),
            None,
            "a host directory is not a volume"
        );
    }
}
