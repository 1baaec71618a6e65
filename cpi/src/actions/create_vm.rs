//! `create_vm`: a container `vm-<uuid>` from the stemcell's image, with its ephemeral
//! volume, one NIC per network and the agent settings file written before the first start;
//! returns once LXD reports it running. Anything created before a failure is removed again
//! (see [`Undo`]). v1 callers get the CID, v2 callers `[cid, networks]`.

use serde_json::{Map, Value, json};
use tracing::instrument;

use super::CallContext;
use super::agent_settings::{self, AgentSettings};
use super::cloud_properties::VmCloudProperties;
use super::errors::creation_error;
use super::instance_ops::{RUNNING_TIMEOUT, wait_running};
use super::lxd_client::connect;
use super::names::{
    HELPER_VERSION_PROPERTY, REPACK_COMMAND, ephemeral_volume_name, new_uuid, vm_name,
};
use super::networks::{self, NetworkPlan};
use super::undo::Undo;
use super::vm_spec::VmSpec;
use crate::ids::StemcellCid;
use crate::lxd::{Client, LOCK_WAIT, LxdError, NotFoundExt, ObjectLock};
use crate::rpc::{CpiError, CreateVmArgs};

/// Pause between pushing the settings file and the first start (see [`boot`]).
const PUSH_SETTLE: std::time::Duration = std::time::Duration::from_millis(25);

/// The image a stemcell CID names: fingerprint and guest helper version.
struct StemcellImage {
    fingerprint: String,
    helper_version: String,
}

/// Creates and starts the VM.
#[instrument(skip_all, fields(agent_id = %args.agent_id, stemcell_cid = %args.stemcell_cid))]
pub async fn run(ctx: &CallContext, args: &CreateVmArgs) -> Result<Value, CpiError> {
    let props = VmCloudProperties::parse(&args.cloud_properties)?;
    let client = connect(&ctx.config)?;
    let image = stemcell_image(&client, &args.stemcell_cid).await?;
    warn_if_sizes_ignored(&client, &ctx.config.lxd.storage_pool).await;
    let uuid = new_uuid();
    let name = vm_name(&uuid);
    tracing::info!(vm_cid = %name, "creating VM");
    let mut undo = Undo::default();
    let result = async {
        let networks = create_objects(ctx, args, &props, &image, &uuid, &client, &mut undo).await?;
        boot(ctx, args, &client, &name, networks).await
    }
    .await;
    match result {
        Ok(networks) => {
            tracing::info!(vm_cid = %name, "VM running");
            Ok(if ctx.api_version >= 2 {
                json!([name, networks])
            } else {
                Value::String(name)
            })
        }
        Err(err) => Err(undo.roll_back(&client, err).await),
    }
}

/// Resolves the stemcell and refuses an image without the guest helper.
async fn stemcell_image(client: &Client, cid: &StemcellCid) -> Result<StemcellImage, CpiError> {
    let step = || format!("reading stemcell {cid}");
    let alias = client
        .get_image_alias(cid.as_str())
        .await
        .optional()
        .map_err(|e| creation_error(step(), e))?
        .ok_or_else(|| {
            CpiError::cloud(format!(
                "stemcell {cid} not found: no image alias of that name"
            ))
        })?;
    let image = client
        .get_image(&alias.target)
        .await
        .map_err(|e| creation_error(step(), e))?;
    match image.properties.get(HELPER_VERSION_PROPERTY) {
        Some(v) if !v.is_empty() => Ok(StemcellImage {
            fingerprint: image.fingerprint,
            helper_version: v.clone(),
        }),
        _ => Err(CpiError::cloud(format!(
            "stemcell {cid} has no bosh-lxd guest helper (image property \
             {HELPER_VERSION_PROPERTY} is missing): its agent cannot boot in an unprivileged \
             container and nothing would configure its network. Repack it with \
             `{REPACK_COMMAND}`, upload the result and use that stemcell"
        ))),
    }
}

/// The ephemeral volume and the stopped instance. Address picks on dynamic networks are
/// serialised per LXD network until the instance (which records them) exists.
async fn create_objects(
    ctx: &CallContext,
    args: &CreateVmArgs,
    props: &VmCloudProperties,
    image: &StemcellImage,
    uuid: &str,
    client: &Client,
    undo: &mut Undo,
) -> Result<Map<String, Value>, CpiError> {
    let lxd = &ctx.config.lxd;
    let dynamic = networks::dynamic_lxd_networks(&args.networks, &lxd.network)?;
    let locks = take_locks(client, &dynamic).await?;
    let result = async {
        let plan: NetworkPlan = networks::plan(client, &lxd.network, &args.networks).await?;
        let name = vm_name(uuid);
        let eph = ephemeral_volume_name(uuid);
        let spec = VmSpec {
            name: &name,
            agent_id: args.agent_id.as_str(),
            fingerprint: &image.fingerprint,
            helper_version: &image.helper_version,
            director: ctx.context.director_uuid.as_deref(),
            props,
            lxd,
            ephemeral_volume: &eph,
            nics: &plan,
        };
        client
            .create_custom_volume_on(
                &lxd.storage_pool,
                &spec.ephemeral_volume_body(),
                spec.target(),
            )
            .await
            .map_err(|e| {
                creation_error(
                    format!(
                        "creating ephemeral volume {eph} on pool {}",
                        lxd.storage_pool
                    ),
                    e,
                )
            })?;
        undo.volume(&lxd.storage_pool, &eph);
        let created = client
            .create_instance_on(&spec.instance_body(), spec.target())
            .await;
        // A failed create may still leave a half-made instance behind: remove it too.
        undo.instance(&name);
        created.map_err(|e| nic_error(&plan.settings, format!("creating instance {name}"), e))?;
        Ok(plan.settings)
    }
    .await;
    release_locks(client, locks).await;
    result
}

/// Writes the settings into the stopped instance, starts it, waits until it runs.
async fn boot(
    ctx: &CallContext,
    args: &CreateVmArgs,
    client: &Client,
    name: &str,
    networks: Map<String, Value>,
) -> Result<Map<String, Value>, CpiError> {
    let settings = AgentSettings::new(
        args.agent_id.as_str(),
        name,
        &ctx.config.agent,
        networks.clone(),
        args.env.clone(),
    );
    agent_settings::push(client, name, &settings)
        .await
        .map_err(|e| CpiError::cloud(format!("VM {name}: {e}")))?;
    // LXD 5.0.2 serves a file push into a stopped container with a helper process
    // (forkfile) that a start must stop first; a start sent within a few milliseconds of
    // the push waits about a second for it to exit (8 of 20 starts in scripts/bench, none
    // with a pause of 10 ms or more). A short pause is far cheaper than that stall.
    tokio::time::sleep(PUSH_SETTLE).await;
    client
        .start_instance(name)
        .await
        .map_err(|e| nic_error(&networks, format!("starting instance {name}"), e))?;
    wait_running(client, name, RUNNING_TIMEOUT)
        .await
        .map_err(|e| CpiError::vm_creation_failed(e.to_string(), false))?;
    Ok(networks)
}

/// [`creation_error`] for `step`, naming the address behind a MAC LXD refused (both
/// daemons check MACs when an instance is created and when it starts).
fn nic_error(networks: &Map<String, Value>, step: String, err: LxdError) -> CpiError {
    match networks::address_in_use(networks, &err.to_string()) {
        Some(why) => creation_error(format!("{step} ({why})"), err),
        None => creation_error(step, err),
    }
}

async fn take_locks(client: &Client, networks: &[String]) -> Result<Vec<ObjectLock>, CpiError> {
    let mut locks = Vec::with_capacity(networks.len());
    for net in networks {
        match client
            .acquire_lock(&format!("network.{net}"), LOCK_WAIT)
            .await
        {
            Ok(lock) => locks.push(lock),
            Err(e) => {
                release_locks(client, locks).await;
                return Err(creation_error(
                    format!("locking network {net} to pick an address"),
                    e,
                ));
            }
        }
    }
    Ok(locks)
}

async fn release_locks(client: &Client, locks: Vec<ObjectLock>) {
    for lock in locks {
        if let Err(e) = client.release_lock(lock).await {
            tracing::warn!(error = %e, "could not release a network lock; it expires by itself");
        }
    }
}

/// The dir driver accepts volume sizes and ignores them: say so once per VM.
async fn warn_if_sizes_ignored(client: &Client, pool: &str) {
    if let Ok(info) = client.get_storage_pool(pool).await
        && info.ignores_sizes()
    {
        tracing::warn!(
            pool,
            "storage pool uses the dir driver: ephemeral_disk sizes are not enforced"
        );
    }
}
