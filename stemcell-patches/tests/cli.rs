//! The command line: the dry-run listing, quiet success, failures on stderr with status 1.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::testutil;
use common::{debug_binary, run};

struct Setup {
    tmp: tempfile::TempDir,
    overlay: String,
    helper: String,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let (overlay, helper) = testutil::overlay_tree(tmp.path());
    std::fs::write(tmp.path().join("in.tgz"), testutil::stemcell()).unwrap();
    Setup {
        overlay: overlay.to_str().unwrap().into(),
        helper: helper.to_str().unwrap().into(),
        tmp,
    }
}

impl Setup {
    fn path(&self, name: &str) -> String {
        self.tmp.path().join(name).to_str().unwrap().into()
    }

    fn repack(&self, input: &str, output: &str, extra: &[&str]) -> std::process::Output {
        let (i, o) = (self.path(input), self.path(output));
        let mut args = vec![
            i.as_str(),
            o.as_str(),
            "--overlay",
            &self.overlay,
            "--helper",
            &self.helper,
        ];
        args.extend(extra);
        run(&debug_binary(), &args)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_dry_run_lists_the_changes_and_writes_nothing() {
    let s = setup();
    let out = s.repack("in.tgz", "out.tgz", &["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for want in [
        "version: 1.10 -> 1.10-lxd.",
        "stemcell_formats: [warden-tar] -> [warden-tar, general-tar]",
        "cloud_properties.bosh_lxd_helper_version: (none) -> ",
        "replace ./etc/sv/monit/run",
        "replace ./var/vcap/bosh/bin/monit",
        "keep    ./var/vcap/bosh/ (directory already there)",
        "add     ./var/vcap/bosh/bin/bosh-lxd-helper",
        "add     ./warden-cpi-dev/",
    ] {
        assert!(listing.contains(want), "missing {want:?} in:\n{listing}");
    }
    assert!(!Path::new(&s.path("out.tgz")).exists());
}

#[test]
fn a_repack_is_quiet_off_a_terminal_and_its_dry_run_says_nothing_would_change() {
    let s = setup();
    let out = s.repack("in.tgz", "out.tgz", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );
    let again = s.repack("out.tgz", "again.tgz", &["--dry-run"]);
    let listing = text(&again.stdout);
    assert!(listing.contains("nothing would change"), "{listing}");
    assert!(listing.contains("stemcell.MF:\n  unchanged\n"), "{listing}");
}

#[test]
fn a_monit_binary_is_listed_as_kept_and_a_second_monit_refused() {
    let s = setup();
    let binary = testutil::stemcell_with_monit(testutil::StockMonit::Binary);
    std::fs::write(s.path("binary.tgz"), binary).unwrap();
    let out = s.repack("binary.tgz", "out.tgz", &["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for want in [
        "rename  ./var/vcap/bosh/bin/monit -> ./var/vcap/bosh/bin/monit-actual",
        "add     ./var/vcap/bosh/bin/monit\n",
    ] {
        assert!(listing.contains(want), "missing {want:?} in:\n{listing}");
    }
    let both = testutil::stemcell_with_monit(testutil::StockMonit::BinaryThenActual);
    std::fs::write(s.path("both.tgz"), both).unwrap();
    let out = s.repack("both.tgz", "out.tgz", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("will not guess which one is monit"), "{err}");
    assert!(!Path::new(&s.path("out.tgz")).exists());
}

#[test]
fn failures_go_to_stderr_with_status_1_and_name_the_file() {
    let s = setup();
    std::fs::write(
        s.path("empty.tgz"),
        testutil::stemcell_tgz(&[("packages.txt", b"x")]),
    )
    .unwrap();
    let out = s.repack("empty.tgz", "out.tgz", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("repack-stemcell: "), "{err}");
    assert!(err.contains("empty.tgz is not a stemcell"), "{err}");
    assert!(!Path::new(&s.path("out.tgz")).exists());
}

#[test]
fn without_a_helper_it_says_how_to_get_one() {
    let s = setup();
    // Alone in a directory: no bosh-lxd-helper beside it (a debug build has none built in).
    let alone = s.path("alone");
    std::fs::create_dir(&alone).unwrap();
    let binary = Path::new(&alone).join("repack-stemcell");
    std::fs::copy(debug_binary(), &binary).unwrap();
    let (i, o) = (s.path("in.tgz"), s.path("out.tgz"));
    let out = run(&binary, &[&i, &o]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for want in [
        "has no helper built in",
        "--helper",
        "scripts/build-helper",
        "scripts/build-repack",
        "scripts/dist",
    ] {
        assert!(err.contains(want), "{want:?} in {err}");
    }
    assert!(!Path::new(&o).exists());
}

#[test]
fn the_help_names_every_option() {
    let out = run(&debug_binary(), &["--help"]);
    let help = text(&out.stdout);
    for flag in [
        "--helper",
        "--overlay",
        "--name",
        "--stemcell-version",
        "--dry-run",
        "-V, --version",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}

#[test]
fn the_stemcell_version_is_set_with_stemcell_version() {
    let s = setup();
    let out = s.repack(
        "in.tgz",
        "out.tgz",
        &["--stemcell-version", "9.9", "--dry-run"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(listing.contains("version: 1.10 -> 9.9\n"), "{listing}");
}

#[test]
fn the_old_version_spelling_is_refused_naming_the_new_one() {
    let s = setup();
    for old in [&["--version", "9.9"][..], &["--version=9.9"]] {
        let out = s.repack("in.tgz", "out.tgz", old);
        assert_eq!(out.status.code(), Some(2), "{old:?}");
        let err = text(&out.stderr);
        assert!(err.contains("`--stemcell-version 9.9`"), "{old:?}: {err}");
        assert!(!Path::new(&s.path("out.tgz")).exists());
    }
}

#[test]
fn version_prints_this_program_and_what_is_built_in() {
    for flag in ["-V", "--version"] {
        let out = run(&debug_binary(), &[flag]);
        assert!(out.status.success(), "{flag}: {}", text(&out.stderr));
        let version = text(&out.stdout);
        let lines: Vec<&str> = version.lines().collect();
        assert!(
            lines[0].starts_with(concat!("repack-stemcell ", env!("CARGO_PKG_VERSION"))),
            "{version}"
        );
        // a plain cargo build carries the overlay but no helper
        assert!(lines[1].starts_with("helper: none built in"), "{version}");
        assert!(lines[1].contains("scripts/build-repack"), "{version}");
        assert!(lines[2].starts_with("overlay: built in ("), "{version}");
    }
}

#[test]
fn bad_input_is_named_with_what_to_do() {
    let s = setup();
    std::fs::write(s.path("exists.tgz"), b"").unwrap();
    let (i, missing) = (s.path("in.tgz"), s.path("missing.tgz"));
    let cases: [(&[&str], i32, &[&str]); 6] = [
        (
            &[&i, "out.tgz", "--bogus"],
            2,
            &["unexpected argument '--bogus'"],
        ),
        (&[], 2, &["<INPUT>", "<OUTPUT>"]),
        (
            &[&missing, "out.tgz", "--helper", &s.helper],
            1,
            &[
                "stemcell ",
                "missing.tgz does not exist",
                "stock warden stemcell",
            ],
        ),
        (
            &[&i, &s.path("exists.tgz"), "--helper", &s.helper],
            1,
            &["exists.tgz already exists: remove it or choose another path"],
        ),
        (
            &[&i, &s.path("out.tgz"), "--helper", &s.path("nohelper")],
            1,
            &["helper ", "nohelper: No such file", "scripts/build-helper"],
        ),
        (
            &[
                &i,
                &s.path("out.tgz"),
                "--helper",
                &s.helper,
                "--overlay",
                &missing,
            ],
            1,
            &[
                "overlay ",
                "missing.tgz: No such file",
                "leave --overlay out",
            ],
        ),
    ];
    for (args, code, wants) in cases {
        let out = run(&debug_binary(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let err = text(&out.stderr);
        for want in wants {
            assert!(err.contains(want), "{args:?}: {want:?} in {err}");
        }
        assert!(!Path::new(&s.path("out.tgz")).exists(), "{args:?}");
    }
}
