//! `verify`: re-reads a release tarball and applies the director's checks (cloudfoundry/bosh
//! `src/bosh-director/lib/bosh/director/jobs/update_release.rb`) that the bosh CLI does not
//! make offline, plus one of our own: fingerprints match the archived content.
//!
//! Left to the real CLI, which `scripts/build-release` runs after this (and
//! `tests/tests/release_cli.rs` tests): `bosh inspect-local-release` parses release.MF and
//! fails on a job or package needing a package that is not in the release;
//! `bosh sha2ify-release` opens every job and package archive and fails on one whose
//! digest is not the one release.MF lists. Checked only here: names and versions against
//! the director's rules, names listed once, fingerprints (present, alphanumeric, equal to
//! the content's), every listed archive present (the checks below need it), job.MF (name,
//! templates, packages), a monit file, a packaging script, no dependency cycle.
//!
//! Every problem found is reported, each naming its object (`job lxd_cpi: …`), rather
//! than stopping at the first.

use std::collections::{BTreeMap, BTreeSet};

use crate::fingerprint;
use crate::manifest::{self, ReadRecord};
use crate::rules;
use crate::spec;
use crate::tgz::{self, Entry, Item};

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The outer archive itself.
    #[error("release tarball: {0}")]
    Archive(String),
    /// `release.MF` as a whole.
    #[error("release.MF: {0}")]
    Manifest(String),
    /// One job.
    #[error("job {name}: {what}")]
    Job { name: String, what: String },
    /// One package.
    #[error("package {name}: {what}")]
    Package { name: String, what: String },
}

/// What a tarball that passed holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    pub version: String,
    pub jobs: Vec<String>,
    pub packages: Vec<String>,
}

/// Job or package: the folder of its archives and how its problems are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Job,
    Package,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Job => "jobs",
            Kind::Package => "packages",
        }
    }

    fn problem(self, name: &str, what: impl Into<String>) -> Problem {
        let (name, what) = (name.to_string(), what.into());
        match self {
            Kind::Job => Problem::Job { name, what },
            Kind::Package => Problem::Package { name, what },
        }
    }
}

/// Checks the release tarball `bytes`.
pub fn verify(bytes: &[u8]) -> Result<Summary, Vec<Problem>> {
    let entries = tgz::read(bytes).map_err(|e| vec![Problem::Archive(format!("{e:#}"))])?;
    let files: BTreeMap<&str, &Entry> = entries
        .iter()
        .filter(|e| !e.is_dir)
        .map(|e| (e.path.as_str(), e))
        .collect();
    let Some(mf) = files.get("release.MF") else {
        return Err(vec![Problem::Archive("no release.MF".into())]);
    };
    let text = String::from_utf8_lossy(&mf.data);
    let release = manifest::parse(&text).map_err(|e| vec![Problem::Manifest(format!("{e:#}"))])?;

    let mut problems = Vec::new();
    let name = release.name.clone().unwrap_or_default();
    match release.name.as_deref() {
        None => problems.push(Problem::Manifest("no release `name`".into())),
        Some(n) if !rules::valid_id(n) => problems.push(Problem::Manifest(format!(
            "release name `{n}` does not match ^[-0-9A-Za-z_+.]+$"
        ))),
        Some(_) => {}
    }
    let version = release.version.clone().unwrap_or_default();
    match release.version.as_deref() {
        None => problems.push(Problem::Manifest("no release `version`".into())),
        Some(v) => problems.extend(rules::version_problem(v).map(Problem::Manifest)),
    }
    let package_names: BTreeSet<String> = names(&release.packages, Kind::Package, &mut problems)
        .into_iter()
        .collect();
    let job_names = names(&release.jobs, Kind::Job, &mut problems);

    let mut deps = BTreeMap::new();
    for record in &release.packages {
        let Some(name) = &record.name else { continue };
        let needs = record_common(record, Kind::Package, &files, &mut problems);
        if let Some(archive) = archive_of(record, Kind::Package, &files, &mut problems) {
            check_package(name, record, &archive, &mut problems);
        }
        deps.insert(name.clone(), needs.unwrap_or_default());
    }
    for (name, what) in rules::cycle_problems(&deps) {
        problems.push(Problem::Package { name, what });
    }
    for record in &release.jobs {
        let Some(name) = &record.name else { continue };
        record_common(record, Kind::Job, &files, &mut problems);
        if let Some(archive) = archive_of(record, Kind::Job, &files, &mut problems) {
            check_job(name, record, &archive, &package_names, &mut problems);
        }
    }
    if problems.is_empty() {
        Ok(Summary {
            name,
            version,
            jobs: job_names,
            packages: package_names.into_iter().collect(),
        })
    } else {
        Err(problems)
    }
}

/// The named records' names, checking each is present, valid and unique.
fn names(records: &[ReadRecord], kind: Kind, problems: &mut Vec<Problem>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match &r.name {
            None => problems.push(Problem::Manifest(format!(
                "{}[{i}] has no name",
                kind.folder()
            ))),
            Some(n) if !rules::valid_id(n) => {
                problems.push(kind.problem(n, "name does not match ^[-0-9A-Za-z_+.]+$"));
            }
            Some(n) if !seen.insert(n.clone()) => {
                problems.push(kind.problem(n, "listed twice in release.MF"));
            }
            Some(n) => out.push(n.clone()),
        }
    }
    out
}

/// Checks version, fingerprint, digest and the `needs` list of one record; returns the
/// list if it could be read.
fn record_common(
    r: &ReadRecord,
    kind: Kind,
    files: &BTreeMap<&str, &Entry>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<String>> {
    let name = r.name.as_deref().unwrap_or_default();
    let mut say = |what: String| problems.push(kind.problem(name, what));
    match r.version.as_deref() {
        None => say("no `version`".into()),
        Some(v) if !rules::valid_id(v) => {
            say(format!("version `{v}` does not match ^[-0-9A-Za-z_+.]+$"))
        }
        Some(_) => {}
    }
    match r.fingerprint.as_deref() {
        None => say("no `fingerprint`".into()),
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            say(format!("fingerprint `{f}` is not alphanumeric"));
        }
        Some(_) => {}
    }
    // The digest itself is bosh sha2ify-release's to check.
    let path = format!("{}/{name}.tgz", kind.folder());
    if !files.contains_key(path.as_str()) {
        say(format!("{path} is not in the tarball"));
    }
    match &r.needs {
        Ok(list) => Some(list.clone()),
        Err(what) => {
            say(what.to_string());
            None
        }
    }
}

/// The entries of a record's inner archive, if it is there and reads.
fn archive_of(
    r: &ReadRecord,
    kind: Kind,
    files: &BTreeMap<&str, &Entry>,
    problems: &mut Vec<Problem>,
) -> Option<BTreeMap<String, Entry>> {
    let name = r.name.as_deref()?;
    let path = format!("{}/{name}.tgz", kind.folder());
    let entry = files.get(path.as_str())?;
    match tgz::read(&entry.data) {
        Ok(entries) => Some(
            entries
                .into_iter()
                .filter(|e| !e.is_dir)
                .map(|e| (e.path.clone(), e))
                .collect(),
        ),
        Err(e) => {
            problems.push(kind.problem(name, format!("{path} does not read: {e:#}")));
            None
        }
    }
}

/// The archive's files as fingerprint items.
fn items(archive: &BTreeMap<String, Entry>) -> Vec<Item> {
    archive
        .values()
        .map(|e| Item {
            path: e.path.clone(),
            data: e.data.clone(),
            exec: e.exec(),
        })
        .collect()
}

/// Complains if the record's fingerprint is not the one of `computed`.
fn check_fingerprint(
    kind: Kind,
    name: &str,
    r: &ReadRecord,
    computed: String,
    problems: &mut Vec<Problem>,
) {
    if let Some(listed) = r.fingerprint.as_deref().filter(|f| *f != computed) {
        problems.push(kind.problem(
            name,
            format!("fingerprint {listed} does not match the archived files ({computed})"),
        ));
    }
}

/// The director's checks of one job archive.
fn check_job(
    name: &str,
    r: &ReadRecord,
    archive: &BTreeMap<String, Entry>,
    packages: &BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
    let mut say = |what: String| {
        problems.push(Problem::Job {
            name: name.into(),
            what,
        })
    };
    let Some(mf) = archive.get("job.MF") else {
        say(format!("jobs/{name}.tgz has no job.MF"));
        return;
    };
    match spec::parse_job(&String::from_utf8_lossy(&mf.data)) {
        Err(e) => say(format!("job.MF: {e:#}")),
        Ok(spec) => {
            if spec.name != name {
                say(format!(
                    "job.MF is named `{}`, release.MF says `{name}`",
                    spec.name
                ));
            }
            for (key, _) in &spec.templates {
                if !archive.contains_key(&format!("templates/{key}")) {
                    say(format!(
                        "template `{key}` (job.MF templates) is missing from templates/"
                    ));
                }
            }
            for p in spec.packages.iter().filter(|p| !packages.contains(*p)) {
                say(format!(
                    "job.MF needs package `{p}`, which is not in the release"
                ));
            }
        }
    }
    if !archive
        .keys()
        .any(|k| k == "monit" || (!k.contains('/') && k.ends_with(".monit")))
    {
        say("no monit file".into());
    }
    check_fingerprint(
        Kind::Job,
        name,
        r,
        fingerprint::job(&items(archive)),
        problems,
    );
}

/// The director's checks of one package archive.
fn check_package(
    name: &str,
    r: &ReadRecord,
    archive: &BTreeMap<String, Entry>,
    problems: &mut Vec<Problem>,
) {
    if !archive.contains_key("packaging") {
        problems.push(
            Kind::Package.problem(name, format!("packages/{name}.tgz has no packaging script")),
        );
    }
    let deps = r.needs.clone().unwrap_or_default();
    check_fingerprint(
        Kind::Package,
        name,
        r,
        fingerprint::package(&items(archive), &deps),
        problems,
    );
}
