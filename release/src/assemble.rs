//! `build`: the release directory plus the CPI binary into one release tarball
//! without the bosh CLI: job and package archives, their fingerprints and digests,
//! `release.MF`, then the outer archive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::fingerprint;
use crate::manifest::{self, Record, Release};
use crate::output;
use crate::rules;
use crate::sources::{self, Provided};
use crate::tgz::{self, Item, Names};

/// Where in its package the CPI binary goes (`packages/lxd_cpi/spec` `files`).
pub const CPI_PATH: &str = "lxd_cpi/cpi";

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory holding `jobs/` and `packages/`.
    pub release_dir: PathBuf,
    /// The static CPI binary.
    pub cpi: PathBuf,
    /// The tarball to write (must not exist).
    pub out: PathBuf,
    pub name: String,
    pub version: String,
    pub commit_hash: String,
    pub uncommitted_changes: bool,
}

/// Builds the tarball and writes it to `opts.out`.
pub fn build(opts: &Options) -> Result<()> {
    output::refuse_existing(&opts.out)?;
    let bytes = release_bytes(opts)?;
    output::write_new(&opts.out, &bytes)
}

/// Checks the names the director will check, before anything is written.
fn check_identity(opts: &Options) -> Result<()> {
    if !rules::valid_id(&opts.name) {
        bail!("release name `{}` must match ^[-0-9A-Za-z_+.]+$", opts.name);
    }
    if let Some(problem) = rules::version_problem(&opts.version) {
        bail!("release {problem}");
    }
    if opts.commit_hash.is_empty() || opts.commit_hash.contains(char::is_whitespace) {
        bail!(
            "commit hash `{}` must be one non-empty word",
            opts.commit_hash
        );
    }
    Ok(())
}

/// The whole tarball, in memory.
pub fn release_bytes(opts: &Options) -> Result<Vec<u8>> {
    check_identity(opts)?;
    let dir = &opts.release_dir;
    let provided = [Provided {
        relpath: CPI_PATH.into(),
        source: opts.cpi.clone(),
        exec: true,
    }];
    let jobs = sources::jobs(dir).with_context(|| format!("reading {}", dir.display()))?;
    let packages =
        sources::packages(dir, &provided).with_context(|| format!("reading {}", dir.display()))?;
    if let Some(rel) = sources::unused(&provided, &packages).first() {
        bail!("no package's `files` lists {rel}, so --cpi would not be in the release");
    }
    if jobs.is_empty() {
        bail!("{} holds no jobs", dir.join("jobs").display());
    }
    check_names(&jobs, &packages)?;

    let mut outer = Vec::new();
    let mut job_records = Vec::new();
    for job in &jobs {
        let (record, item) = archive(
            &job.spec.name,
            "jobs",
            &job.items,
            &job.spec.packages,
            || fingerprint::job(&job.items),
        )?;
        job_records.push(record);
        outer.push(item);
    }
    let mut package_records = Vec::new();
    for package in &packages {
        let spec = &package.spec;
        let (record, item) = archive(
            &spec.name,
            "packages",
            &package.items,
            &spec.dependencies,
            || fingerprint::package(&package.items, &spec.dependencies),
        )?;
        package_records.push(record);
        outer.push(item);
    }
    let release = Release {
        name: opts.name.clone(),
        version: opts.version.clone(),
        commit_hash: opts.commit_hash.clone(),
        uncommitted_changes: opts.uncommitted_changes,
        jobs: job_records,
        packages: package_records,
    };
    outer.push(Item {
        path: "release.MF".into(),
        data: manifest::render(&release).into_bytes(),
        exec: false,
    });
    tgz::write(&outer, Names::Bare).context("writing the release tarball")
}

/// One job or package archive: its manifest record and its item in the outer archive.
fn archive(
    name: &str,
    folder: &str,
    items: &[Item],
    needs: &[String],
    fingerprint: impl FnOnce() -> String,
) -> Result<(Record, Item)> {
    let bytes = tgz::write(items, Names::DotSlash).with_context(|| format!("archiving {name}"))?;
    let record = Record {
        name: name.to_string(),
        fingerprint: fingerprint(),
        sha256: fingerprint::sha256_hex(&bytes),
        needs: needs.to_vec(),
    };
    let item = Item {
        path: format!("{folder}/{name}.tgz"),
        data: bytes,
        exec: false,
    };
    Ok((record, item))
}

/// Names valid and unique, job packages present, dependencies closed and acyclic.
fn check_names(jobs: &[sources::Job], packages: &[sources::Package]) -> Result<()> {
    let mut deps = BTreeMap::new();
    for p in packages {
        if !rules::valid_id(&p.spec.name) {
            bail!(
                "package name `{}` must match ^[-0-9A-Za-z_+.]+$",
                p.spec.name
            );
        }
        deps.insert(p.spec.name.clone(), p.spec.dependencies.clone());
    }
    if let Some((name, problem)) = rules::graph_problems(&deps).into_iter().next() {
        bail!("package {name}: {problem}");
    }
    let mut seen = BTreeSet::new();
    for j in jobs {
        if !rules::valid_id(&j.spec.name) || !seen.insert(&j.spec.name) {
            bail!("job name `{}` is invalid or used twice", j.spec.name);
        }
        if let Some(missing) = j.spec.packages.iter().find(|p| !deps.contains_key(*p)) {
            bail!(
                "job {}: needs package `{missing}`, which is not in packages/",
                j.spec.name
            );
        }
    }
    Ok(())
}

/// The source tree this program was built from: the default `--release-dir`.
pub fn built_release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
