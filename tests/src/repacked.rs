//! The repacked fixture stemcell: the fixture stemcell run through the self-contained
//! `repack-stemcell` of `scripts/build-repack` (the static helper from
//! `scripts/build-helper` and the workspace's overlay built in), as an operator repacks a
//! stock stemcell, and its image imported into a test project.
//!
//! `scripts/test` repacks once per run and passes the tarball in
//! `BOSH_LXD_REPACKED_STEMCELL`; without it the first test that needs the image repacks
//! into the temporary directory ([`repacked_once`]: once per run id, fixture and tool).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::built::{env_file, script_path};
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
    env_file("BOSH_LXD_HELPER_BIN").map_or_else(|| script_path("scripts/build-helper", &[]), Ok)
}

/// The static release `cpi`, built (or found up to date) by `scripts/build-cpi`: what the
/// release's package carries and a director runs.
pub fn build_static_cpi() -> Result<PathBuf> {
    script_path("scripts/build-cpi", &[])
}

/// The self-contained static `repack-stemcell`: `BOSH_LXD_REPACK_BIN` (set by
/// `scripts/test`), else built (or found up to date) by `scripts/build-repack`.
pub fn repack_binary() -> Result<PathBuf> {
    env_file("BOSH_LXD_REPACK_BIN").map_or_else(|| script_path("scripts/build-repack", &[]), Ok)
}

/// Repacks the fixture stemcell to `out` with the helper and overlay built into the tool.
pub fn repack_fixture(out: &Path) -> Result<()> {
    repack(&fixture_stemcell()?, out)
}

/// Repacks the stock stemcell `stock` to `out` with the helper and overlay built into the
/// self-contained tool.
pub fn repack(stock: &Path, out: &Path) -> Result<()> {
    let repack = repack_binary()?;
    let (s, o) = (stock.display().to_string(), out.display().to_string());
    run(&repack.to_string_lossy(), &[&s, &o])?;
    Ok(())
}

/// The repacked fixture stemcell of this run (see the module doc).
pub fn repacked_stemcell() -> Result<PathBuf> {
    if let Some(path) = env_file("BOSH_LXD_REPACKED_STEMCELL") {
        return Ok(path);
    }
    let _lock = lock("repacked-build")?;
    repacked_once(&fixture_stemcell()?)
}

/// `stock` repacked into the temporary directory, once per run id, stock tarball and
/// repack tool: the name carries the stock tarball's (its input hash) and the tool's
/// build time, so a changed fixture or helper is repacked, never an earlier run's reused.
/// The caller holds a lock.
pub fn repacked_once(stock: &Path) -> Result<PathBuf> {
    let tool = repack_binary()?;
    let built = std::fs::metadata(&tool)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the build time of {}", tool.display()))?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stem = stock
        .file_stem()
        .context("stock stemcell without a name")?
        .to_string_lossy();
    let run_id = std::env::var("BOSH_LXD_TEST_RUN_ID").unwrap_or_else(|_| "solo".into());
    let name = format!("bosh-lxd-repacked-{run_id}-{stem}-{built}.tgz");
    let out = std::env::temp_dir().join(name);
    if !out.is_file() {
        repack(stock, &out)?;
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
