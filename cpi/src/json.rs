//! Typed reads of JSON object fields whose errors name the field's dotted path
//! (`lxd.url`, `default.ip`, `devices.sock.type`). Shared by the request decoder, the config
//! loader and the cloud-properties parser, which all want "field X: expected Y, got Z"
//! rather than serde's position-only messages.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// A field held a value of the wrong shape, or a required field was missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Dotted path of the offending field, e.g. `lxd.url`.
    pub field: String,
    /// What was wrong, e.g. "expected a string, got integer 5".
    pub message: String,
}

/// Describes a JSON value for an error message without echoing large or secret payloads:
/// scalars are shown (strings cut at 40 characters), arrays and objects only by kind.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(n) => format!("integer {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            let head: String = s.chars().take(40).collect();
            format!("string {head:?}...")
        }
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Turns a scalar into the string LXD expects for config and device values
/// (`true` → "true", `2` → "2"); arrays, objects and null give `None`.
pub fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The fields of one JSON object, taken out one by one with a type check each.
/// Whatever is left at the end are keys the caller did not ask for.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    prefix: String,
    map: Map<String, Value>,
}

impl Fields {
    /// Wraps an object found at `prefix` (empty for the top level). `null` counts as an empty
    /// object; any other non-object is an error naming `prefix`.
    pub fn new(prefix: impl Into<String>, value: Value) -> Result<Self, FieldError> {
        let prefix = prefix.into();
        match value {
            Value::Object(map) => Ok(Self { prefix, map }),
            Value::Null => Ok(Self {
                prefix,
                map: Map::new(),
            }),
            other => Err(FieldError {
                field: if prefix.is_empty() {
                    "(top level)".to_owned()
                } else {
                    prefix
                },
                message: format!("expected an object, got {}", describe(&other)),
            }),
        }
    }

    /// Wraps an object that has already been checked to be one.
    pub fn from_map(prefix: impl Into<String>, map: Map<String, Value>) -> Self {
        Self {
            prefix: prefix.into(),
            map,
        }
    }

    /// The dotted path of `key` inside this object.
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// An error about `key`, naming its full path.
    pub fn error(&self, key: &str, message: impl fmt::Display) -> FieldError {
        FieldError {
            field: self.path(key),
            message: message.to_string(),
        }
    }

    /// Removes `key`; a JSON `null` counts as absent.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// Removes `key` and converts it with `convert`; `expected` describes the wanted shape.
    pub fn take_as<T>(
        &mut self,
        key: &str,
        expected: &str,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<Option<T>, FieldError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        match convert(&value) {
            Some(v) => Ok(Some(v)),
            None => Err(self.error(
                key,
                format!("expected {expected}, got {}", describe(&value)),
            )),
        }
    }

    /// A string field.
    pub fn string(&mut self, key: &str) -> Result<Option<String>, FieldError> {
        self.take_as(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    /// A string field that must not be empty when present.
    pub fn non_empty_string(&mut self, key: &str) -> Result<Option<String>, FieldError> {
        self.take_as(key, "a non-empty string", |v| {
            v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
        })
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, FieldError> {
        self.take_as(key, "a boolean", Value::as_bool)
    }

    /// A non-negative integer field.
    pub fn u64(&mut self, key: &str) -> Result<Option<u64>, FieldError> {
        self.take_as(key, "a non-negative integer", Value::as_u64)
    }

    /// A positive integer field.
    pub fn positive_u64(&mut self, key: &str) -> Result<Option<u64>, FieldError> {
        self.take_as(key, "a positive integer", |v| v.as_u64().filter(|n| *n > 0))
    }

    /// A positive integer field that must fit in 32 bits.
    pub fn positive_u32(&mut self, key: &str) -> Result<Option<u32>, FieldError> {
        self.take_as(key, "a positive integer", |v| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
        })
    }

    /// An array of strings.
    pub fn string_list(&mut self, key: &str) -> Result<Option<Vec<String>>, FieldError> {
        self.take_as(key, "an array of strings", |v| {
            v.as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
    }

    /// An object, kept as raw JSON.
    pub fn object(&mut self, key: &str) -> Result<Option<Map<String, Value>>, FieldError> {
        self.take_as(key, "an object", |v| v.as_object().cloned())
    }

    /// An object whose values are scalars, each turned into a string (see [`scalar_to_string`]);
    /// a nested array, object or null is an error naming `key.<entry>`.
    pub fn string_map(
        &mut self,
        key: &str,
    ) -> Result<Option<BTreeMap<String, String>>, FieldError> {
        let Some(map) = self.object(key)? else {
            return Ok(None);
        };
        let inner = Fields::from_map(self.path(key), map);
        inner.into_string_map().map(Some)
    }

    /// Converts every remaining entry with [`scalar_to_string`], naming the first bad one.
    pub fn into_string_map(self) -> Result<BTreeMap<String, String>, FieldError> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.map {
            let s = scalar_to_string(v).ok_or_else(|| {
                self.error(
                    k,
                    format!("expected a string, number or boolean, got {}", describe(v)),
                )
            })?;
            out.insert(k.clone(), s);
        }
        Ok(out)
    }

    /// Fails with "required" naming `key` when `value` is absent.
    pub fn required<T>(&self, key: &str, value: Option<T>) -> Result<T, FieldError> {
        value.ok_or_else(|| self.error(key, "required field is missing"))
    }

    /// Fails naming the first key (in sorted order) that is not in `known`.
    pub fn deny_unknown(&self, known: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(self.error(
                key,
                format!("unknown field; expected one of {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// Dotted paths of the keys nobody took, sorted.
    pub fn leftover_paths(&self) -> Vec<String> {
        self.map.keys().map(|k| self.path(k)).collect()
    }

    /// The keys nobody took, as raw JSON.
    pub fn into_rest(self) -> Map<String, Value> {
        self.map
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Fields {
        Fields::new("lxd", value).unwrap()
    }

    type Read = fn(&mut Fields) -> Result<(), FieldError>;

    #[test]
    fn typed_reads_name_the_dotted_path() {
        let cases: Vec<(&str, Value, Read, &str)> = vec![
            (
                "string",
                json!({"k": 5}),
                |f| f.string("k").map(drop),
                "lxd.k: expected a string, got integer 5",
            ),
            (
                "non-empty",
                json!({"k": ""}),
                |f| f.non_empty_string("k").map(drop),
                "lxd.k: expected a non-empty string, got string \"\"",
            ),
            (
                "bool",
                json!({"k": "yes"}),
                |f| f.bool("k").map(drop),
                "lxd.k: expected a boolean, got string \"yes\"",
            ),
            (
                "u64",
                json!({"k": -1}),
                |f| f.u64("k").map(drop),
                "lxd.k: expected a non-negative integer, got integer -1",
            ),
            (
                "positive",
                json!({"k": 0}),
                |f| f.positive_u64("k").map(drop),
                "lxd.k: expected a positive integer, got integer 0",
            ),
            (
                "u32",
                json!({"k": 5_000_000_000u64}),
                |f| f.positive_u32("k").map(drop),
                "lxd.k: expected a positive integer, got integer 5000000000",
            ),
            (
                "list",
                json!({"k": ["a", 1]}),
                |f| f.string_list("k").map(drop),
                "lxd.k: expected an array of strings, got an array",
            ),
            (
                "object",
                json!({"k": [1]}),
                |f| f.object("k").map(drop),
                "lxd.k: expected an object, got an array",
            ),
            (
                "map",
                json!({"k": {"a": {"b": 1}}}),
                |f| f.string_map("k").map(drop),
                "lxd.k.a: expected a string, number or boolean, got an object",
            ),
            (
                "required",
                json!({}),
                |f| {
                    let v = f.string("k")?;
                    f.required("k", v).map(drop)
                },
                "lxd.k: required field is missing",
            ),
        ];
        for (name, value, read, want) in cases {
            let err = read(&mut fields(value)).expect_err(name);
            assert_eq!(err.to_string(), want, "case {name}");
        }
    }

    #[test]
    fn null_is_absent_and_leftovers_are_reported() {
        let mut f = fields(json!({"a": null, "b": true, "c": {"x": 1}}));
        assert_eq!(f.string("a").unwrap(), None);
        assert_eq!(f.bool("b").unwrap(), Some(true));
        assert_eq!(f.leftover_paths(), vec!["lxd.c".to_owned()]);
        let err = Fields::new("", json!(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "(top level): expected an object, got integer 3"
        );
        assert!(
            Fields::new("x", Value::Null)
                .unwrap()
                .into_rest()
                .is_empty()
        );
    }

    #[test]
    fn scalars_become_lxd_strings_and_long_strings_are_cut() {
        let mut f = fields(json!({"m": {"limits.cpu": 2, "security.nesting": true, "x": "y"}}));
        let m = f.string_map("m").unwrap().unwrap();
        assert_eq!(m["limits.cpu"], "2");
        assert_eq!(m["security.nesting"], "true");
        assert_eq!(
            describe(&json!("a".repeat(100))),
            format!("string {:?}...", "a".repeat(40))
        );
        assert_eq!(describe(&json!(1.5)), "number 1.5");
    }
}
