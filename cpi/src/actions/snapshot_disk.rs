//! `snapshot_disk(disk_cid, metadata)`: a real LXD snapshot `snap-<uuid>` of the volume,
//! with the director's metadata recorded as JSON in the snapshot's description (LXD 5.0.2
//! ignores a description sent with the create, so it is set right after). The snapshot CID
//! is `<disk cid>@<snapshot name>`, which [`SnapshotId`] reads back.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::disk_lookup::require_disk;
use super::errors::disk_error;
use super::lxd_client::connect;
use super::names::new_uuid;
use crate::ids::DiskCid;
use crate::lxd::Client;
use crate::rpc::{CpiError, Metadata};

/// Separates the disk CID from the snapshot name in a snapshot CID.
const SEPARATOR: char = '@';

/// A snapshot CID taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotId {
    /// The disk (volume) it belongs to.
    pub disk: String,
    /// The LXD snapshot name.
    pub name: String,
}

impl SnapshotId {
    /// Reads `<disk>@<name>`; `None` for anything else (not a snapshot this CPI made).
    pub fn parse(cid: &str) -> Option<Self> {
        let (disk, name) = cid.rsplit_once(SEPARATOR)?;
        (!disk.is_empty() && !name.is_empty() && !name.contains('/')).then(|| SnapshotId {
            disk: disk.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The CID.
    pub fn cid(&self) -> String {
        format!("{}{SEPARATOR}{}", self.disk, self.name)
    }
}

/// Snapshots disk `disk` and returns the snapshot CID.
#[instrument(skip_all, fields(disk_cid = %disk))]
pub async fn run(
    ctx: &CallContext,
    disk: &DiskCid,
    metadata: &Metadata,
) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let found = require_disk(&client, &ctx.config, disk, None, "snapshotting").await?;
    let id = SnapshotId {
        disk: disk.as_str().to_owned(),
        name: format!("snap-{}", new_uuid()),
    };
    client
        .create_volume_snapshot(&found.pool, disk.as_str(), &id.name)
        .await
        .map_err(|e| disk_error(disk, None, &format!("snapshotting (as {})", id.name), e))?;
    if let Err(e) = describe(&client, &found.pool, &id, metadata).await {
        let err = disk_error(
            disk,
            None,
            &format!("recording the metadata of snapshot {}", id.name),
            e,
        );
        return Err(
            match client
                .delete_volume_snapshot(&found.pool, disk.as_str(), &id.name)
                .await
            {
                Ok(()) => err,
                Err(d) => {
                    let message = format!("{err}; deleting the snapshot again also failed: {d}");
                    err.with_message(message)
                }
            },
        );
    }
    let cid = id.cid();
    tracing::info!(snapshot_cid = %cid, pool = %found.pool, "snapshot taken");
    Ok(Value::String(cid))
}

/// Sets the snapshot's description to the metadata as JSON.
async fn describe(
    client: &Client,
    pool: &str,
    id: &SnapshotId,
    metadata: &Metadata,
) -> Result<(), crate::lxd::LxdError> {
    let text = serde_json::to_string(metadata).unwrap_or_default();
    client
        .describe_volume_snapshot(pool, &id.disk, &id.name, &text)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_cids_round_trip() {
        let cases = [
            ("ours", "disk-1@snap-2", Some(("disk-1", "snap-2"))),
            (
                "old CPI volume",
                "vol-p-1@snap-x",
                Some(("vol-p-1", "snap-x")),
            ),
            ("at in the disk", "a@b@snap-1", Some(("a@b", "snap-1"))),
            ("old CPI's fake", "snap-cid", None),
            ("no name", "disk-1@", None),
            ("no disk", "@snap", None),
        ];
        for (name, cid, want) in cases {
            let got = SnapshotId::parse(cid);
            assert_eq!(
                got.as_ref().map(|s| (s.disk.as_str(), s.name.as_str())),
                want,
                "case {name}"
            );
            if let Some(id) = got {
                assert_eq!(id.cid(), cid, "case {name}");
            }
        }
    }
}
