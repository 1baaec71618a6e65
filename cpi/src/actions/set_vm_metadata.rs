//! `set_vm_metadata(vm_cid, metadata)`: stores the director's metadata as
//! `user.bosh.meta.<key>` (dropping keys a previous call set that are no longer sent) and
//! a readable description such as `cf/router/0`, in one ETag-checked write.

use serde_json::Value;
use tracing::instrument;

use super::CallContext;
use super::errors::vm_error;
use super::lxd_client::connect;
use super::names::META_PREFIX;
use crate::ids::VmCid;
use crate::lxd::{Config, Edit, Instance, LxdError};
use crate::rpc::{CpiError, Metadata};

/// LXD limits descriptions; ours are short, this only guards odd metadata.
const MAX_DESCRIPTION: usize = 200;

/// Sets the metadata of VM `cid`.
#[instrument(skip_all, fields(vm_cid = %cid))]
pub async fn run(ctx: &CallContext, cid: &VmCid, metadata: &Metadata) -> Result<Value, CpiError> {
    let client = connect(&ctx.config)?;
    let description = describe(metadata);
    client
        .update_instance(cid.as_str(), Edit::Replace, |inst: &mut Instance| {
            apply(inst, metadata, description.as_deref());
            Ok::<(), LxdError>(())
        })
        .await
        .map_err(|e| vm_error(cid, "setting metadata of", e))?;
    Ok(Value::Null)
}

/// Replaces the `user.bosh.meta.*` keys with `metadata` and sets the description.
fn apply(inst: &mut Instance, metadata: &Metadata, description: Option<&str>) {
    apply_meta(
        &mut inst.config,
        &mut inst.description,
        metadata,
        description,
    );
}

/// Replaces the `user.bosh.meta.*` keys of an object's `config` with `metadata` and sets
/// its description when one is given; instances and volumes share it.
pub(super) fn apply_meta(
    config: &mut Config,
    current_description: &mut String,
    metadata: &Metadata,
    description: Option<&str>,
) {
    config.retain(|k, _| !k.starts_with(META_PREFIX));
    for (key, value) in metadata {
        config.insert(format!("{META_PREFIX}{}", key_part(key)), value.clone());
    }
    if let Some(d) = description {
        *current_description = d.to_owned();
    }
}

/// Metadata from `(key, value)` pairs, for the tests of both metadata actions.
#[cfg(test)]
pub(super) fn meta(pairs: &[(&str, &str)]) -> Metadata {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A metadata key as a config key segment: letters, digits, `-`, `_` and `.` are kept,
/// anything else becomes `_`.
pub(super) fn key_part(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<deployment>/<instance group or job>/<index or id>`, from whichever parts are given;
/// `compiling/<package>` for compilation VMs. `None` when nothing readable is there.
fn describe(m: &Metadata) -> Option<String> {
    let get = |k: &str| m.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let group = get("instance_group").or(get("job"));
    let index = get("index").or(get("id"));
    let mut parts: Vec<&str> = Vec::new();
    parts.extend(get("deployment"));
    match get("compiling") {
        Some(package) => parts.extend(["compiling", package]),
        None => parts.extend(group.into_iter().chain(index)),
    }
    if parts.is_empty() {
        return get("name").map(str::to_owned);
    }
    let mut d = parts.join("/");
    d.truncate(
        d.char_indices()
            .nth(MAX_DESCRIPTION)
            .map_or(d.len(), |(i, _)| i),
    );
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_read_like_bosh_instance_names() {
        let cases = [
            (
                "director",
                meta(&[
                    ("director", "d"),
                    ("deployment", "cf"),
                    ("instance_group", "router"),
                    ("job", "router"),
                    ("index", "0"),
                    ("id", "abc"),
                ]),
                Some("cf/router/0"),
            ),
            (
                "create-env",
                meta(&[
                    ("director", "bosh-init"),
                    ("deployment", "bosh"),
                    ("job", "bosh"),
                    ("index", "0"),
                ]),
                Some("bosh/bosh/0"),
            ),
            (
                "compilation",
                meta(&[("deployment", "cf"), ("compiling", "golang")]),
                Some("cf/compiling/golang"),
            ),
            ("name only", meta(&[("name", "x/1")]), Some("x/1")),
            ("nothing", meta(&[("created_at", "now")]), None),
        ];
        for (name, m, want) in cases {
            assert_eq!(describe(&m).as_deref(), want, "case {name}");
        }
    }

    #[test]
    fn old_metadata_keys_are_replaced_and_others_kept() {
        let mut inst = Instance::default();
        inst.config.insert("user.bosh.meta.old".into(), "1".into());
        inst.config.insert("user.bosh.agent-id".into(), "a".into());
        inst.config.insert("volatile.idmap.base".into(), "0".into());
        apply(
            &mut inst,
            &meta(&[("deployment", "cf"), ("odd key!", "v")]),
            Some("cf"),
        );
        let keys: Vec<&str> = inst.config.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "user.bosh.agent-id",
                "user.bosh.meta.deployment",
                "user.bosh.meta.odd_key_",
                "volatile.idmap.base"
            ]
        );
        assert_eq!(inst.description, "cf");
    }
}
