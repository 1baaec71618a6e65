//! The self-contained `repack-stemcell` of `scripts/build-repack`: it is statically
//! linked, says which helper it carries, and copied alone into an empty directory it
//! repacks a stemcell with the source tree hidden, adding the helper and every overlay
//! file byte for byte.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::testutil::{self, Listed, gunzip, list, outer_members};
use common::{built_in_binary, norm, overlay_dir, overlay_paths, run, static_helper};
use sha2::{Digest, Sha256};

const HELPER_PATH: &str = bosh_lxd_contract::paths::in_rootfs(bosh_lxd_contract::paths::HELPER);

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `repack-stemcell` writes as `bosh_lxd_helper_version` for `helper`.
fn helper_version(helper: &[u8]) -> String {
    format!(
        "{}+{}",
        env!("CARGO_PKG_VERSION"),
        &sha256_hex(helper)[..12]
    )
}

#[test]
fn it_is_statically_linked() {
    let binary = built_in_binary();
    let out = Command::new("ldd").arg(&binary).output().expect("run ldd");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("not a dynamic executable") || said.contains("statically linked"),
        "ldd {}: {said}",
        binary.display()
    );
}

#[test]
fn its_version_names_itself_and_the_helper_built_in() {
    let out = run(&built_in_binary(), &["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let first = concat!("repack-stemcell ", env!("CARGO_PKG_VERSION"), " (commit ");
    assert!(lines[0].starts_with(first), "{text}");
    let helper = std::fs::read(static_helper()).unwrap();
    let want = format!(
        "helper: bosh-lxd-helper {} built in ({} bytes)",
        helper_version(&helper),
        helper.len()
    );
    assert_eq!(lines[1], want, "{text}");
}

#[test]
fn copied_alone_it_repacks_a_stemcell_with_the_source_tree_hidden() {
    let alone = tempfile::tempdir().unwrap();
    let binary = alone.path().join("repack-stemcell");
    std::fs::copy(built_in_binary(), &binary).unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("in.tgz"), testutil::stemcell()).unwrap();
    // In a mount namespace of its own, a tmpfs hides the whole workspace (sources and
    // target/): nothing of it can be read. Run from the work directory, by relative paths.
    let script = r#"mount -t tmpfs bosh-lxd-hidden "$1" && test ! -e "$1/stemcell-patches" &&
        cd "$2" && exec "$3" in.tgz out.tgz"#;
    let workspace = common::workspace_root();
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c", script, "sh"])
        .args([workspace.as_path(), work.path(), binary.as_path()])
        .output()
        .expect("run unshare (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tgz = std::fs::read(work.path().join("out.tgz")).unwrap();
    let outer = outer_members(&tgz);
    let get = |name: &str| outer.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let image = list(&gunzip(&get("image"))[..]);
    let helper = std::fs::read(static_helper()).unwrap();
    let manifest = String::from_utf8(get("stemcell.MF")).unwrap();
    let line = format!("bosh_lxd_helper_version: {}", helper_version(&helper));
    assert!(manifest.contains(&line), "{line} in {manifest}");
    check_member(&image, HELPER_PATH, Some(&helper), 0o755, None);
    check_overlay(&image, &overlay_dir());
}

/// Every file, link and `.keep` directory of the overlay source `dir` is in `image`, as it is.
fn check_overlay(image: &[Listed], dir: &Path) {
    let mut checked = 0;
    for rel in overlay_paths(dir) {
        if rel == HELPER_PATH {
            continue;
        }
        let source = dir.join(&rel);
        let meta = std::fs::symlink_metadata(&source).unwrap();
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&source).unwrap();
            check_member(image, &rel, None, 0o777, Some(target.to_str().unwrap()));
        } else if meta.is_file() {
            let data = std::fs::read(&source).unwrap();
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            check_member(image, &rel, Some(&data), mode, None);
        } else {
            assert!(image.iter().any(|m| norm(&m.path) == rel), "{rel}/");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} overlay paths");
    assert!(!image.iter().any(|m| norm(&m.path) == "README.md"));
}

/// The last member at `rel` has `data` (if given), `mode` and link target `link`.
fn check_member(image: &[Listed], rel: &str, data: Option<&[u8]>, mode: u32, link: Option<&str>) {
    let member = image
        .iter()
        .rev()
        .find(|m| norm(&m.path) == rel)
        .unwrap_or_else(|| panic!("{rel} is not in the image"));
    if let Some(data) = data {
        assert_eq!(member.sha256, sha256_hex(data), "{rel}: content");
    }
    let header = tar::Header::from_byte_slice(&member.header);
    assert_eq!(header.mode().unwrap(), mode, "{rel}: mode");
    let target = header.link_name_bytes();
    let target = target
        .as_deref()
        .map(|t| String::from_utf8_lossy(t).into_owned());
    assert_eq!(target.as_deref(), link, "{rel}: link target");
}

#[test]
fn a_repack_by_it_is_kept_and_helper_overrides_the_built_in_one() {
    let binary = built_in_binary();
    let work = tempfile::tempdir().unwrap();
    let path = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    std::fs::write(path("in.tgz"), testutil::stemcell()).unwrap();
    let out = run(&binary, &[&path("in.tgz"), &path("once.tgz")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = run(&binary, &[&path("once.tgz"), &path("x.tgz"), "--dry-run"]);
    let listing = String::from_utf8_lossy(&again.stdout);
    assert!(listing.contains("nothing would change"), "{listing}");

    let stand_in = testutil::static_elf(b"another helper");
    std::fs::write(path("helper"), &stand_in).unwrap();
    let args = [
        &path("once.tgz"),
        &path("x.tgz"),
        "--dry-run",
        "--helper",
        &path("helper"),
    ];
    let other = run(&binary, &args);
    let listing = String::from_utf8_lossy(&other.stdout);
    let want = format!("helper {}, repack id", helper_version(&stand_in));
    assert!(listing.contains(&want), "{want} in {listing}");
    assert!(
        listing.contains("replace ./var/vcap/bosh/bin/bosh-lxd-helper"),
        "{listing}"
    );
}
