//! `((variable))` interpolation, as bosh does it after the ops: a string that is exactly
//! `((name))` becomes the variable's value (any type); `((name))` inside a longer string is
//! replaced by the value's text (scalars only). `((name.key))` reads a key of a map value
//! (`((director_ssl.certificate))`), a leading `!` is ignored. Every unknown variable is
//! collected and reported in one error.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use super::type_name;

/// The document with every variable replaced; unknown ones are an error listing them all.
pub fn interpolate(doc: &Value, vars: &Map<String, Value>) -> Result<Value> {
    let mut missing = BTreeSet::new();
    let out = walk(doc, vars, &mut missing)?;
    if !missing.is_empty() {
        let names: Vec<String> = missing.into_iter().collect();
        bail!("Expected to find variables: {}", names.join(", "));
    }
    Ok(out)
}

/// Every `((name))` left in `doc`'s strings, e.g. to check that nothing is unresolved.
pub fn placeholders(doc: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if let Err(e) = walk(doc, &Map::new(), &mut found) {
        // With no variables nothing is substituted, so nothing can fail.
        found.insert(format!("<{e}>"));
    }
    found
}

fn walk(value: &Value, vars: &Map<String, Value>, missing: &mut BTreeSet<String>) -> Result<Value> {
    Ok(match value {
        Value::String(s) => string(s, vars, missing)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| walk(v, vars, missing))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), walk(v, vars, missing)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn string(s: &str, vars: &Map<String, Value>, missing: &mut BTreeSet<String>) -> Result<Value> {
    if let Some(name) = s.strip_prefix("((").and_then(|r| r.strip_suffix("))"))
        && is_name(name)
    {
        return Ok(match lookup(name, vars) {
            Some(v) => v.clone(),
            None => {
                missing.insert(name.trim_start_matches('!').to_owned());
                Value::String(s.to_owned())
            }
        });
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("((") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("))") else { break };
        let name = &after[..end];
        if !is_name(name) {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        match lookup(name, vars) {
            Some(Value::String(text)) => out.push_str(text),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
            Some(v) => bail!(
                "variable '{name}' is {}: it cannot be part of the string {s:?}",
                type_name(v)
            ),
            None => {
                missing.insert(name.trim_start_matches('!').to_owned());
                out.push_str(&rest[start..start + end + 4]);
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// A variable reference: `[!]name[.key...]` of letters, digits and `_-./:`.
fn is_name(name: &str) -> bool {
    let name = name.strip_prefix('!').unwrap_or(name);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:".contains(c))
}

fn lookup<'v>(name: &str, vars: &'v Map<String, Value>) -> Option<&'v Value> {
    let name = name.trim_start_matches('!');
    let mut parts = name.split('.');
    let mut value = vars.get(parts.next()?)?;
    for key in parts {
        value = value.get(key)?;
    }
    Some(value)
}
