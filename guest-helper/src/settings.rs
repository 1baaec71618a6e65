//! The agent's disk bookkeeping as the helper reads it: the CPI's settings file
//! (`disks.persistent`, `env.persistent_disk_mount_options`), the agent's
//! `persistent_disk_hints.json`, and the bare cid in `managed_disk_settings.json`.
//!
//! Shapes follow bosh-agent's `settings/settings.go` (`Disks`, a hint a string or an
//! object) and what the agent writes (a bare cid, no newline). Parsing is
//! lenient about everything the helper does not use; a file that is not JSON, or whose
//! disk map has the wrong type, is reported as corrupt rather than guessed at.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};
use bosh_lxd_contract::settings::{PERSISTENT_DISK_MOUNT_OPTIONS, PERSISTENT_DISKS};
use serde_json::Value;

/// Disk cid → hint path.
pub type DiskMap = BTreeMap<String, String>;

/// What a file source gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<T> {
    /// The file does not exist.
    Missing,
    /// The file exists but could not be read or understood; the text says why.
    Corrupt(String),
    /// The file was read.
    Parsed(T),
}

impl<T> Source<T> {
    /// The parsed value, if any.
    pub fn parsed(&self) -> Option<&T> {
        match self {
            Source::Parsed(v) => Some(v),
            _ => None,
        }
    }
}

/// The parts of the agent settings file the helper uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSettings {
    /// `disks.persistent`: every disk the CPI says is attached.
    pub persistent: DiskMap,
    /// `env.persistent_disk_mount_options`, flattened; empty when unset.
    pub mount_options: Vec<String>,
}

/// The contents of `managed_disk_settings.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedCid {
    /// No file: the agent never mounted a disk.
    Missing,
    /// The file is empty (or whitespace).
    Empty,
    /// A cid that is safe to use in a path.
    Cid(String),
    /// Unreadable or not a plausible cid; the text says why.
    Corrupt(String),
}

/// Read the agent settings file.
pub fn read_agent_settings(path: &Path) -> Source<AgentSettings> {
    read_json(path, parse_agent_settings)
}

/// Read `persistent_disk_hints.json`.
pub fn read_hints(path: &Path) -> Source<DiskMap> {
    read_json(path, |v| {
        disk_map(v).context("the hints file is not an object of disk hints")
    })
}

/// Read `managed_disk_settings.json`.
pub fn read_managed_cid(path: &Path) -> ManagedCid {
    match std::fs::read(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => ManagedCid::Missing,
        Err(e) => ManagedCid::Corrupt(format!("reading {}: {e}", path.display())),
        Ok(bytes) => parse_managed_cid(&bytes),
    }
}

/// Interpret the bytes of `managed_disk_settings.json`: a bare cid, trimmed.
pub fn parse_managed_cid(bytes: &[u8]) -> ManagedCid {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return ManagedCid::Corrupt("the cid is not UTF-8".into());
    };
    let cid = text.trim();
    if cid.is_empty() {
        return ManagedCid::Empty;
    }
    match check_cid(cid) {
        Ok(()) => ManagedCid::Cid(cid.to_string()),
        Err(why) => ManagedCid::Corrupt(format!("{cid:?} is not a disk cid: {why}")),
    }
}

/// A cid becomes a path component (`/warden-cpi-dev/<cid>`): refuse anything that
/// could name another path.
pub fn check_cid(cid: &str) -> std::result::Result<(), &'static str> {
    if cid.is_empty() {
        return Err("empty");
    }
    if cid == "." || cid == ".." {
        return Err("a relative path component");
    }
    if cid
        .chars()
        .any(|c| c == '/' || c.is_whitespace() || c.is_control() || c == '"')
    {
        return Err("contains '/', a quote, whitespace or a control character");
    }
    Ok(())
}

fn read_json<T>(path: &Path, parse: impl FnOnce(&Value) -> Result<T>) -> Source<T> {
    let bytes = match std::fs::read(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Source::Missing,
        Err(e) => return Source::Corrupt(format!("reading {}: {e}", path.display())),
        Ok(bytes) => bytes,
    };
    let parsed = serde_json::from_slice::<Value>(&bytes)
        .context("not JSON")
        .and_then(|v| parse(&v));
    match parsed {
        Ok(v) => Source::Parsed(v),
        Err(e) => Source::Corrupt(format!("{}: {e:#}", path.display())),
    }
}

/// Interpret the settings document.
pub fn parse_agent_settings(doc: &Value) -> Result<AgentSettings> {
    let persistent = match doc.pointer(PERSISTENT_DISKS) {
        None | Some(Value::Null) => DiskMap::new(),
        Some(v) => disk_map(v).context("disks.persistent")?,
    };
    let mount_options = match doc.pointer(PERSISTENT_DISK_MOUNT_OPTIONS) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .context("env.persistent_disk_mount_options holds a non-string")?,
        Some(_) => anyhow::bail!("env.persistent_disk_mount_options is not an array"),
    };
    Ok(AgentSettings {
        persistent,
        mount_options,
    })
}

/// A JSON object of cid → hint, where a hint is a path string or an object with a
/// path (`path` in the CPI's file, `Path` in the agent's hints file). A hint without a
/// path maps to the empty string: the cid is still known.
fn disk_map(v: &Value) -> Result<DiskMap> {
    let Value::Object(entries) = v else {
        anyhow::bail!("expected an object, found {}", kind(v));
    };
    let mut map = DiskMap::new();
    for (cid, hint) in entries {
        let path = match hint {
            Value::String(p) => p.clone(),
            Value::Object(o) => ["path", "Path"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string(),
            other => anyhow::bail!("hint of {cid:?} is {}", kind(other)),
        };
        map.insert(cid.clone(), path);
    }
    Ok(map)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
