//! `cpi doctor` against the real daemon (LXD, or Incus with `BOSH_LXD_DAEMON=incus`): a
//! good set-up over the unix socket and over HTTPS passes every check with exit 0 and
//! changes nothing; each broken set-up (missing project, profile, network, pool, a
//! network that is no bridge, a socket that does not exist, an unreadable config, a config
//! missing a field, a wrong server pin, an untrusted certificate) exits 1 with the FAIL
//! line naming the thing; an unrestricted certificate, a dir pool and a project without
//! its own images are warnings.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed step stops the test with its message

use bosh_lxd_tests::doctor::{DoctorRun, daemon_state, doctor, unix_lxd_section};
use bosh_lxd_tests::https::{
    ClientCert, ConfiguredCpi, ExtraProject, Trust, config_json, https_listener, https_lxd_section,
};
use bosh_lxd_tests::{Project, daemon};
use serde_json::{Value, json};

/// A fresh id for names that concurrent tests must not share.
fn id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// A config file with this `lxd` section (removed on drop).
fn config(lxd: Value) -> ConfiguredCpi {
    ConfiguredCpi::new(lxd).expect("config file")
}

/// Exit 0, no FAIL line, and an `ok` line for each of `subjects`.
fn assert_passes(run: &DoctorRun, subjects: &[&str]) {
    eprintln!("{run}");
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.failures().is_empty(), "{run}");
    for subject in subjects {
        let line = run.line(subject).unwrap_or_default();
        assert!(line.starts_with("ok   "), "{subject}: {run}");
    }
}

/// Exit 1 and a FAIL line for `subject` holding every one of `texts`.
fn assert_fails(case: &str, run: &DoctorRun, subject: &str, texts: &[&str]) {
    assert_eq!(run.code, Some(1), "case {case}: {run}");
    let line = run.line(subject).unwrap_or_default();
    assert!(line.starts_with("FAIL "), "case {case}: {subject}: {run}");
    for text in texts {
        assert!(line.contains(text), "case {case}: {text:?} in {line}");
    }
}

#[test]
fn a_good_set_up_passes_every_check_and_nothing_changes() {
    let run_project = Project::for_run().expect("test project");
    // Another test may turn on the HTTPS listener (a server setting) at any time: do it first.
    https_listener().expect("HTTPS listener");
    let project = ExtraProject::create(&run_project, &format!("doctor-{}", id())).expect("project");
    let cfg = config(unix_lxd_section(project.name()));
    let before = daemon_state(project.name()).expect("state before");
    let run = doctor(&cfg.config).expect("cpi doctor");
    let after = daemon_state(project.name()).expect("state after");
    assert_passes(
        &run,
        &[
            "config",
            "daemon",
            "server",
            "project",
            "profile",
            "network",
            "storage pool",
            "lxcfs",
        ],
    );
    assert!(
        run.line("daemon").unwrap().contains(daemon().name()),
        "{run}"
    );
    assert!(
        run.line("client certificate").unwrap().starts_with("skip"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("cpi doctor: 8 ok, 0 warning(s), 0 failed, 1 skipped"),
        "{run}"
    );
    assert_eq!(before, after, "cpi doctor changed the daemon");
}

#[test]
fn each_broken_set_up_fails_naming_the_thing() {
    let project = Project::for_run().expect("test project");
    let dir = tempfile::tempdir().expect("tempdir");
    let absent_project = format!("{}-absent-{}", project.name(), id());
    let with = |key: &str, value: &str| {
        let mut lxd = unix_lxd_section(project.name());
        lxd[key] = json!(value);
        lxd
    };
    let cases = [
        (
            "missing project",
            with("project", &absent_project),
            "project",
            vec![absent_project.as_str(), "not found", "project create"],
        ),
        (
            "missing profile",
            with("profile", "bosh-lxd-no-such-profile"),
            "profile",
            vec!["bosh-lxd-no-such-profile", "not found", "profile create"],
        ),
        (
            "missing network",
            with("network", "boshbr-none"),
            "network",
            vec!["boshbr-none", "not found", "network create"],
        ),
        (
            "not a bridge",
            with("network", "lo"),
            "network",
            vec!["\"lo\"", "not a bridge"],
        ),
        (
            "missing pool",
            with("storage_pool", "bosh-lxd-no-pool"),
            "storage pool",
            vec!["bosh-lxd-no-pool", "not found", "storage create"],
        ),
        (
            "no socket",
            with("url", "unix:///nonexistent/bosh-lxd/unix.socket"),
            "daemon",
            vec!["/nonexistent/bosh-lxd/unix.socket", "is the daemon running"],
        ),
    ];
    for (case, lxd, subject, texts) in cases {
        let cfg = config(lxd);
        let run = doctor(&cfg.config).expect("cpi doctor");
        assert_fails(case, &run, subject, &texts);
    }
    // Config files that do not load: nothing else is checked.
    let missing = dir.path().join("absent.json");
    let no_mbus = dir.path().join("no-mbus.json");
    let mut body = config_json(unix_lxd_section(project.name()));
    body["agent"].as_object_mut().unwrap().remove("mbus");
    std::fs::write(&no_mbus, body.to_string()).unwrap();
    let not_json = dir.path().join("not-json.json");
    std::fs::write(&not_json, "{\"lxd\": ").unwrap();
    let cases = [
        (
            "unreadable config",
            missing.clone(),
            vec![missing.to_str().unwrap(), "cannot read", "--config"],
        ),
        (
            "a directory as config",
            dir.path().to_owned(),
            vec![dir.path().to_str().unwrap(), "cannot read"],
        ),
        ("config without agent.mbus", no_mbus, vec!["agent.mbus"]),
        ("config not JSON", not_json, vec!["not valid JSON"]),
    ];
    for (case, path, texts) in cases {
        let run = doctor(&path).expect("cpi doctor");
        assert_fails(case, &run, "config", &texts);
        let skipped = run.stdout.lines().filter(|l| l.starts_with("skip")).count();
        assert_eq!(skipped, 8, "case {case}: every other check skipped: {run}");
    }
}

#[test]
fn a_dir_pool_is_a_warning() {
    let project = Project::for_run().expect("test project");
    let mut lxd = unix_lxd_section(project.name());
    // scripts/setup-host makes a dir pool named default on each daemon.
    lxd["storage_pool"] = json!("default");
    let run = doctor(&config(lxd).config).expect("cpi doctor");
    assert_eq!(run.code, Some(0), "a warning does not fail: {run}");
    let line = run.line("storage pool").unwrap_or_default();
    assert!(
        line.starts_with("WARN") && line.contains("driver dir"),
        "{run}"
    );
}

#[test]
fn a_project_without_its_own_images_is_a_warning() {
    let run_project = Project::for_run().expect("test project");
    let keys = [
        "features.images=false",
        "features.profiles=true",
        "features.storage.volumes=true",
    ];
    let project = ExtraProject::create_with(&run_project, &format!("doctor-img-{}", id()), &keys)
        .expect("project");
    let run = doctor(&config(unix_lxd_section(project.name())).config).expect("cpi doctor");
    assert_eq!(run.code, Some(0), "a warning does not fail: {run}");
    let line = run.line("project").unwrap_or_default();
    assert!(
        line.starts_with("WARN") && line.contains("features.images is off"),
        "{run}"
    );
}

/// The run's project, the daemon's HTTPS address and a directory for certificates.
struct Https {
    project: Project,
    address: String,
    dir: tempfile::TempDir,
}

impl Https {
    fn new() -> Https {
        Https {
            project: Project::for_run().expect("test project"),
            address: https_listener().expect("HTTPS listener"),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn cert(&self) -> (ClientCert, String) {
        let name = format!("bosh-lxd-test-doctor-{}", id());
        (
            ClientCert::generate(self.dir.path(), &name).expect("client cert"),
            name,
        )
    }
}

#[test]
fn over_https_a_restricted_certificate_passes_and_a_wrong_pin_fails() {
    let s = Https::new();
    let (cert, name) = s.cert();
    let _trust = Trust::restricted(&cert, &name, &[s.project.name()]).expect("trust add");
    let lxd = https_lxd_section(&s.address, &cert, s.project.name()).expect("lxd section");
    let run = doctor(&config(lxd.clone()).config).expect("cpi doctor");
    assert_passes(
        &run,
        &[
            "daemon",
            "server",
            "client certificate",
            "project",
            "profile",
            "storage pool",
        ],
    );
    assert!(
        run.line("daemon")
            .unwrap()
            .contains("pinned (lxd.server_cert)"),
        "{run}"
    );
    let restricted = format!("restricted to projects {}", s.project.name());
    assert!(
        run.line("client certificate")
            .unwrap()
            .contains(&restricted),
        "{run}"
    );
    // LXD shows a restricted certificate no network config: the CPI cannot see the subnet.
    assert!(run.line("network").unwrap().starts_with("WARN"), "{run}");

    // Another certificate pinned in place of the server's: the handshake fails on the pin.
    let mut wrong = lxd;
    wrong["server_cert"] = json!(cert.cert);
    let run = doctor(&config(wrong).config).expect("cpi doctor");
    assert_fails(
        "wrong pin",
        &run,
        "daemon",
        &["lxd.server_cert", "does not match", &cert.fingerprint],
    );
}

#[test]
fn over_https_an_unrestricted_certificate_is_a_warning_and_an_untrusted_one_fails() {
    let s = Https::new();
    let (cert, name) = s.cert();
    let lxd = https_lxd_section(&s.address, &cert, s.project.name()).expect("lxd section");
    let cfg = config(lxd);
    let run = doctor(&cfg.config).expect("cpi doctor");
    assert_fails(
        "untrusted",
        &run,
        "client certificate",
        &[&cert.fingerprint, "not trusted", "--restricted"],
    );

    let _trust = Trust::unrestricted(&cert, &name).expect("trust add");
    let run = doctor(&cfg.config).expect("cpi doctor");
    assert_eq!(run.code, Some(0), "{run}");
    let line = run.line("client certificate").unwrap_or_default();
    assert!(
        line.starts_with("WARN") && line.contains("without restriction"),
        "{run}"
    );
}
