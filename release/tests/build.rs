//! `build-release build` on the real jobs/ and packages/ with a fake CPI: the tarball
//! verifies, GNU tar reads every archive, two builds are identical, the job archive
//! holds the spec files, the package's own `packaging` script installs the CPI, and an
//! existing output is refused.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{FAKE_CPI, Scratch, list, source_tree, text, verify};

#[test]
fn a_release_built_from_the_source_tree_verifies() {
    let s = Scratch::new();
    let tarball = s.build_ok("r.tgz", &[]);
    let o = verify(&tarball);
    assert!(o.status.success(), "verify failed: {}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("release bosh-lxd-cpi/0+dev.1 passes"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn gnu_tar_lists_the_outer_archive_and_every_inner_archive() {
    let s = Scratch::new();
    let tarball = s.build_ok("r.tgz", &[]);
    let outer = list(&tarball);
    assert!(outer.contains(&"release.MF".to_string()), "{outer:?}");
    assert!(outer.iter().all(|n| !n.starts_with("./")), "{outer:?}");
    let inner: Vec<&String> = outer.iter().filter(|n| n.ends_with(".tgz")).collect();
    assert_eq!(inner, ["jobs/lxd_cpi.tgz", "packages/lxd_cpi.tgz"]);
    let dir = s.unpack(&tarball, "outer");
    assert_eq!(
        list(&dir.join("jobs/lxd_cpi.tgz")),
        [
            "./",
            "./job.MF",
            "./monit",
            "./templates/",
            "./templates/cpi.erb",
            "./templates/cpi.json.erb"
        ]
    );
    assert_eq!(
        list(&dir.join("packages/lxd_cpi.tgz")),
        ["./", "./lxd_cpi/", "./lxd_cpi/cpi", "./packaging"]
    );
}

#[test]
fn entries_are_owned_by_root_with_normalised_modes() {
    let s = Scratch::new();
    let tarball = s.build_ok("r.tgz", &[]);
    let dir = s.unpack(&tarball, "outer");
    let verbose = |archive: &str| {
        common::gnu_tar(&[
            "-tvzf",
            dir.join(archive).to_str().unwrap(),
            "--numeric-owner",
        ])
    };
    let package = verbose("packages/lxd_cpi.tgz");
    let cpi = package
        .lines()
        .find(|l| l.ends_with(" ./lxd_cpi/cpi"))
        .unwrap();
    // The fake CPI is 0644 on disk: the build makes it executable.
    assert!(cpi.starts_with("-rwxr-xr-x 0/0 "), "{package}");
    let packaging = package
        .lines()
        .find(|l| l.ends_with(" ./packaging"))
        .unwrap();
    assert!(packaging.starts_with("-rw-r--r-- 0/0 "), "{package}");
    for line in verbose("jobs/lxd_cpi.tgz").lines() {
        let want = if line.starts_with('d') {
            "drwxr-xr-x 0/0 "
        } else {
            "-rw-r--r-- 0/0 "
        };
        assert!(line.starts_with(want), "{line}");
        assert!(line.contains(" 1970-01-01 00:00 "), "fixed mtime: {line}");
    }
}

#[test]
fn building_twice_gives_identical_bytes() {
    let s = Scratch::new();
    let a = s.build_ok("a.tgz", &["--version", "7", "--commit-hash", "abc1234"]);
    let b = s.build_ok("b.tgz", &["--version", "7", "--commit-hash", "abc1234"]);
    assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
}

#[test]
fn release_mf_carries_the_options_and_the_inner_digests() {
    let s = Scratch::new();
    let args = [
        "--name",
        "my-cpi",
        "--version",
        "1.10",
        "--commit-hash",
        "abc1234",
        "--uncommitted-changes",
    ];
    let tarball = s.build_ok("r.tgz", &args);
    let dir = s.unpack(&tarball, "outer");
    let mf = fs::read_to_string(dir.join("release.MF")).unwrap();
    for line in [
        "name: \"my-cpi\"",
        "version: \"1.10\"",
        "commit_hash: \"abc1234\"",
        "uncommitted_changes: true",
        "no_compression: false",
        "  dependencies: []",
    ] {
        assert!(mf.lines().any(|l| l == line), "no `{line}` in\n{mf}");
    }
    for inner in ["jobs/lxd_cpi.tgz", "packages/lxd_cpi.tgz"] {
        let digest = common::sha256_hex(&fs::read(dir.join(inner)).unwrap());
        assert!(
            mf.contains(&format!("sha1: \"sha256:{digest}\"")),
            "{inner}\n{mf}"
        );
    }
}

#[test]
fn the_job_archive_holds_the_spec_monit_and_templates() {
    let s = Scratch::new();
    let tarball = s.build_ok("r.tgz", &[]);
    let outer = s.unpack(&tarball, "outer");
    let job = s.unpack(&outer.join("jobs/lxd_cpi.tgz"), "job");
    let src = source_tree().join("jobs/lxd_cpi");
    for (inside, source) in [
        ("job.MF", "spec"),
        ("monit", "monit"),
        ("templates/cpi.erb", "templates/cpi.erb"),
        ("templates/cpi.json.erb", "templates/cpi.json.erb"),
    ] {
        assert_eq!(
            fs::read(job.join(inside)).unwrap(),
            fs::read(src.join(source)).unwrap(),
            "{inside}"
        );
    }
}

#[test]
fn the_packaging_script_installs_the_cpi() {
    let s = Scratch::new();
    let tarball = s.build_ok("r.tgz", &[]);
    let outer = s.unpack(&tarball, "outer");
    let compile = s.unpack(&outer.join("packages/lxd_cpi.tgz"), "compile");
    let install = s.path("install");
    fs::create_dir(&install).unwrap();
    let o = Command::new("bash")
        .arg("-x")
        .arg("packaging")
        .current_dir(&compile)
        .env("BOSH_COMPILE_TARGET", &compile)
        .env("BOSH_INSTALL_TARGET", &install)
        .env("BOSH_PACKAGE_NAME", "lxd_cpi")
        .output()
        .unwrap();
    assert!(o.status.success(), "packaging failed: {}", text(&o.stderr));
    let bin = install.join("bin/cpi");
    assert_eq!(fs::read(&bin).unwrap(), FAKE_CPI);
    let mode = fs::metadata(&bin).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "bin/cpi mode {mode:o}");
    let run = Command::new(&bin).arg("info").output().unwrap();
    assert_eq!(text(&run.stdout), "fake-cpi info\n");
}

#[test]
fn an_existing_out_is_refused_and_nothing_is_left_behind() {
    let s = Scratch::new();
    let out_dir = s.path("out");
    fs::create_dir(&out_dir).unwrap();
    fs::write(out_dir.join("r.tgz"), b"keep me").unwrap();
    let o = s.build("out/r.tgz", &[]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("exists"), "{}", text(&o.stderr));
    assert_eq!(fs::read(out_dir.join("r.tgz")).unwrap(), b"keep me");
    let names: Vec<_> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["r.tgz"]);
}

#[test]
fn a_failed_build_leaves_nothing_behind() {
    let s = Scratch::new();
    let out_dir = s.path("out");
    fs::create_dir(&out_dir).unwrap();
    let o = s.build("out/r.tgz", &["--version", "not a version"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("version"), "{}", text(&o.stderr));
    assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 0);
}

/// A release directory copied from the source tree, to change one file.
fn copied_tree(s: &Scratch) -> std::path::PathBuf {
    let dir = s.path("tree");
    for sub in ["jobs", "packages"] {
        common::gnu_tar(&[
            "-C",
            source_tree().to_str().unwrap(),
            "-cf",
            s.path(&format!("{sub}.tar")).to_str().unwrap(),
            sub,
        ]);
        fs::create_dir_all(&dir).unwrap();
        common::gnu_tar(&[
            "-C",
            dir.to_str().unwrap(),
            "-xf",
            s.path(&format!("{sub}.tar")).to_str().unwrap(),
        ]);
    }
    dir
}

/// The `fingerprint:` lines of a release's manifest: job first, then package.
fn fingerprints(s: &Scratch, tarball: &std::path::Path, name: &str) -> Vec<String> {
    let dir = s.unpack(tarball, name);
    fs::read_to_string(dir.join("release.MF"))
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("fingerprint:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_template_change_changes_the_job_fingerprint_only() {
    let s = Scratch::new();
    let tree = copied_tree(&s);
    let tree_arg = tree.to_str().unwrap();
    let before = s.build_ok("before.tgz", &["--release-dir", tree_arg]);
    let erb = tree.join("jobs/lxd_cpi/templates/cpi.erb");
    let mut content = fs::read(&erb).unwrap();
    content.extend_from_slice(b"# changed\n");
    fs::write(&erb, content).unwrap();
    let after = s.build_ok("after.tgz", &["--release-dir", tree_arg]);
    let (b, a) = (
        fingerprints(&s, &before, "b"),
        fingerprints(&s, &after, "a"),
    );
    assert_eq!(b.len(), 2);
    assert_ne!(b[0], a[0], "the job fingerprint must change");
    assert_eq!(b[1], a[1], "the package fingerprint must not");
}

#[test]
fn a_cpi_no_package_lists_is_refused() {
    let s = Scratch::new();
    let tree = copied_tree(&s);
    let spec = tree.join("packages/lxd_cpi/spec");
    let text_before = fs::read_to_string(&spec).unwrap();
    fs::write(&spec, text_before.replace("- lxd_cpi/cpi", "- other/cpi")).unwrap();
    let o = s.build("r.tgz", &["--release-dir", tree.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("package lxd_cpi") && err.contains("other/cpi"),
        "{err}"
    );
    assert!(!s.path("r.tgz").exists());
}
