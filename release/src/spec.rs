//! Job and package spec files (a job's `spec` is its archive's `job.MF`): parsed into
//! the fields the build and the director's checks use (bosh-cli `release/manifest/`).

use anyhow::{Context, Result, bail};
use yaml_rust2::{Yaml, YamlLoader};

/// What a job spec declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// `name`.
    pub name: String,
    /// `templates`: source key (under `templates/`) and destination, in file order.
    pub templates: Vec<(String, String)>,
    /// `packages`: names of the packages the job needs.
    pub packages: Vec<String>,
}

/// What a package spec declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSpec {
    /// `name`.
    pub name: String,
    /// `dependencies`: names of packages compiled first.
    pub dependencies: Vec<String>,
    /// `files`: globs relative to `src/` or `blobs/`.
    pub files: Vec<String>,
    /// `excluded_files`: globs removed from what `files` matched.
    pub excluded_files: Vec<String>,
}

/// The one YAML mapping in `text`.
fn mapping(text: &str) -> Result<Yaml> {
    let mut docs = YamlLoader::load_from_str(text).context("not valid YAML")?;
    if docs.len() != 1 {
        bail!("expected one YAML document, found {}", docs.len());
    }
    let doc = docs.remove(0);
    if !matches!(doc, Yaml::Hash(_)) {
        bail!("not a YAML mapping");
    }
    Ok(doc)
}

/// A scalar as the director's `to_s` would see it (numbers keep their text).
pub fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The required string `key`.
fn name_of(doc: &Yaml, key: &str) -> Result<String> {
    match &doc[key] {
        Yaml::BadValue => bail!("`{key}` is missing"),
        y => scalar(y).with_context(|| format!("`{key}` is not a string")),
    }
}

/// The optional list of strings `key` (absent or null: empty).
fn string_list(doc: &Yaml, key: &str) -> Result<Vec<String>> {
    match &doc[key] {
        Yaml::BadValue | Yaml::Null => Ok(Vec::new()),
        Yaml::Array(items) => items
            .iter()
            .map(|i| scalar(i).with_context(|| format!("`{key}` holds a non-string item")))
            .collect(),
        _ => bail!("`{key}` is not a list"),
    }
}

/// Parses a job spec (or `job.MF`). `properties`, when present, must be a mapping.
pub fn parse_job(text: &str) -> Result<JobSpec> {
    let doc = mapping(text)?;
    let name = name_of(&doc, "name")?;
    let templates = match &doc["templates"] {
        Yaml::BadValue | Yaml::Null => Vec::new(),
        Yaml::Hash(h) => h
            .iter()
            .map(|(k, v)| match (scalar(k), scalar(v)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => bail!("`templates` holds a key or destination that is not a string"),
            })
            .collect::<Result<_>>()?,
        _ => bail!("`templates` is not a mapping"),
    };
    let packages = string_list(&doc, "packages")?;
    match &doc["properties"] {
        Yaml::BadValue | Yaml::Null | Yaml::Hash(_) => {}
        _ => bail!("`properties` is not a mapping"),
    }
    Ok(JobSpec {
        name,
        templates,
        packages,
    })
}

/// Parses a package spec.
pub fn parse_package(text: &str) -> Result<PackageSpec> {
    let doc = mapping(text)?;
    Ok(PackageSpec {
        name: name_of(&doc, "name")?,
        dependencies: string_list(&doc, "dependencies")?,
        files: string_list(&doc, "files")?,
        excluded_files: string_list(&doc, "excluded_files")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_spec_gives_name_templates_and_packages() {
        let spec = parse_job(
            "---\nname: j\ntemplates:\n  b.erb: bin/b\n  a.erb: config/a\npackages:\n- p\n\
             properties:\n  x.y:\n    default: 1\n",
        )
        .unwrap();
        assert_eq!(spec.name, "j");
        assert_eq!(
            spec.templates,
            [
                ("b.erb".into(), "bin/b".into()),
                ("a.erb".into(), "config/a".into())
            ]
        );
        assert_eq!(spec.packages, ["p"]);
    }

    #[test]
    fn optional_job_keys_may_be_absent() {
        let spec = parse_job("name: j\n").unwrap();
        assert!(spec.templates.is_empty() && spec.packages.is_empty());
    }

    #[test]
    fn bad_job_specs_say_which_key() {
        for (text, key) in [
            ("templates: {}\n", "`name`"),
            ("name: j\nproperties: [a]\n", "`properties`"),
            ("name: j\ntemplates: [a]\n", "`templates`"),
            ("name: j\npackages: p\n", "`packages`"),
            ("- a\n", "mapping"),
        ] {
            let err = format!("{:#}", parse_job(text).unwrap_err());
            assert!(err.contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_package_spec_gives_its_lists() {
        let spec = parse_package(
            "name: p\ndependencies: [b, a]\nfiles:\n- p/cpi\nexcluded_files: ['**/*.md']\n",
        )
        .unwrap();
        assert_eq!(spec.name, "p");
        assert_eq!(spec.dependencies, ["b", "a"]);
        assert_eq!(spec.files, ["p/cpi"]);
        assert_eq!(spec.excluded_files, ["**/*.md"]);
        assert!(parse_package("name: p\n").unwrap().dependencies.is_empty());
    }

    #[test]
    fn numbers_keep_their_text() {
        assert_eq!(parse_job("name: 1.10\n").unwrap().name, "1.10");
    }
}
