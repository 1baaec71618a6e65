//! `release.MF`: written with every string double-quoted (so `1.10` stays a string), and
//! read back leniently for the verifier, which reports what is missing (bosh-cli
//! `release/manifest/release.go`).

use anyhow::{Context, Result, bail};
use yaml_rust2::{Yaml, YamlLoader};

use crate::spec::scalar;

/// One job or package line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `name`.
    pub name: String,
    /// `version` and `fingerprint` (the same).
    pub fingerprint: String,
    /// Hex SHA-256 of the archive; written as `sha1: sha256:<hex>`.
    pub sha256: String,
    /// A job's `packages` or a package's `dependencies`.
    pub needs: Vec<String>,
}

/// What the manifest says about the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub version: String,
    pub commit_hash: String,
    pub uncommitted_changes: bool,
    pub jobs: Vec<Record>,
    pub packages: Vec<Record>,
}

/// `s` as a YAML double-quoted scalar.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends one record's lines; `needs_key` is `packages` or `dependencies`.
fn record(out: &mut String, r: &Record, needs_key: &str) {
    let fp = quote(&r.fingerprint);
    out.push_str(&format!("- name: {}\n", quote(&r.name)));
    out.push_str(&format!("  version: {fp}\n  fingerprint: {fp}\n"));
    out.push_str(&format!(
        "  sha1: {}\n",
        quote(&format!("sha256:{}", r.sha256))
    ));
    if r.needs.is_empty() {
        out.push_str(&format!("  {needs_key}: []\n"));
    } else {
        out.push_str(&format!("  {needs_key}:\n"));
        for n in &r.needs {
            out.push_str(&format!("  - {}\n", quote(n)));
        }
    }
}

/// The manifest's text.
pub fn render(release: &Release) -> String {
    let mut out = String::new();
    out.push_str(&format!("name: {}\n", quote(&release.name)));
    out.push_str(&format!("version: {}\n", quote(&release.version)));
    out.push_str(&format!("commit_hash: {}\n", quote(&release.commit_hash)));
    out.push_str(&format!(
        "uncommitted_changes: {}\n",
        release.uncommitted_changes
    ));
    for (key, records, needs_key) in [
        ("jobs", &release.jobs, "packages"),
        ("packages", &release.packages, "dependencies"),
    ] {
        if records.is_empty() {
            out.push_str(&format!("{key}: []\n"));
            continue;
        }
        out.push_str(&format!("{key}:\n"));
        for r in records {
            record(&mut out, r, needs_key);
        }
    }
    out.push_str("no_compression: false\n");
    out
}

/// A job or package entry as read back; missing fields are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub name: Option<String>,
    pub version: Option<String>,
    pub fingerprint: Option<String>,
    pub sha1: Option<String>,
    /// `packages` or `dependencies`; `Err` if present but not a list of strings.
    pub needs: Result<Vec<String>, ListError>,
}

/// Why a record's list (`packages` or `dependencies`) cannot be read; names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// An item of the list is not a string.
    #[error("`{key}` holds a non-string item")]
    NonString { key: String },
    /// The value is not a list at all.
    #[error("`{key}` is not a list")]
    NotAList { key: String },
}

/// A manifest as read back; missing fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadRelease {
    pub name: Option<String>,
    pub version: Option<String>,
    pub jobs: Vec<ReadRecord>,
    pub packages: Vec<ReadRecord>,
}

/// A list of strings; absent or null is empty.
fn read_list(y: &Yaml, key: &str) -> Result<Vec<String>, ListError> {
    match y {
        Yaml::BadValue | Yaml::Null => Ok(Vec::new()),
        Yaml::Array(items) => items
            .iter()
            .map(|i| {
                scalar(i).ok_or_else(|| ListError::NonString {
                    key: key.to_owned(),
                })
            })
            .collect(),
        _ => Err(ListError::NotAList {
            key: key.to_owned(),
        }),
    }
}

/// The entries under `key`.
fn read_records(doc: &Yaml, key: &str, needs_key: &str) -> Result<Vec<ReadRecord>> {
    let items = match &doc[key] {
        Yaml::BadValue | Yaml::Null => return Ok(Vec::new()),
        Yaml::Array(items) => items,
        _ => bail!("`{key}` is not a list"),
    };
    items
        .iter()
        .map(|y| {
            if !matches!(y, Yaml::Hash(_)) {
                bail!("`{key}` holds an entry that is not a mapping");
            }
            Ok(ReadRecord {
                name: scalar(&y["name"]),
                version: scalar(&y["version"]),
                fingerprint: scalar(&y["fingerprint"]),
                sha1: scalar(&y["sha1"]),
                needs: read_list(&y[needs_key], needs_key),
            })
        })
        .collect()
}

/// Parses a manifest's text.
pub fn parse(text: &str) -> Result<ReadRelease> {
    let mut docs = YamlLoader::load_from_str(text).context("not valid YAML")?;
    if docs.len() != 1 || !matches!(docs[0], Yaml::Hash(_)) {
        bail!("not one YAML mapping");
    }
    let doc = docs.remove(0);
    Ok(ReadRelease {
        name: scalar(&doc["name"]),
        version: scalar(&doc["version"]),
        jobs: read_records(&doc, "jobs", "packages")?,
        packages: read_records(&doc, "packages", "dependencies")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Release {
        Release {
            name: "bosh-lxd-cpi".into(),
            version: "1.10".into(),
            commit_hash: "abc1234".into(),
            uncommitted_changes: true,
            jobs: vec![Record {
                name: "lxd_cpi".into(),
                fingerprint: "f1".into(),
                sha256: "aa".into(),
                needs: vec!["lxd_cpi".into()],
            }],
            packages: vec![Record {
                name: "lxd_cpi".into(),
                fingerprint: "f2".into(),
                sha256: "bb".into(),
                needs: vec![],
            }],
        }
    }

    #[test]
    fn the_manifest_has_the_expected_text() {
        assert_eq!(
            render(&sample()),
            "name: \"bosh-lxd-cpi\"\nversion: \"1.10\"\ncommit_hash: \"abc1234\"\n\
             uncommitted_changes: true\njobs:\n- name: \"lxd_cpi\"\n  version: \"f1\"\n  \
             fingerprint: \"f1\"\n  sha1: \"sha256:aa\"\n  packages:\n  - \"lxd_cpi\"\n\
             packages:\n- name: \"lxd_cpi\"\n  version: \"f2\"\n  fingerprint: \"f2\"\n  \
             sha1: \"sha256:bb\"\n  dependencies: []\nno_compression: false\n"
        );
    }

    #[test]
    fn what_is_written_reads_back_as_strings() {
        let read = parse(&render(&sample())).unwrap();
        assert_eq!(read.version.as_deref(), Some("1.10"));
        assert_eq!(read.jobs[0].needs, Ok(vec!["lxd_cpi".to_string()]));
        assert_eq!(read.packages[0].sha1.as_deref(), Some("sha256:bb"));
        assert_eq!(read.packages[0].needs, Ok(vec![]));
        let docs = YamlLoader::load_from_str(&render(&sample())).unwrap();
        assert_eq!(docs[0]["version"], Yaml::String("1.10".into()));
        assert_eq!(docs[0]["uncommitted_changes"], Yaml::Boolean(true));
        assert_eq!(docs[0]["no_compression"], Yaml::Boolean(false));
    }

    #[test]
    fn awkward_strings_survive_quoting() {
        for s in [
            "a\"b",
            "c\\d",
            "line\nbreak",
            "tab\there",
            "bell\u{7}",
            "yes",
            "~",
            "",
        ] {
            let docs = YamlLoader::load_from_str(&format!("k: {}\n", quote(s))).unwrap();
            assert_eq!(docs[0]["k"], Yaml::String(s.into()), "{s:?}");
        }
    }
}
