//! Build script of `repack-stemcell`: embeds the overlay tree, and the static guest helper
//! when `BOSH_LXD_EMBED_HELPER` names one, so that the binary alone repacks a stemcell.
//!
//! Writes `$OUT_DIR/embedded.rs`: `OVERLAY`, every regular file and symbolic link under
//! `overlay/` (path, execute bit or link target, bytes through `include_bytes!`), sorted
//! by path; `HELPER`, the helper's bytes or `None`; `COMMIT`, `BOSH_LXD_COMMIT` or `None`.
//! Which of these entries become part of a stemcell is decided at run time, by the same
//! rules as for an `--overlay` directory (`src/overlay.rs`).

// A build script talks to cargo on stdout and fails the build by panicking.
#![allow(clippy::print_stdout, clippy::expect_used)]

use std::fmt::Write as _;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The static helper to embed (scripts/build-repack sets it).
const HELPER_VAR: &str = "BOSH_LXD_EMBED_HELPER";
/// The source commit to report in `--version` (scripts/build-repack sets it).
const COMMIT_VAR: &str = "BOSH_LXD_COMMIT";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let overlay = manifest_dir.join("overlay");
    println!("cargo:rerun-if-changed={}", overlay.display());
    println!("cargo:rerun-if-env-changed={HELPER_VAR}");
    println!("cargo:rerun-if-env-changed={COMMIT_VAR}");

    let mut entries = Vec::new();
    walk(&overlay, "", &mut entries);
    entries.sort();
    let mut code = String::from("/// The overlay tree at build time, sorted by path.\n");
    code.push_str("pub static OVERLAY: &[Raw] = &[\n");
    for (rel, line) in &entries {
        writeln!(code, "    Raw {{ path: {rel:?}, kind: {line} }},").expect("to a String");
    }
    code.push_str("];\n");

    let helper = env(HELPER_VAR).filter(|v| !v.is_empty()).map(|p| {
        let path = fs::canonicalize(&p).unwrap_or_else(|e| {
            panic!("{HELPER_VAR}={p}: {e}; build the static helper with scripts/build-helper")
        });
        assert!(path.is_file(), "{HELPER_VAR}={p} is not a file");
        println!("cargo:rerun-if-changed={}", path.display());
        format!(
            "Some(include_bytes!({:?}))",
            path.to_str().expect("UTF-8 path")
        )
    });
    let helper = helper.unwrap_or_else(|| "None".into());
    writeln!(code, "/// The static guest helper built in, if any.").expect("to a String");
    writeln!(code, "pub static HELPER: Option<&[u8]> = {helper};").expect("to a String");
    let commit = env(COMMIT_VAR).filter(|v| !v.is_empty());
    writeln!(code, "/// The source commit, if the build was told it.").expect("to a String");
    writeln!(code, "pub static COMMIT: Option<&str> = {commit:?};").expect("to a String");

    let out = PathBuf::from(env("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Collects `(relative path, Rust expression of its RawKind)` for the tree under `root/rel`.
fn walk(root: &Path, rel: &str, out: &mut Vec<(String, String)>) {
    let dir = root.join(rel);
    let listing = fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for item in listing {
        let item = item.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        let path = item.path();
        let name = item.file_name();
        let name = name
            .to_str()
            .unwrap_or_else(|| panic!("overlay file name {} is not UTF-8", path.display()));
        let child = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let meta =
            fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let kind = if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            format!("RawKind::Symlink(&{:?})", target.as_os_str().as_bytes())
        } else if meta.is_dir() {
            walk(root, &child, out);
            continue;
        } else if meta.is_file() {
            let exec = meta.permissions().mode() & 0o111 != 0;
            let abs = path.to_str().expect("UTF-8 path");
            format!("RawKind::File {{ exec: {exec}, bytes: include_bytes!({abs:?}) }}")
        } else {
            panic!(
                "overlay entry {} is neither a file, a directory nor a symlink",
                path.display()
            );
        };
        out.push((child, kind));
    }
}
