//! `stemcell.MF`: read, then written back with the repack's keys set and every other key
//! kept, in its place (bosh.io/docs/build-stemcell/#metadata lists the keys).
//!
//! Scalars the repack does not touch keep their text, so `version: 1.10` stays `1.10`
//! rather than becoming a float. Comments are not kept.

use anyhow::{Context, Result, bail};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

/// Key under `cloud_properties` naming the helper baked into the image; the CPI's
/// `create_vm` refuses an image without it.
pub use bosh_lxd_contract::image::HELPER_VERSION_PROPERTY as HELPER_VERSION_KEY;
/// Stemcell formats the CPI accepts (`cpi` `info`); a repack lists both.
pub use bosh_lxd_contract::image::STEMCELL_FORMATS as FORMATS;
/// What a repack appends to the stock version, before the repack id.
pub const VERSION_MARK: &str = "-lxd.";

/// A parsed `stemcell.MF`: a YAML mapping.
#[derive(Debug, Clone)]
pub struct Manifest {
    root: Hash,
}

/// What the repack writes into the manifest.
#[derive(Debug, Clone)]
pub struct Choices<'a> {
    /// `--name`, if given.
    pub name: Option<&'a str>,
    /// `--version`, if given.
    pub version: Option<&'a str>,
    /// The helper's version, for `cloud_properties`.
    pub helper_version: &'a str,
    /// Names what the repack added; the default version ends with it.
    pub repack_id: &'a str,
    /// SHA-1 of the new image.
    pub sha1: &'a str,
}

/// One key whose value the rewrite changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The key, dotted for nested ones (`cloud_properties.version`).
    pub key: String,
    /// The value before, if there was one.
    pub before: Option<String>,
    /// The value after.
    pub after: String,
}

impl Manifest {
    /// Parses the manifest's bytes; it must be one YAML mapping with `name` and `version`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let text = std::str::from_utf8(bytes).context("not UTF-8 text")?;
        let mut docs = YamlLoader::load_from_str(text).context("not valid YAML")?;
        if docs.len() != 1 {
            bail!("expected one YAML document, found {}", docs.len());
        }
        let Yaml::Hash(root) = docs.remove(0) else {
            bail!("not a YAML mapping");
        };
        let manifest = Manifest { root };
        manifest.name()?;
        manifest.version()?;
        Ok(manifest)
    }

    /// A top-level scalar's text.
    pub fn get(&self, name: &str) -> Option<String> {
        scalar(self.root.get(&key(name)))
    }

    /// The stemcell's name.
    pub fn name(&self) -> Result<String> {
        scalar(self.root.get(&key("name"))).context("no `name` in it")
    }

    /// The stemcell's version.
    pub fn version(&self) -> Result<String> {
        scalar(self.root.get(&key("version"))).context("no `version` in it")
    }

    /// `cloud_properties.bosh_lxd_helper_version`: set when this is already a repack.
    pub fn helper_version(&self) -> Option<String> {
        let Some(Yaml::Hash(cp)) = self.root.get(&key("cloud_properties")) else {
            return None;
        };
        scalar(cp.get(&key(HELPER_VERSION_KEY)))
    }

    /// The version a repack writes: `--version` if given; else the stock version with
    /// `-lxd.<repack id>` appended. A repack by the same helper and overlay keeps its
    /// version; one by another replaces the old suffix rather than stacking a second.
    pub fn new_version(&self, choices: &Choices<'_>) -> Result<String> {
        if let Some(v) = choices.version {
            return Ok(v.to_string());
        }
        let old = self.version()?;
        let suffix = format!("{VERSION_MARK}{}", choices.repack_id);
        if old.ends_with(&suffix) {
            return Ok(old);
        }
        let base = match self.helper_version() {
            Some(_) => strip_repack_suffix(&old),
            None => &old,
        };
        Ok(format!("{base}{suffix}"))
    }

    /// The rewritten manifest text and the keys whose values changed.
    pub fn rewrite(&self, choices: &Choices<'_>) -> Result<(String, Vec<FieldChange>)> {
        let mut root = self.root.clone();
        let mut changes = Vec::new();
        let (old_name, old_version) = (self.name()?, self.version()?);
        let new_name = choices.name.unwrap_or(&old_name).to_string();
        let new_version = self.new_version(choices)?;
        set(&mut root, "name", &new_name, "", &mut changes)?;
        set(&mut root, "version", &new_version, "", &mut changes)?;
        set(&mut root, "sha1", choices.sha1, "", &mut changes)?;
        add_formats(&mut root, &mut changes)?;
        let cp = match slot(&mut root, "cloud_properties", || Yaml::Hash(Hash::new()))? {
            Yaml::Hash(cp) => cp,
            _ => bail!("`cloud_properties` is not a mapping"),
        };
        let p = "cloud_properties.";
        set(
            cp,
            HELPER_VERSION_KEY,
            choices.helper_version,
            p,
            &mut changes,
        )?;
        // Warden manifests repeat name and version here; keep the copies in step.
        if scalar(cp.get(&key("name"))).as_deref() == Some(old_name.as_str()) {
            set(cp, "name", &new_name, p, &mut changes)?;
        }
        if scalar(cp.get(&key("version"))).as_deref() == Some(old_version.as_str()) {
            set(cp, "version", &new_version, p, &mut changes)?;
        }
        let mut text = String::new();
        YamlEmitter::new(&mut text)
            .dump(&Yaml::Hash(root))
            .context("writing YAML")?;
        text.push('\n');
        Ok((text, changes))
    }
}

/// `1.2-lxd.0123456789ab` → `1.2`; anything else is returned as it is.
fn strip_repack_suffix(version: &str) -> &str {
    match version.rsplit_once(VERSION_MARK) {
        Some((base, id))
            if id.len() == 12
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            base
        }
        _ => version,
    }
}

/// Ensures `stemcell_formats` lists every format of [`FORMATS`], keeping the others.
fn add_formats(root: &mut Hash, changes: &mut Vec<FieldChange>) -> Result<()> {
    let Yaml::Array(list) = slot(root, "stemcell_formats", || Yaml::Array(Vec::new()))? else {
        bail!("`stemcell_formats` is not a list");
    };
    let before = list
        .iter()
        .filter_map(|y| scalar(Some(y)))
        .collect::<Vec<_>>();
    for format in FORMATS {
        if !before.iter().any(|f| f == format) {
            list.push(Yaml::String(format.to_string()));
        }
    }
    let after = list
        .iter()
        .filter_map(|y| scalar(Some(y)))
        .collect::<Vec<_>>();
    if after != before {
        changes.push(FieldChange {
            key: "stemcell_formats".to_string(),
            before: Some(format!("[{}]", before.join(", "))),
            after: format!("[{}]", after.join(", ")),
        });
    }
    Ok(())
}

/// Sets `map[name]` to a string, in place when the key exists, and records a change.
fn set(
    map: &mut Hash,
    name: &str,
    value: &str,
    prefix: &str,
    changes: &mut Vec<FieldChange>,
) -> Result<()> {
    let before = scalar(map.get(&key(name)));
    if before.as_deref() == Some(value) {
        return Ok(());
    }
    *slot(map, name, || Yaml::Null)? = Yaml::String(value.to_string());
    changes.push(FieldChange {
        key: format!("{prefix}{name}"),
        before,
        after: value.to_string(),
    });
    Ok(())
}

/// `map[name]`, inserted at the end when missing. An existing key keeps its place
/// (`LinkedHashMap`'s entry API moves it to the back).
fn slot<'a>(map: &'a mut Hash, name: &str, new: impl FnOnce() -> Yaml) -> Result<&'a mut Yaml> {
    let k = key(name);
    if !map.contains_key(&k) {
        map.insert(k.clone(), new());
    }
    map.get_mut(&k)
        .with_context(|| format!("`{name}` vanished from the mapping"))
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_string())
}

/// The text of a scalar node (strings, numbers as written, booleans).
fn scalar(node: Option<&Yaml>) -> Option<String> {
    match node? {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
