//! The repacked fixture stemcell: the fixture stemcell run through `repack-stemcell` with
//! the static helper from `scripts/build-helper` and the workspace's overlay, as an
//! operator repacks a stock stemcell, and its image imported into a test project.
//!
//! `scripts/test` repacks once per run and passes the tarball in
//! `BOSH_LXD_REPACKED_STEMCELL`; without it the first test that needs the image repacks
//! into the temporary directory, once per run id.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::project::{Project, fixture_stemcell, import_split_image, lock};
use crate::workspace_root;

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("bosh-lxd-repacked-{}", &id[..12]));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {e}", self.0.display());
        }
    }
}

/// Runs a command in the workspace root; its stdout, or an error with everything it printed.
fn run(program: &str, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(workspace_root());
    crate::lxc::run(&mut cmd)?.ok(&format!("{program} {}", args.join(" ")))
}

/// The static helper, built (or found up to date) by `scripts/build-helper`.
pub fn build_helper() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("BOSH_LXD_HELPER_BIN")
        && Path::new(&p).is_file()
    {
        return Ok(PathBuf::from(p));
    }
    let out = run("scripts/build-helper", &[])?;
    let last = out.lines().last().context("build-helper printed nothing")?;
    Ok(PathBuf::from(last.trim()))
}

/// The static release `cpi`, built (or found up to date) by `scripts/build-cpi`: what the
/// release's package carries and a director runs.
pub fn build_static_cpi() -> Result<PathBuf> {
    let out = run("scripts/build-cpi", &[])?;
    let last = out.lines().last().context("build-cpi printed nothing")?;
    Ok(PathBuf::from(last.trim()))
}

/// The release `repack-stemcell`, built on demand (a debug build deflates ten times slower).
pub fn repack_binary() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = run(
        &cargo,
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "repack-stemcell",
            "--message-format",
            "json-render-diagnostics",
        ],
    )?;
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "repack-stemcell")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo reported no repack-stemcell executable")
}

/// Repacks the fixture stemcell to `out` with the built helper and the workspace overlay.
pub fn repack_fixture(out: &Path) -> Result<()> {
    repack(&fixture_stemcell()?, out)
}

/// Repacks the stock stemcell `stock` to `out` with the built helper and the overlay.
pub fn repack(stock: &Path, out: &Path) -> Result<()> {
    let (helper, repack) = (build_helper()?, repack_binary()?);
    let (s, o, h) = (stock.display(), out.display(), helper.display());
    run(
        &repack.to_string_lossy(),
        &[&s.to_string(), &o.to_string(), "--helper", &h.to_string()],
    )?;
    Ok(())
}

/// The repacked fixture stemcell of this run (see the module doc).
pub fn repacked_stemcell() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("BOSH_LXD_REPACKED_STEMCELL")
        && Path::new(&p).is_file()
    {
        return Ok(PathBuf::from(p));
    }
    let _lock = lock("repacked-build")?;
    let run_id = std::env::var("BOSH_LXD_TEST_RUN_ID").unwrap_or_else(|_| "solo".into());
    let out = std::env::temp_dir().join(format!("bosh-lxd-repacked-{run_id}.tgz"));
    if !out.is_file() {
        repack_fixture(&out)?;
    }
    Ok(out)
}

/// Imports the image of the repacked stemcell at `stemcell` into `project` as a split
/// image, once; returns its alias `fixture-repacked-<repack id>` (so another helper or
/// overlay gets another image).
pub fn import_repacked(project: &Project, stemcell: &Path) -> Result<String> {
    let _lock = lock(&format!("image-repacked-{}", project.name()))?;
    let dir = Scratch::new()?;
    let (d, s) = (dir.path().to_string_lossy(), stemcell.to_string_lossy());
    run("tar", &["-xzf", &s, "-C", &d, "stemcell.MF"])?;
    let manifest = std::fs::read_to_string(dir.path().join("stemcell.MF"))?;
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version: "))
        .context("no version in the repacked stemcell.MF")?;
    let id = version
        .trim_matches(|c| c == '\'' || c == '"')
        .rsplit_once("-lxd.")
        .map(|(_, id)| id.to_string())
        .with_context(|| format!("the repacked version {version} has no -lxd.<id> suffix"))?;
    let alias = format!("fixture-repacked-{id}");
    if project.lxc(&["image", "show", &alias])?.success() {
        return Ok(alias);
    }
    run("tar", &["-xzf", &s, "-C", &d, "image"])?;
    import_split_image(project, &dir.path().join("image"), &alias)?;
    Ok(alias)
}

/// The repacked fixture image in `project` (repacking when needed); its alias.
pub fn repacked_image(project: &Project) -> Result<String> {
    import_repacked(project, &repacked_stemcell()?)
}
