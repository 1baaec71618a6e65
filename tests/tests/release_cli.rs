//! The release tarball `scripts/build-release` makes, read by the real bosh CLI offline:
//! `inspect-local-release` parses release.MF and resolves every job's and package's package
//! references; `sha2ify-release` opens every job and package archive and checks it against
//! its release.MF digest before re-digesting. What the CLI does not check offline stays in
//! `build-release verify` (release/src/verify.rs says which). No LXD.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bosh_lxd_tests::tools::bosh_cli;
use bosh_lxd_tests::workspace_root;
use bosh_lxd_tests::yaml::parse_yaml;
use serde_json::{Value, json};

/// A scratch directory with a tarball from `scripts/build-release`, removed on drop.
struct Built {
    dir: PathBuf,
    tgz: PathBuf,
}

impl Built {
    /// `scripts/build-release 0+clitest.<pid>.<n>`, moved out of dev_releases/.
    fn new(n: u32) -> Built {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("bosh-lxd-release-cli-{pid}-{n}"));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let out = Command::new("scripts/build-release")
            .arg(format!("0+clitest.{pid}.{n}"))
            .current_dir(workspace_root())
            .output()
            .expect("run scripts/build-release");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let built = PathBuf::from(text.lines().last().unwrap_or_default().trim());
        assert!(
            out.status.success() && built.is_file(),
            "scripts/build-release: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tgz = dir.join("release.tgz");
        std::fs::rename(&built, &tgz).expect("move the tarball out of dev_releases/");
        Built { dir, tgz }
    }
}

impl Drop for Built {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {e}", self.dir.display());
        }
    }
}

fn bosh(args: &[&str], paths: &[&Path]) -> Output {
    let cli = bosh_cli().unwrap_or_else(|e| panic!("{e:#}"));
    Command::new(cli)
        .args(args)
        .args(paths)
        .output()
        .expect("run bosh")
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// release.MF of a tarball, through tar.
fn release_mf(tgz: &Path) -> Value {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(tgz)
        .arg("./release.MF")
        .output()
        .expect("tar");
    let out = match out.status.success() {
        true => out,
        false => Command::new("tar")
            .arg("-xzOf")
            .arg(tgz)
            .arg("release.MF")
            .output()
            .expect("tar"),
    };
    assert!(out.status.success(), "no release.MF in {}", tgz.display());
    parse_yaml(&String::from_utf8_lossy(&out.stdout)).expect("release.MF is YAML")
}

/// `bosh inspect-local-release --json`: its three tables' rows.
fn inspect(tgz: &Path) -> Vec<Value> {
    let out = bosh(&["inspect-local-release", "--json"], &[tgz]);
    assert!(
        out.status.success(),
        "inspect-local-release: {}",
        said(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("--json output");
    assert_eq!(doc["Lines"], json!(["Succeeded"]), "{doc}");
    let tables = doc["Tables"].as_array().expect("Tables");
    tables.iter().map(|t| t["Rows"].clone()).collect()
}

#[test]
fn the_cli_reads_the_built_release_and_accepts_its_digests() {
    let built = Built::new(0);
    let mf = release_mf(&built.tgz);
    let (job, package) = (&mf["jobs"][0], &mf["packages"][0]);
    let rows = inspect(&built.tgz);
    assert_eq!(rows.len(), 3, "release, jobs, packages: {rows:?}");
    assert_eq!(rows[0][0]["name"], "bosh-lxd-cpi");
    assert_eq!(rows[0][0]["version"], mf["version"]);
    // The CLI marks a release built from a changed work tree with a `+`.
    let dirty = if mf["uncommitted_changes"] == true {
        "+"
    } else {
        ""
    };
    let commit = format!(
        "{}{dirty}",
        mf["commit_hash"].as_str().expect("commit_hash")
    );
    assert_eq!(rows[0][0]["commit_hash"], commit);
    let fingerprint = |r: &Value| format!("lxd_cpi/{}", r["fingerprint"].as_str().expect("fp"));
    assert_eq!(
        rows[1],
        json!([{"job": fingerprint(job), "digest": job["sha1"], "packages": "lxd_cpi"}])
    );
    assert_eq!(
        rows[2],
        json!([{"package": fingerprint(package), "digest": package["sha1"], "dependencies": ""}])
    );

    // sha2ify-release verifies each archive against its digest, then writes a copy whose
    // digests it computed itself: the same sha256 values.
    let copy = built.dir.join("sha2ified.tgz");
    let out = bosh(&["sha2ify-release"], &[&built.tgz, &copy]);
    assert!(out.status.success(), "sha2ify-release: {}", said(&out));
    let again = release_mf(&copy);
    assert_eq!(again["jobs"][0]["sha1"], job["sha1"]);
    assert_eq!(again["packages"][0]["sha1"], package["sha1"]);
}

/// The built tarball unpacked, release.MF edited by `edit`, packed again.
fn tampered(built: &Built, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let tree = built.dir.join(name);
    std::fs::create_dir_all(&tree).expect("tree");
    let tar = |args: &[&str], archive: &Path| {
        let ok = Command::new("tar")
            .args(args)
            .arg(archive)
            .arg("-C")
            .arg(&tree)
            .args(if args[0] == "-czf" {
                &["."][..]
            } else {
                &[][..]
            })
            .status()
            .expect("tar");
        assert!(ok.success(), "tar {args:?}");
    };
    tar(&["-xzf"], &built.tgz);
    let mf = tree.join("release.MF");
    let text = std::fs::read_to_string(&mf).expect("release.MF");
    let changed = edit(text.clone());
    assert_ne!(changed, text, "{name}: the edit changed nothing");
    std::fs::write(&mf, changed).expect("write release.MF");
    let out = built.dir.join(format!("{name}.tgz"));
    tar(&["-czf"], &out);
    out
}

#[test]
fn the_cli_rejects_a_wrong_digest_and_a_job_needing_a_missing_package() {
    let built = Built::new(1);
    let mf = release_mf(&built.tgz);
    let digest = mf["jobs"][0]["sha1"]
        .as_str()
        .expect("job digest")
        .to_owned();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let bad = tampered(&built, "bad-digest", |t| t.replace(&digest, &wrong));
    let out = bosh(&["sha2ify-release"], &[&bad, &built.dir.join("out.tgz")]);
    assert!(
        !out.status.success(),
        "a wrong digest passed: {}",
        said(&out)
    );
    assert!(
        said(&out).contains(&format!("Expected stream to have digest '{wrong}'")),
        "{}",
        said(&out)
    );

    let bad = tampered(&built, "bad-package", |t| {
        t.replacen("  - \"lxd_cpi\"", "  - \"not_here\"", 1)
    });
    let out = bosh(&["inspect-local-release"], &[&bad]);
    assert!(
        !out.status.success(),
        "a missing package passed: {}",
        said(&out)
    );
    assert!(
        said(&out).contains(
            "Expected to find package 'not_here' since it's a dependency of job 'lxd_cpi'"
        ),
        "{}",
        said(&out)
    );
}
