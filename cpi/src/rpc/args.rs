//! Positional argument decoding: a cursor over the `arguments` array that names the method,
//! the position and the argument in every error, plus one decoder per argument shape
//! (CIDs, sizes, cloud properties, metadata, disk lists, `env`, VM resources).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::error::CpiError;
use crate::json::{FieldError, Fields, describe, scalar_to_string};

/// Raw cloud properties: decoded later by the action that knows their keys.
pub type CloudProperties = Map<String, Value>;

/// BOSH metadata for VMs, disks and snapshots: string keys to string values.
pub type Metadata = BTreeMap<String, String>;

/// Why one argument value could not be decoded: the detail after
/// `<method> argument <n> (<name>): `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ArgError {
    /// The value has the wrong shape: `expected <what>, got <description>`.
    #[error("expected {expected}, got {got}")]
    Expected {
        /// The wanted shape.
        expected: &'static str,
        /// A short description of the value sent.
        got: String,
    },
    /// A well-shaped string that the identifier type still refused.
    #[error("expected {0}")]
    Refused(&'static str),
    /// A value inside an object, named by its key.
    #[error("key {key:?}: {inner}")]
    Key {
        /// The object key.
        key: String,
        /// What was wrong with its value.
        inner: Box<ArgError>,
    },
    /// An element of an array, named by its index.
    #[error("element {index}: {inner}")]
    Element {
        /// The array index.
        index: usize,
        /// What was wrong with the element.
        inner: Box<ArgError>,
    },
    /// A field inside the argument (`tags`, `n.ip`, `cpu`), named by its dotted path.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The argument as a whole is not an object (the field path would be empty).
    #[error("{}", .0.message)]
    NotAnObject(FieldError),
}

/// Decodes one argument value; `Err` is the detail ("expected ..., got ...").
pub(crate) type Decoder<T> = fn(Value) -> Result<T, ArgError>;

/// Walks a method's `arguments` array in order.
pub(crate) struct Args<'m> {
    method: &'m str,
    values: std::vec::IntoIter<Value>,
    position: usize,
    total: usize,
}

impl<'m> Args<'m> {
    /// Starts decoding `values` for `method`.
    pub(crate) fn new(method: &'m str, values: Vec<Value>) -> Self {
        let total = values.len();
        Self {
            method,
            values: values.into_iter(),
            position: 0,
            total,
        }
    }

    /// The next argument, which must be present.
    pub(crate) fn required<T>(&mut self, name: &str, decode: Decoder<T>) -> Result<T, CpiError> {
        match self.optional(name, decode)? {
            Some(value) => Ok(value),
            None => Err(CpiError::invalid_request(format!(
                "{} argument {} ({name}) is missing: got {} argument(s)",
                self.method,
                self.position - 1,
                self.total
            ))),
        }
    }

    /// The next argument if the caller sent one.
    pub(crate) fn optional<T>(
        &mut self,
        name: &str,
        decode: Decoder<T>,
    ) -> Result<Option<T>, CpiError> {
        let position = self.position;
        self.position += 1;
        let Some(value) = self.values.next() else {
            return Ok(None);
        };
        decode(value).map(Some).map_err(|detail| {
            CpiError::invalid_request(format!(
                "{} argument {position} ({name}): {detail}",
                self.method
            ))
        })
    }

    /// Ends decoding; trailing arguments are ignored with a warning, never rejected.
    pub(crate) fn finish(self) {
        let extra = self.values.len();
        if extra > 0 {
            tracing::warn!(
                method = self.method,
                extra,
                "ignoring {extra} extra trailing argument(s)"
            );
        }
    }
}

fn expected(what: &'static str, got: &Value) -> ArgError {
    ArgError::Expected {
        expected: what,
        got: describe(got),
    }
}

/// A typed identifier (`VmCid`, `DiskCid`, ...): a non-empty string.
pub(crate) fn id<T: TryFrom<String>>(value: Value) -> Result<T, ArgError> {
    match value {
        Value::String(s) if !s.is_empty() => {
            T::try_from(s).map_err(|_| ArgError::Refused("a non-empty string"))
        }
        other => Err(expected("a non-empty string", &other)),
    }
}

/// An optional identifier: a non-empty string or null.
pub(crate) fn optional_id<T: TryFrom<String>>(value: Value) -> Result<Option<T>, ArgError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if !s.is_empty() => T::try_from(s)
            .map(Some)
            .map_err(|_| ArgError::Refused("a non-empty string or null")),
        other => Err(expected("a non-empty string or null", &other)),
    }
}

/// A path on the CPI's machine (the stemcell image).
pub(crate) fn path(value: Value) -> Result<PathBuf, ArgError> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(PathBuf::from(s)),
        other => Err(expected("a non-empty path string", &other)),
    }
}

/// A size in MiB: a positive integer.
pub(crate) fn mebibytes(value: Value) -> Result<u64, ArgError> {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| expected("a positive integer (MiB)", &value))
}

/// Cloud properties: an object, kept raw. Null counts as `{}`: Go callers such as bosh-cli
/// encode an unset map as null.
pub(crate) fn properties(value: Value) -> Result<CloudProperties, ArgError> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(expected("an object", &other)),
    }
}

/// Metadata: an object whose values are strings. Numbers and booleans (the director sends
/// `index` as an integer in snapshot metadata) are turned into strings; null values are
/// dropped; nested arrays or objects are refused naming the key.
pub(crate) fn metadata(value: Value) -> Result<Metadata, ArgError> {
    let map = properties(value)?;
    let mut out = Metadata::new();
    for (key, v) in map {
        if v.is_null() {
            continue;
        }
        let Some(s) = scalar_to_string(&v) else {
            return Err(ArgError::Key {
                inner: Box::new(expected("a string", &v)),
                key,
            });
        };
        out.insert(key, s);
    }
    Ok(out)
}

/// `create_vm`'s disk CIDs (a placement hint): an array of CIDs; null counts as empty.
pub(crate) fn id_list<T: TryFrom<String>>(value: Value) -> Result<Vec<T>, ArgError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                id(item).map_err(|inner| ArgError::Element {
                    index,
                    inner: Box::new(inner),
                })
            })
            .collect(),
        other => Err(expected("an array of non-empty strings or null", &other)),
    }
}

/// `create_vm`'s `env`: an object or null, passed through untouched.
pub(crate) fn env(value: Value) -> Result<Value, ArgError> {
    match value {
        Value::Object(_) | Value::Null => Ok(value),
        other => Err(expected("an object or null", &other)),
    }
}

/// `create_stemcell`'s third argument (API v3): `{"tags": {...}}` or null. Only `tags` is
/// read; its values are kept as raw JSON.
pub(crate) fn stemcell_tags(value: Value) -> Result<Map<String, Value>, ArgError> {
    let mut fields = Fields::new("", value).map_err(ArgError::NotAnObject)?;
    let tags = fields.object("tags")?;
    Ok(tags.unwrap_or_default())
}

/// The argument of `calculate_vm_cloud_properties`: the `vm_resources` of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmResources {
    /// Number of CPUs.
    pub cpu: u64,
    /// Memory in MiB.
    pub ram: u64,
    /// Ephemeral disk size in MiB.
    pub ephemeral_disk_size: u64,
}

/// Decodes `{cpu, ram, ephemeral_disk_size}`; each must be a positive integer.
pub(crate) fn vm_resources(value: Value) -> Result<VmResources, ArgError> {
    let mut fields = Fields::new("", value).map_err(ArgError::NotAnObject)?;
    let mut field = |key: &str| -> Result<u64, FieldError> {
        let v = fields.positive_u64(key)?;
        fields.required(key, v)
    };
    let resources = VmResources {
        cpu: field("cpu")?,
        ram: field("ram")?,
        ephemeral_disk_size: field("ephemeral_disk_size")?,
    };
    for key in fields.leftover_paths() {
        tracing::warn!(key = %key, "calculate_vm_cloud_properties: ignoring unknown key");
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::VmCid;

    #[test]
    fn decoders_explain_what_they_wanted() {
        assert_eq!(
            id::<VmCid>(json!("")).unwrap_err().to_string(),
            "expected a non-empty string, got string \"\""
        );
        assert_eq!(optional_id::<VmCid>(json!(null)).unwrap(), None);
        assert_eq!(
            mebibytes(json!(0)).unwrap_err().to_string(),
            "expected a positive integer (MiB), got integer 0"
        );
        assert_eq!(
            mebibytes(json!(1.5)).unwrap_err().to_string(),
            "expected a positive integer (MiB), got number 1.5"
        );
        assert_eq!(
            id_list::<VmCid>(json!(["a", 3])).unwrap_err().to_string(),
            "element 1: expected a non-empty string, got integer 3"
        );
        assert_eq!(
            metadata(json!({"index": 0, "x": null, "d": "u"}))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            metadata(json!({"tags": {}})).unwrap_err().to_string(),
            "key \"tags\": expected a string, got an object"
        );
        assert_eq!(
            stemcell_tags(json!({"tags": {"a": "b"}})).unwrap()["a"],
            "b"
        );
        assert_eq!(
            stemcell_tags(json!({"tags": 1})).unwrap_err().to_string(),
            "tags: expected an object, got integer 1"
        );
        assert_eq!(
            vm_resources(json!({"cpu": 1, "ram": 2}))
                .unwrap_err()
                .to_string(),
            "ephemeral_disk_size: required field is missing"
        );
    }
}
