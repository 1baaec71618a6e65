//! Shared by the integration tests: the built binaries, the fixture stemcell, the overlay's
//! paths, and (through `#[path]`) the synthetic stemcells of `src/testutil.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../src/testutil.rs"]
pub mod testutil;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The overlay of this source tree.
pub fn overlay_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("overlay")
}

/// The debug binary cargo built for these tests.
pub fn debug_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_repack-stemcell"))
}

/// The release binary, built on demand: repacking the fixture in a debug build takes
/// ten times as long (the deflate code is not optimised).
pub fn release_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--release", "--locked", "-p", "repack-stemcell"])
        .args(["--message-format", "json-render-diagnostics"])
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build --release -p repack-stemcell failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(artifact_executable)
        .next_back()
        .expect("cargo reported no repack-stemcell executable")
}

/// The `executable` of a cargo `compiler-artifact` message for repack-stemcell, if any.
fn artifact_executable(line: &str) -> Option<PathBuf> {
    // A JSON parser is not a dependency of this crate; the field is easy to pick out.
    if !line.contains("\"reason\":\"compiler-artifact\"") || !line.contains("repack-stemcell") {
        return None;
    }
    let rest = line.split("\"executable\":\"").nth(1)?;
    let path = rest.split('"').next()?;
    Some(PathBuf::from(path))
}

/// The self-contained static `repack-stemcell` (helper and overlay built in):
/// `BOSH_LXD_REPACK_BIN` (set by `scripts/test` through `repack_fixture`), else built (or
/// found up to date) by `scripts/build-repack`.
pub fn built_in_binary() -> PathBuf {
    from_env_or_script("BOSH_LXD_REPACK_BIN", "scripts/build-repack")
}

/// The static guest helper: `BOSH_LXD_HELPER_BIN` (set by `scripts/test`), else built (or
/// found up to date) by `scripts/build-helper`, which is what `scripts/build-repack` builds in.
pub fn static_helper() -> PathBuf {
    from_env_or_script("BOSH_LXD_HELPER_BIN", "scripts/build-helper")
}

/// The file named by `var`, else the path `script` prints on its last line.
fn from_env_or_script(var: &str, script: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var)
        && Path::new(&p).is_file()
    {
        return PathBuf::from(p);
    }
    let out = Command::new(workspace_root().join(script))
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{var} is not set and {script} failed (run it to see why, then set {var} to the \
         path it prints):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(text.lines().last().expect("a path").trim())
}

/// The fixture stemcell: `BOSH_LXD_FIXTURE_STEMCELL`, else built (or found in the cache)
/// by `tests/fixtures/build-stemcell`, which needs root the first time.
pub fn fixture_stemcell() -> PathBuf {
    if let Ok(p) = std::env::var("BOSH_LXD_FIXTURE_STEMCELL")
        && Path::new(&p).is_file()
    {
        return PathBuf::from(p);
    }
    let script = workspace_root().join("tests/fixtures/build-stemcell");
    let out = Command::new(&script).output().expect("run build-stemcell");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(text.lines().last().expect("a path").trim())
}

/// Runs `binary ARGS...`.
pub fn run(binary: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .output()
        .expect("run repack-stemcell")
}

/// Relative paths (no `./`) the overlay at `dir` plus the helper put into an image,
/// parents included: read independently of the tool's own overlay code.
pub fn overlay_paths(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, rel: &str, out: &mut BTreeSet<String>) {
        for item in std::fs::read_dir(root.join(rel)).unwrap() {
            let item = item.unwrap();
            let name = item.file_name().into_string().unwrap();
            if rel.is_empty() && name == "README.md" {
                continue;
            }
            if name == ".keep" {
                out.insert(rel.to_string());
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if item.file_type().unwrap().is_dir() {
                walk(root, &child, out);
            } else {
                out.insert(child);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, "", &mut out);
    out.insert(bosh_lxd_contract::paths::in_rootfs(bosh_lxd_contract::paths::HELPER).into());
    let parents: Vec<String> = out
        .iter()
        .flat_map(|p| {
            p.match_indices('/')
                .map(|(i, _)| p[..i].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    out.extend(parents);
    out
}

/// A member path without its leading `./` or trailing `/`.
pub fn norm(path: &str) -> &str {
    path.trim_start_matches("./").trim_end_matches('/')
}
