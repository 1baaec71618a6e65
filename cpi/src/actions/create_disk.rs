//! `create_disk(size, cloud_properties, vm_cid)`: a custom filesystem volume `disk-<uuid>`
//! (the disk CID) of `size` MiB, marked with the ownership keys. Its pool is the cloud
//! property `pool`, else the pool of the VM named as placement hint (and that VM's cluster
//! member), else the configured pool. On a pool whose driver ignores sizes (dir) the size
//! is recorded but not enforced, which is logged as a warning.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::{Placement, placement_of, pool_ignores_sizes};
use super::disk_properties::DiskCloudProperties;
use super::errors::cloud_error;
use super::lxd_client::connect;
use super::names::{DIRECTOR_KEY, MANAGED_BY, MANAGED_BY_KEY, new_uuid};
use super::vm_disks::keys::disk_name;
use crate::ids::VmCid;
use crate::lxd::StorageVolumesPost;
use crate::rpc::{CloudProperties, CpiError};

/// Creates the disk and returns its CID.
#[instrument(skip_all, fields(size_mib = size_mib, vm_cid = ?vm.map(VmCid::as_str)))]
pub async fn run(
    ctx: &CallContext,
    size_mib: u64,
    cloud_properties: &CloudProperties,
    vm: Option<&VmCid>,
) -> Result<Value, CpiError> {
    let props = DiskCloudProperties::parse(cloud_properties)?;
    let client = connect(&ctx.config)?;
    let near = match vm {
        Some(vm) => placement_of(&client, vm).await?.or_else(|| {
            tracing::warn!(vm_cid = %vm, "VM named as placement hint does not exist; using the configured pool");
            None
        }),
        None => None,
    };
    let (pool, member) = choose(&props, near, &ctx.config.lxd.storage_pool);
    let target = member.or_else(|| ctx.config.lxd.target.clone());
    let name = disk_name(&new_uuid());
    if pool_ignores_sizes(&client, &pool).await {
        tracing::warn!(
            pool = %pool,
            "storage pool uses the dir driver: disk {name} gets no {size_mib} MiB quota"
        );
    }
    let body = volume_body(
        &name,
        size_mib,
        &props,
        ctx.context.director_uuid.as_deref(),
    );
    client
        .create_custom_volume_on(&pool, &body, target.as_deref())
        .await
        .map_err(|e| {
            cloud_error(
                format!("creating disk {name} ({size_mib} MiB) in storage pool {pool}"),
                e,
            )
        })?;
    tracing::info!(disk_cid = %name, pool = %pool, member = ?target, "disk created");
    Ok(Value::String(name))
}

/// The pool (and member) for the new volume: `pool` property, the VM's, the config's.
fn choose(
    props: &DiskCloudProperties,
    near: Option<Placement>,
    configured: &str,
) -> (String, Option<String>) {
    let (near_pool, member) = near.map_or((None, None), |p| (p.pool, p.member));
    let pool = props
        .pool
        .clone()
        .or(near_pool)
        .unwrap_or_else(|| configured.to_owned());
    (pool, member)
}

fn volume_body(
    name: &str,
    size_mib: u64,
    props: &DiskCloudProperties,
    director: Option<&str>,
) -> StorageVolumesPost {
    let mut post = StorageVolumesPost::filesystem(name, size_mib);
    post.config
        .insert(MANAGED_BY_KEY.to_owned(), MANAGED_BY.to_owned());
    if let Some(d) = director {
        post.config.insert(DIRECTOR_KEY.to_owned(), d.to_owned());
    }
    post.description = match &props.name {
        Some(n) => format!("BOSH persistent disk {n}"),
        None => "BOSH persistent disk".to_owned(),
    };
    post
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_choice() {
        let with_pool = DiskCloudProperties {
            pool: Some("fast".into()),
            name: None,
        };
        let near = || {
            Some(Placement {
                pool: Some("vm-pool".into()),
                member: Some("node2".into()),
            })
        };
        let cases = [
            (
                "property wins",
                with_pool.clone(),
                near(),
                "fast",
                Some("node2"),
            ),
            (
                "VM's pool",
                DiskCloudProperties::default(),
                near(),
                "vm-pool",
                Some("node2"),
            ),
            (
                "configured",
                DiskCloudProperties::default(),
                None,
                "cfg",
                None,
            ),
        ];
        for (name, props, near, pool, member) in cases {
            let got = choose(&props, near, "cfg");
            assert_eq!(
                (got.0.as_str(), got.1.as_deref()),
                (pool, member),
                "case {name}"
            );
        }
    }

    #[test]
    fn the_volume_is_sized_and_marked() {
        let props = DiskCloudProperties {
            pool: None,
            name: Some("pg".into()),
        };
        let v = serde_json::to_value(volume_body("disk-1", 64, &props, Some("dir-1"))).unwrap();
        assert_eq!(v["config"]["size"], "64MiB");
        assert_eq!(v["config"]["user.bosh.managed-by"], "bosh-lxd-cpi");
        assert_eq!(v["config"]["user.bosh.director"], "dir-1");
        assert_eq!(v["content_type"], "filesystem");
        assert_eq!(v["description"], "BOSH persistent disk pg");
    }
}
