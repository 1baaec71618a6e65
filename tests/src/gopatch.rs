//! A small go-patch interpreter, enough to apply bosh-deployment ops files the way `bosh int`
//! and `bosh create-env` do, so the tests can check what our ops files produce.
//!
//! Ops: `replace` and `remove`. Path tokens: a map key, an array index, `-` (after the last
//! element), `key=value` (the one array element whose `key` is the string `value`). A `?`
//! after a token makes it and every later token optional: a missing map key is created (as a
//! map, or as an array when the next token is `-` or `key=value`) and an unmatched
//! `key=value` appends `{key: value}`; a `remove` of something optional that is missing does
//! nothing. `~1` and `~0` in a token stand for `/` and `~`. Variables (`((name))`,
//! `((name.sub_key))`) are interpolated after the ops, as bosh does: see [`vars`].
//! Documents are [`serde_json::Value`]s, parsed from YAML by [`yaml`].

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

pub mod vars;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use vars::interpolate;
pub use yaml::{load_yaml, parse_yaml};

/// One token of an op's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A map key.
    Key {
        /// The key, unescaped.
        key: String,
        /// Created when missing.
        optional: bool,
    },
    /// An array index.
    Index(usize),
    /// `-`: after the last element of an array.
    Append,
    /// `key=value`: the one array element (a map) whose `key` is `value`.
    Match {
        /// The key looked at in each element.
        key: String,
        /// The string it must equal.
        value: String,
        /// Appended as `{key: value}` when no element matches.
        optional: bool,
    },
}

/// What an op does.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// Sets the value at the path.
    Replace(Value),
    /// Deletes the value at the path.
    Remove,
}

/// One go-patch operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// The path as written.
    pub path: String,
    /// The parsed path.
    pub tokens: Vec<Token>,
    /// Replace (with its value) or remove.
    pub kind: OpKind,
}

/// Parses a go-patch path (`/a/b?/name=x/0/-`).
pub fn parse_path(path: &str) -> Result<Vec<Token>> {
    let Some(rest) = path.strip_prefix('/') else {
        bail!("path '{path}' must start with '/'");
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut optional = false;
    let mut tokens = Vec::new();
    for raw in rest.split('/') {
        let (raw, marked) = match raw.strip_suffix('?') {
            Some(stripped) => (stripped, true),
            None => (raw, false),
        };
        optional |= marked;
        let text = raw.replace("~1", "/").replace("~0", "~");
        let token = if text == "-" {
            Token::Append
        } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            Token::Index(
                text.parse()
                    .with_context(|| format!("index in path '{path}'"))?,
            )
        } else if let Some((key, value)) = text.split_once('=') {
            Token::Match {
                key: key.to_owned(),
                value: value.to_owned(),
                optional,
            }
        } else {
            Token::Key {
                key: text,
                optional,
            }
        };
        if marked && matches!(token, Token::Append | Token::Index(_)) {
            bail!("path '{path}': '?' applies to map keys and key=value tokens only");
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// Reads an ops document: a list of `{type, path, value?, name?}` maps.
pub fn parse_ops(doc: &Value) -> Result<Vec<Op>> {
    let list = doc
        .as_array()
        .context("an ops file must be a list of ops")?;
    let mut ops = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let map = item
            .as_object()
            .with_context(|| format!("op {i} is not a map"))?;
        if let Some(extra) = map
            .keys()
            .find(|k| !["type", "path", "value", "name"].contains(&k.as_str()))
        {
            bail!("op {i}: unknown key '{extra}'");
        }
        let path = map
            .get("path")
            .and_then(Value::as_str)
            .with_context(|| format!("op {i}: no path"))?;
        let kind = match map.get("type").and_then(Value::as_str) {
            Some("replace") => OpKind::Replace(
                map.get("value")
                    .cloned()
                    .with_context(|| format!("op {i} ({path}): replace needs a value"))?,
            ),
            Some("remove") => OpKind::Remove,
            other => bail!("op {i} ({path}): unsupported type {other:?}"),
        };
        let tokens = parse_path(path).with_context(|| format!("op {i}"))?;
        ops.push(Op {
            path: path.to_owned(),
            tokens,
            kind,
        });
    }
    Ok(ops)
}

/// Applies `ops` in order; an error names the op and its path.
pub fn apply_ops(doc: &mut Value, ops: &[Op]) -> Result<()> {
    for (i, op) in ops.iter().enumerate() {
        apply(doc, op).with_context(|| format!("op {i} ({})", op.path))?;
    }
    Ok(())
}

/// Applies one op.
pub fn apply(doc: &mut Value, op: &Op) -> Result<()> {
    let walk = Walk { op };
    match &op.kind {
        OpKind::Replace(value) => walk.replace(doc, 0, value.clone()),
        OpKind::Remove if op.tokens.is_empty() => bail!("cannot remove the document itself"),
        OpKind::Remove => walk.remove(doc, 0),
    }
}

/// `bosh int BASE -o OPS... --vars-file...`: loads the base, applies each ops file, then
/// interpolates `vars` (an unknown variable is an error naming it).
pub fn bosh_int(base: &Path, ops_files: &[&Path], vars: &Map<String, Value>) -> Result<Value> {
    let mut doc = load_yaml(base)?;
    for file in ops_files {
        let ops = parse_ops(&load_yaml(file)?).with_context(|| file.display().to_string())?;
        apply_ops(&mut doc, &ops).with_context(|| file.display().to_string())?;
    }
    interpolate(&doc, vars)
}

/// Walks one op's tokens; `i` is the token being looked at.
struct Walk<'a> {
    op: &'a Op,
}

impl Walk<'_> {
    /// The path up to and including token `i`, for errors.
    fn upto(&self, i: usize) -> String {
        let tokens = self.op.path.trim_start_matches('/').split('/').take(i + 1);
        format!("/{}", tokens.collect::<Vec<_>>().join("/"))
    }

    fn map<'v>(&self, node: &'v mut Value, i: usize) -> Result<&'v mut Map<String, Value>> {
        let kind = type_name(node);
        node.as_object_mut()
            .with_context(|| format!("expected a map at '{}', found {kind}", self.upto(i)))
    }

    fn array<'v>(&self, node: &'v mut Value, i: usize) -> Result<&'v mut Vec<Value>> {
        let kind = type_name(node);
        node.as_array_mut()
            .with_context(|| format!("expected an array at '{}', found {kind}", self.upto(i)))
    }

    /// The one element matching `key=value`, or `None`; several is an error.
    fn find(&self, items: &[Value], key: &str, value: &str, i: usize) -> Result<Option<usize>> {
        let hits: Vec<usize> = (0..items.len())
            .filter(|&n| items[n].get(key).and_then(Value::as_str) == Some(value))
            .collect();
        match hits[..] {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => bail!(
                "expected one array element matching '{}', found {}",
                self.upto(i),
                hits.len()
            ),
        }
    }

    fn missing(&self, i: usize, what: String) -> anyhow::Error {
        anyhow::anyhow!(
            "path '{}' does not match: no {what} at '{}'",
            self.op.path,
            self.upto(i)
        )
    }

    fn replace(&self, node: &mut Value, i: usize, value: Value) -> Result<()> {
        let Some(token) = self.op.tokens.get(i) else {
            *node = value;
            return Ok(());
        };
        let last = i + 1 == self.op.tokens.len();
        match token {
            Token::Key { key, optional } => {
                let map = self.map(node, i)?;
                if !map.contains_key(key) {
                    if !optional {
                        let keys: Vec<&String> = map.keys().collect();
                        return Err(self.missing(i, format!("map key '{key}' (keys: {keys:?})")));
                    }
                    let empty = match self.op.tokens.get(i + 1) {
                        None | Some(Token::Key { .. }) => Value::Object(Map::new()),
                        Some(Token::Append | Token::Match { .. }) => Value::Array(Vec::new()),
                        Some(Token::Index(_)) => {
                            bail!("cannot create an array index after '{}'", self.upto(i))
                        }
                    };
                    map.insert(key.clone(), empty);
                }
                let child = map.get_mut(key).context("key just checked")?;
                self.replace(child, i + 1, value)
            }
            Token::Index(n) => {
                let items = self.array(node, i)?;
                let len = items.len();
                let child = items
                    .get_mut(*n)
                    .ok_or_else(|| self.missing(i, format!("index {n} (length {len})")))?;
                self.replace(child, i + 1, value)
            }
            Token::Append => {
                if !last {
                    bail!("'-' must be the last token, in '{}'", self.op.path);
                }
                self.array(node, i)?.push(value);
                Ok(())
            }
            Token::Match {
                key,
                value: want,
                optional,
            } => {
                let items = self.array(node, i)?;
                let n = match self.find(items, key, want, i)? {
                    Some(n) => n,
                    None if !optional => {
                        return Err(self.missing(i, format!("element with {key}={want}")));
                    }
                    None if last => {
                        items.push(value);
                        return Ok(());
                    }
                    None => {
                        let mut created = Map::new();
                        created.insert(key.clone(), Value::String(want.clone()));
                        items.push(Value::Object(created));
                        items.len() - 1
                    }
                };
                self.replace(&mut items[n], i + 1, value)
            }
        }
    }

    fn remove(&self, node: &mut Value, i: usize) -> Result<()> {
        let last = i + 1 == self.op.tokens.len();
        match &self.op.tokens[i] {
            Token::Key { key, optional } => {
                let map = self.map(node, i)?;
                match map.get_mut(key) {
                    None if *optional => Ok(()),
                    None => Err(self.missing(i, format!("map key '{key}'"))),
                    Some(_) if last => {
                        map.remove(key);
                        Ok(())
                    }
                    Some(child) => self.remove(child, i + 1),
                }
            }
            Token::Index(n) => {
                let items = self.array(node, i)?;
                if *n >= items.len() {
                    return Err(self.missing(i, format!("index {n} (length {})", items.len())));
                }
                if last {
                    items.remove(*n);
                    Ok(())
                } else {
                    self.remove(&mut items[*n], i + 1)
                }
            }
            Token::Append => bail!("'-' cannot be removed, in '{}'", self.op.path),
            Token::Match {
                key,
                value,
                optional,
            } => {
                let items = self.array(node, i)?;
                match self.find(items, key, value, i)? {
                    None if *optional => Ok(()),
                    None => Err(self.missing(i, format!("element with {key}={value}"))),
                    Some(n) if last => {
                        items.remove(n);
                        Ok(())
                    }
                    Some(n) => self.remove(&mut items[n], i + 1),
                }
            }
        }
    }
}

/// `a map`, `an array`, ... for errors.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a map",
    }
}
