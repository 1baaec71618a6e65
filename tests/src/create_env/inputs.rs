//! What `bosh create-env` deploys in the tests: the CPI release (`scripts/build-release`),
//! the test release `tests/create-env-release` (built with the real `bosh create-release
//! --tarball`) and two versions of the repacked real-agent stemcell. Built once per run
//! id into the temporary directory, under a lock; `BOSH_LXD_CPI_RELEASE` names a CPI
//! release tarball to use instead of building one.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::agent::real_agent_stemcell;
use crate::built::{env_file, script_path};
use crate::project::lock;
use crate::repacked::repack_binary;
use crate::tools::bosh_cli;
use crate::workspace_root;
use crate::yaml::parse_yaml;

/// The test release's name (its `config/final.yml`) and the version the tests build.
pub const STORER_RELEASE: (&str, &str) = ("bosh-lxd-test-storer", "1");
/// The version of the second repack of the real-agent stemcell (the "stemcell changed" step).
pub const SECOND_STEMCELL_VERSION: &str = "0.2+createenv";

/// The tarballs a create-env test deploys.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The CPI release tarball.
    pub cpi_release: PathBuf,
    /// Its version (from its release.MF).
    pub cpi_version: String,
    /// The test release tarball (`storer` job).
    pub storer_release: PathBuf,
    /// The repacked real-agent stemcell.
    pub stemcell: PathBuf,
    /// The same stock stemcell repacked with [`SECOND_STEMCELL_VERSION`].
    pub stemcell2: PathBuf,
}

/// The run's inputs, built on first use (see the module doc).
pub fn inputs() -> Result<Inputs> {
    let _lock = lock("create-env-inputs")?;
    let run_id = std::env::var("BOSH_LXD_TEST_RUN_ID").unwrap_or_else(|_| "solo".into());
    let dir = std::env::temp_dir().join(format!("bosh-lxd-create-env-inputs-{run_id}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let cpi_release = match env_file("BOSH_LXD_CPI_RELEASE") {
        Some(path) => path,
        None => cpi_release(&dir)?,
    };
    let cpi_version = release_version(&cpi_release)?;
    let stemcell = real_agent_stemcell()?;
    Ok(Inputs {
        cpi_release,
        cpi_version,
        storer_release: storer_release(&dir)?,
        stemcell,
        stemcell2: second_stemcell(&dir)?,
    })
}

/// `scripts/build-release` once per run, moved out of `dev_releases/` into `dir`.
fn cpi_release(dir: &Path) -> Result<PathBuf> {
    let out = dir.join("bosh-lxd-cpi.tgz");
    if out.is_file() {
        return Ok(out);
    }
    let version = format!("0+createenv.{}", std::process::id());
    let built = script_path("scripts/build-release", &[&version])?;
    std::fs::rename(&built, &out)
        .or_else(|_| std::fs::copy(&built, &out).map(|_| ()))
        .with_context(|| format!("moving {} to {}", built.display(), out.display()))?;
    std::fs::remove_file(&built).ok();
    Ok(out)
}

/// `version` of a release tarball's release.MF.
pub fn release_version(tgz: &Path) -> Result<String> {
    let mut text = None;
    for member in ["./release.MF", "release.MF"] {
        let out = Command::new("tar")
            .arg("-xzOf")
            .arg(tgz)
            .arg(member)
            .output()?;
        if out.status.success() {
            text = Some(String::from_utf8_lossy(&out.stdout).into_owned());
            break;
        }
    }
    let text = text.with_context(|| format!("{} has no release.MF", tgz.display()))?;
    let mf = parse_yaml(&text)?;
    mf["version"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no version in the release.MF of {}", tgz.display()))
}

/// The test release, built by the real CLI from a copy of `tests/create-env-release`
/// (create-release wants `packages/` and `src/`, which git does not keep empty).
fn storer_release(dir: &Path) -> Result<PathBuf> {
    let out = dir.join("storer.tgz");
    if out.is_file() {
        return Ok(out);
    }
    let src = dir.join("storer-src");
    if src.exists() {
        std::fs::remove_dir_all(&src)?;
    }
    let copy = Command::new("cp")
        .arg("-r")
        .arg(workspace_root().join("tests/create-env-release"))
        .arg(&src)
        .status()?;
    if !copy.success() {
        bail!("copying tests/create-env-release to {}", src.display());
    }
    std::fs::create_dir_all(src.join("packages"))?;
    std::fs::create_dir_all(src.join("src"))?;
    let (name, version) = STORER_RELEASE;
    let tmp = dir.join("storer.tgz.tmp");
    let mut cmd = Command::new(bosh_cli()?);
    cmd.args([
        "-n",
        "create-release",
        "--force",
        "--name",
        name,
        "--version",
        version,
    ])
    .arg(format!("--tarball={}", tmp.display()))
    .current_dir(&src)
    .env("HOME", dir);
    crate::lxc::run(&mut cmd)?.ok("bosh create-release (tests/create-env-release)")?;
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

/// The stock real-agent stemcell repacked again with [`SECOND_STEMCELL_VERSION`].
fn second_stemcell(dir: &Path) -> Result<PathBuf> {
    let out = dir.join("real-agent-stemcell-2.tgz");
    if out.is_file() {
        return Ok(out);
    }
    let stock = script_path("tests/fixtures/build-stemcell", &["--real-agent"])?;
    let tmp = dir.join("real-agent-stemcell-2.tgz.tmp");
    let mut cmd = Command::new(repack_binary()?);
    cmd.arg(&stock)
        .arg(&tmp)
        .args(["--stemcell-version", SECOND_STEMCELL_VERSION]);
    crate::lxc::run(&mut cmd)?.ok("repack-stemcell --stemcell-version")?;
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}
