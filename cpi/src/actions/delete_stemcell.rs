//! `delete_stemcell(stemcell_cid)`: removes the stemcell's alias, and the image once no
//! alias is left. A stemcell that is already gone is a success.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::cloud_error;
use super::image_lock::ImageLock;
use super::lxd_client::{connect, ensure_project};
use crate::ids::StemcellCid;
use crate::lxd::{Client, LxdError, NotFoundExt};
use crate::rpc::CpiError;

/// Deletes the stemcell `cid`.
#[instrument(skip_all, fields(stemcell_cid = %cid))]
pub async fn run(ctx: &CallContext, cid: &StemcellCid) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let doing = || format!("deleting stemcell {cid}");
    let Some(alias) = client
        .get_image_alias(cid.as_str())
        .await
        .optional()
        .map_err(|e| cloud_error(doing(), e))?
    else {
        ensure_project(&client).await?;
        tracing::info!("stemcell is already gone");
        return Ok(Value::Null);
    };
    let lock = ImageLock::take(&client, &alias.target)
        .await
        .map_err(|e| cloud_error(doing(), e))?;
    let result = drop_alias(&client, cid.as_str(), &alias.target).await;
    lock.release(&client).await;
    result.map_err(|e| cloud_error(doing(), e))?;
    Ok(Value::Null)
}

/// Removes `alias`; deletes image `fingerprint` when it has no alias left.
async fn drop_alias(client: &Client, alias: &str, fingerprint: &str) -> Result<(), LxdError> {
    client.delete_image_alias(alias).await.optional()?;
    let Some(image) = client.get_image(fingerprint).await.optional()? else {
        return Ok(());
    };
    if image.aliases.is_empty() {
        client.delete_image(fingerprint).await.optional()?;
        tracing::info!(fingerprint, "deleted the image: no alias left");
    } else {
        let left: Vec<&str> = image.aliases.iter().map(|a| a.name.as_str()).collect();
        tracing::info!(fingerprint, ?left, "image kept: other stemcells use it");
    }
    Ok(())
}
