//! `build-release verify` on tampered tarballs: each is refused, non-zero, with an error
//! naming the job or package at fault. The tampering repacks with GNU tar as the bosh
//! CLI does, and a repack without changes still passes, so each failure has its cause.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Scratch, Unpacked, text, verify};

/// A good release, unpacked for tampering.
fn unpacked() -> (Scratch, Unpacked) {
    let s = Scratch::new();
    let tarball = s.build_ok("good.tgz", &[]);
    let u = Unpacked::new(&s, &tarball);
    (s, u)
}

/// Repacks and verifies; asserts failure and returns stderr.
fn refused(s: &Scratch, u: &Unpacked) -> String {
    let bad: PathBuf = s.path("bad.tgz");
    u.repack(&bad);
    let o = verify(&bad);
    let err = text(&o.stderr);
    assert!(
        !o.status.success(),
        "verify passed a bad tarball:\n{}",
        text(&o.stdout)
    );
    assert!(err.contains("problem(s) found"), "{err}");
    err
}

#[test]
fn a_gnu_tar_repack_without_changes_still_passes() {
    let (s, u) = unpacked();
    u.edit_inner(&s, "jobs/lxd_cpi.tgz", |_| {});
    u.edit_inner(&s, "packages/lxd_cpi.tgz", |_| {});
    let repacked = s.path("repacked.tgz");
    u.repack(&repacked);
    let o = verify(&repacked);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn a_job_missing_a_template_is_refused_naming_the_job_and_template() {
    let (s, u) = unpacked();
    u.edit_inner(&s, "jobs/lxd_cpi.tgz", |dir: &Path| {
        fs::remove_file(dir.join("templates/cpi.erb")).unwrap();
    });
    let err = refused(&s, &u);
    assert!(
        err.contains("job lxd_cpi: template `cpi.erb` (job.MF templates) is missing"),
        "{err}"
    );
    assert!(
        !err.contains("cpi.json.erb"),
        "that template is present: {err}"
    );
}

#[test]
fn a_job_whose_job_mf_name_differs_is_refused_naming_both() {
    let (s, u) = unpacked();
    u.edit_inner(&s, "jobs/lxd_cpi.tgz", |dir: &Path| {
        let mf = dir.join("job.MF");
        let spec = fs::read_to_string(&mf).unwrap();
        assert!(spec.contains("\nname: lxd_cpi\n"));
        fs::write(
            &mf,
            spec.replace("\nname: lxd_cpi\n", "\nname: other_cpi\n"),
        )
        .unwrap();
    });
    let err = refused(&s, &u);
    assert!(
        err.contains("job lxd_cpi: job.MF is named `other_cpi`, release.MF says `lxd_cpi`"),
        "{err}"
    );
}

#[test]
fn a_package_without_packaging_is_refused() {
    let (s, u) = unpacked();
    u.edit_inner(&s, "packages/lxd_cpi.tgz", |dir: &Path| {
        fs::remove_file(dir.join("packaging")).unwrap();
    });
    let err = refused(&s, &u);
    assert!(
        err.contains("package lxd_cpi: packages/lxd_cpi.tgz has no packaging script"),
        "{err}"
    );
}

#[test]
fn a_job_without_monit_is_refused() {
    let (s, u) = unpacked();
    u.edit_inner(&s, "jobs/lxd_cpi.tgz", |dir: &Path| {
        fs::remove_file(dir.join("monit")).unwrap();
    });
    assert!(refused(&s, &u).contains("job lxd_cpi: no monit file"));
}

// A wrong digest and a job needing a package that is not in the release are the bosh
// CLI's to refuse (tests/tests/release_cli.rs); a dependency cycle is ours.
#[test]
fn a_dependency_cycle_is_refused() {
    let (s, u) = unpacked();
    let mf = u.release_mf();
    let mf = mf.replace("  dependencies: []", "  dependencies:\n  - \"lxd_cpi\"");
    u.set_release_mf(&mf);
    let err = refused(&s, &u);
    assert!(
        err.contains("package lxd_cpi: dependency cycle: lxd_cpi -> lxd_cpi"),
        "{err}"
    );
}

#[test]
fn a_listed_archive_that_is_absent_and_a_bad_version_are_refused() {
    let (s, u) = unpacked();
    fs::remove_file(u.outer.join("jobs/lxd_cpi.tgz")).unwrap();
    u.set_release_mf(
        &u.release_mf()
            .replace("version: \"0+dev.1\"", "version: \"0+\""),
    );
    let err = refused(&s, &u);
    assert!(
        err.contains("job lxd_cpi: jobs/lxd_cpi.tgz is not in the tarball"),
        "{err}"
    );
    assert!(err.contains("release.MF: version `0+`"), "{err}");
}

#[test]
fn a_file_that_is_not_a_tarball_is_refused() {
    let s = Scratch::new();
    let path = s.path("junk.tgz");
    fs::write(&path, b"not a tarball").unwrap();
    let o = verify(&path);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("release tarball:"),
        "{}",
        text(&o.stderr)
    );
}
