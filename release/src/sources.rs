//! The release directory: `jobs/*` and `packages/*` read into the files each archive
//! holds (as bosh-cli's `release/job/dir_reader.go` and `release/pkg/dir_reader.go` do).
//!
//! A job archive holds `job.MF` (its spec verbatim), `monit`, `properties_schema.json`
//! if present, and `templates/<key>` for each key of the spec's `templates`. A package
//! archive holds `packaging` and every file its `files` globs match, minus
//! `excluded_files`; a file is looked up among the files given on the command line (the
//! CPI binary), then under `src/`, then under `blobs/`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::glob::Glob;
use crate::spec::{self, JobSpec, PackageSpec};
use crate::tgz::Item;

/// A job: its spec and the files of its archive.
#[derive(Debug, Clone)]
pub struct Job {
    pub spec: JobSpec,
    pub items: Vec<Item>,
}

/// A package: its spec and the files of its archive.
#[derive(Debug, Clone)]
pub struct Package {
    pub spec: PackageSpec,
    pub items: Vec<Item>,
}

/// A package file that comes from elsewhere than `src/` or `blobs/`.
#[derive(Debug, Clone)]
pub struct Provided {
    /// Its path in the package (`lxd_cpi/cpi`).
    pub relpath: String,
    /// Where to read it.
    pub source: PathBuf,
    /// Whether it gets an exec bit whatever its mode on disk.
    pub exec: bool,
}

/// Reads `path` as one archive item at `relpath`; `exec` from its mode unless forced.
fn read_item(path: &Path, relpath: &str, force_exec: bool) -> Result<Item> {
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = fs::metadata(path)
        .with_context(|| format!("reading the mode of {}", path.display()))?
        .permissions()
        .mode();
    Ok(Item {
        path: relpath.to_string(),
        data,
        exec: force_exec || mode & 0o111 != 0,
    })
}

/// The subdirectories of `dir`, sorted by name.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.path().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Checks a spec-supplied relative path stays inside its directory.
fn plain_relative(path: &str, what: &str) -> Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
    {
        bail!("{what} `{path}` is not a plain relative path");
    }
    Ok(())
}

/// Every job under `release_dir/jobs`.
pub fn jobs(release_dir: &Path) -> Result<Vec<Job>> {
    let mut out = Vec::new();
    for (dir_name, dir) in subdirs(&release_dir.join("jobs"))? {
        let job = job(&dir).with_context(|| format!("job {dir_name} ({})", dir.display()))?;
        if job.spec.name != dir_name {
            bail!(
                "job directory {} has a spec named `{}`",
                dir.display(),
                job.spec.name
            );
        }
        out.push(job);
    }
    Ok(out)
}

/// One job directory.
fn job(dir: &Path) -> Result<Job> {
    let spec_item = read_item(&dir.join("spec"), "job.MF", false)?;
    let text = std::str::from_utf8(&spec_item.data).context("spec is not UTF-8")?;
    let spec = spec::parse_job(text).context("spec")?;
    let mut items = vec![spec_item, read_item(&dir.join("monit"), "monit", false)?];
    let schema = dir.join("properties_schema.json");
    if schema.exists() {
        items.push(read_item(&schema, "properties_schema.json", false)?);
    }
    for (key, _) in &spec.templates {
        plain_relative(key, "template")?;
        let path = dir.join("templates").join(key);
        items.push(read_item(&path, &format!("templates/{key}"), false)?);
    }
    Ok(Job { spec, items })
}

/// Every package under `release_dir/packages`; `provided` files take precedence.
pub fn packages(release_dir: &Path, provided: &[Provided]) -> Result<Vec<Package>> {
    let mut candidates = Candidates::default();
    for p in provided {
        plain_relative(&p.relpath, "provided file")?;
        candidates.add(&p.relpath, p.source.clone(), p.exec);
    }
    for root in ["src", "blobs"] {
        walk(&release_dir.join(root), "", &mut candidates)?;
    }
    let mut out = Vec::new();
    for (dir_name, dir) in subdirs(&release_dir.join("packages"))? {
        let package = package(&dir, &candidates)
            .with_context(|| format!("package {dir_name} ({})", dir.display()))?;
        if package.spec.name != dir_name {
            bail!(
                "package directory {} has a spec named `{}`",
                dir.display(),
                package.spec.name
            );
        }
        out.push(package);
    }
    Ok(out)
}

/// Files a package spec's globs may match: path in the package, source, forced exec.
#[derive(Debug, Default)]
struct Candidates {
    by_path: BTreeMap<String, (PathBuf, bool)>,
}

impl Candidates {
    /// Adds a file unless an earlier source already has that path.
    fn add(&mut self, relpath: &str, source: PathBuf, exec: bool) {
        self.by_path
            .entry(relpath.to_string())
            .or_insert((source, exec));
    }
}

/// Adds every file under `dir` (if it exists) as `prefix` + its relative path.
fn walk(dir: &Path, prefix: &str, into: &mut Candidates) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for (name, path) in sorted_entries(dir)? {
        let rel = format!("{prefix}{name}");
        if path.is_dir() {
            walk(&path, &format!("{rel}/"), into)?;
        } else {
            into.add(&rel, path, false);
        }
    }
    Ok(())
}

/// The entries of `dir`, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

/// One package directory.
fn package(dir: &Path, candidates: &Candidates) -> Result<Package> {
    let text = fs::read_to_string(dir.join("spec")).context("reading spec")?;
    let spec = spec::parse_package(&text).context("spec")?;
    if dir.join("pre_packaging").exists() {
        bail!("pre_packaging is not supported: the build does not run scripts");
    }
    let mut chosen: BTreeMap<&str, &(PathBuf, bool)> = BTreeMap::new();
    for pattern in &spec.files {
        let glob = Glob::new(pattern).context("files")?;
        let mut any = false;
        for (path, source) in &candidates.by_path {
            if glob.matches(path) {
                any = true;
                chosen.insert(path, source);
            }
        }
        if !any {
            bail!(
                "files: nothing matches `{pattern}` (looked in src/ and blobs/ and the files given)"
            );
        }
    }
    for pattern in &spec.excluded_files {
        let glob = Glob::new(pattern).context("excluded_files")?;
        chosen.retain(|path, _| !glob.matches(path));
    }
    let mut items = vec![read_item(&dir.join("packaging"), "packaging", false)?];
    for (path, (source, exec)) in chosen {
        if path == "packaging" {
            bail!("files: `packaging` would clash with the packaging script");
        }
        items.push(read_item(source, path, *exec)?);
    }
    Ok(Package { spec, items })
}

/// The provided files no package used (a sign the spec and the command line disagree).
pub fn unused<'a>(provided: &'a [Provided], packages: &[Package]) -> Vec<&'a str> {
    provided
        .iter()
        .map(|p| p.relpath.as_str())
        .filter(|rel| {
            !packages
                .iter()
                .any(|pkg| pkg.items.iter().any(|i| i.path == *rel))
        })
        .collect()
}
