//! The built `cpi` binary over the HTTPS listener of LXD or Incus (`core.https_address`
//! on loopback; `BOSH_LXD_DAEMON` picks the daemon)
//! with a client certificate trusted for the run's project: calls and a VM lifecycle
//! (with the metadata and reboot steps of `cpi_vm.rs`), each refusal's message,
//! request-context overrides (multi-CPI), and the static binary running inside a
//! container made from the fixture stemcell.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed step stops the test with its message

mod vm_lifecycle_support;

use bosh_lxd_contract::paths::AGENT_SETTINGS as SETTINGS;
use bosh_lxd_tests::cpi::fixture::{manual_network, random_ip};
use bosh_lxd_tests::cpi::{HELPER_VERSION, fixture_stemcell_files};
use bosh_lxd_tests::https::{
    ClientCert, ConfiguredCpi, ExtraProject, KeyKind, Trust, config_json, https_listener,
    https_lxd_section, request_json,
};
use bosh_lxd_tests::{Project, TEST_POOL, daemon};
use serde_json::{Value, json};

const CONNECTED: &str = "connected to LXD over HTTPS";

/// A fresh id for names that concurrent tests must not share.
fn id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// The run's project, LXD's HTTPS address and a directory for certificates.
struct Setup {
    project: Project,
    address: String,
    dir: TempDir,
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn setup() -> Setup {
    let dir = std::env::temp_dir().join(format!("bosh-lxd-cpi-https-{}", id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    Setup {
        project: Project::for_run().expect("test project"),
        address: https_listener().expect("LXD HTTPS listener"),
        dir: TempDir(dir),
    }
}

impl Setup {
    /// A new client certificate trusted for `projects`.
    fn trusted(&self, projects: &[&str]) -> (ClientCert, Trust) {
        let name = format!("bosh-lxd-test-{}", id());
        let cert = ClientCert::generate(self.dir.path(), &name).expect("client cert");
        let trust = Trust::restricted(&cert, &name, projects).expect("trust add");
        (cert, trust)
    }

    fn cpi(&self, cert: &ClientCert, project: &str) -> ConfiguredCpi {
        let lxd = https_lxd_section(&self.address, cert, project).expect("lxd section");
        ConfiguredCpi::new(lxd).expect("cpi config")
    }
}

#[test]
fn calls_and_a_vm_lifecycle_over_https() {
    let s = setup();
    let (cert, _trust) = s.trusted(&[s.project.name()]);
    let cpi = s.cpi(&cert, s.project.name());

    let info = cpi.ok("info", json!([])).expect("info");
    assert_eq!(info["api_version"], 2);
    let r = cpi
        .call("has_vm", json!(["vm-missing"]), json!({}))
        .expect("has_vm");
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.result, json!(false));
    assert!(
        r.stderr.contains(CONNECTED),
        "went over HTTPS: {}",
        r.stderr
    );

    // The stemcell upload streams the image through TLS.
    let files = fixture_stemcell_files().expect("fixture stemcell");
    let stemcell = cpi
        .ok("create_stemcell", files.repacked_args(HELPER_VERSION))
        .expect("create_stemcell over HTTPS");
    let stemcell = stemcell.as_str().expect("stemcell cid").to_owned();
    let agent = format!("agent-{}", id());
    // The agent section may come from the context too (a director cpi-config).
    let mbus = "https://mbus:from-context@0.0.0.0:6868";
    let args = json!([agent, stemcell, {"ephemeral_disk": 64}, {"default": manual_network(&random_ip(), true)}, [], {}]);
    let created = cpi
        .call("create_vm", args, json!({"agent": {"mbus": mbus}}))
        .expect("create_vm");
    assert!(created.error.is_none(), "create_vm over HTTPS: {created:?}");
    let vm = created.result[0].as_str().expect("vm cid").to_owned();
    assert_eq!(cpi.ok("has_vm", json!([vm])).expect("has_vm"), json!(true));
    let settings = s.project.exec(&vm, &["cat", SETTINGS]).expect("exec");
    let settings: Value = serde_json::from_str(&settings.stdout).expect("settings JSON");
    assert_eq!(settings["mbus"], mbus, "context.agent reached the VM");

    // The instance edit and the operation waits, as over the unix socket.
    let call = |method: &str, args| cpi.ok(method, args);
    vm_lifecycle_support::set_vm_metadata(&call, &s.project, &vm, &agent);
    vm_lifecycle_support::reboot_vm(&call, &s.project, &vm, &agent);

    cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
    assert_eq!(cpi.ok("has_vm", json!([vm])).expect("has_vm"), json!(false));
    assert!(
        !s.project.has_instance(&vm).expect("lxc info"),
        "deleted in LXD"
    );
    cpi.ok("delete_stemcell", json!([stemcell]))
        .expect("delete_stemcell");
}

#[test]
fn an_rsa_client_key_in_pkcs1_pem_as_bosh_generates_it_works() {
    let s = setup();
    let name = format!("bosh-lxd-test-rsa-{}", id());
    let cert =
        ClientCert::generate_kind(s.dir.path(), &name, KeyKind::RsaPkcs1).expect("RSA client cert");
    assert!(
        cert.key.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "a PKCS#1 key: {}",
        &cert.key[..40.min(cert.key.len())]
    );
    let _trust = Trust::restricted(&cert, &name, &[s.project.name()]).expect("trust add");
    let cpi = s.cpi(&cert, s.project.name());
    let r = cpi
        .call("has_vm", json!(["vm-missing"]), json!({}))
        .expect("has_vm");
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.result, json!(false));
    assert!(r.stderr.contains(CONNECTED), "over HTTPS: {}", r.stderr);
}

/// The error message of `has_vm` with `lxd` as the config's section.
fn has_vm_error(lxd: Value) -> String {
    let cpi = ConfiguredCpi::new(lxd).expect("cpi config");
    let r = cpi
        .call("has_vm", json!(["vm-x"]), json!({}))
        .expect("has_vm");
    let e = r
        .error
        .unwrap_or_else(|| panic!("has_vm must fail, got {:?}", r.result));
    assert_eq!(e.kind, "Bosh::Clouds::CloudError");
    e.message
}

#[test]
fn refusals_say_what_to_check() {
    let s = setup();
    let other = ExtraProject::create(&s.project, &format!("o{}", &id()[..4])).expect("project");
    let (trusted, _t1) = s.trusted(&[s.project.name()]);
    let (elsewhere, _t2) = s.trusted(&[other.name()]);
    let untrusted = ClientCert::generate(s.dir.path(), "untrusted").expect("cert");
    let base = |cert: &ClientCert| https_lxd_section(&s.address, cert, s.project.name()).unwrap();

    let mut wrong_pin = base(&trusted);
    wrong_pin["server_cert"] = json!(untrusted.cert);
    let msg = has_vm_error(wrong_pin);
    assert!(msg.contains("does not match lxd.server_cert"), "{msg}");
    assert!(
        msg.contains(&untrusted.fingerprint),
        "pinned fingerprint: {msg}"
    );

    let msg = has_vm_error(base(&untrusted));
    assert!(
        msg.contains("LXD does not trust the client certificate"),
        "{msg}"
    );
    let hint = format!("`{} config trust {} CERT", daemon().cli, daemon().trust_add);
    assert!(msg.contains(&hint), "{msg}");

    let msg = has_vm_error(base(&elsewhere));
    let want = format!("restricted to project(s) [{}]", other.name());
    assert!(msg.contains(&want), "{msg}");

    let mut refused = base(&trusted);
    refused["url"] = json!("https://127.0.0.1:1");
    let msg = has_vm_error(refused);
    assert!(
        msg.contains("connection refused") && msg.contains("core.https_address"),
        "{msg}"
    );

    let mut unknown = base(&trusted);
    unknown["url"] = json!("https://lxd-nowhere.invalid:8443");
    let msg = has_vm_error(unknown);
    assert!(
        msg.contains("add lxd-nowhere.invalid to /etc/hosts"),
        "{msg}"
    );

    let mut unverified = base(&trusted);
    unverified["server_cert"] = Value::Null;
    let msg = has_vm_error(unverified);
    assert!(msg.contains("insecure_skip_verify"), "{msg}");
}

#[test]
fn context_overrides_pick_the_lxd_host_and_project() {
    let s = setup();
    let other = ExtraProject::create(&s.project, &format!("c{}", &id()[..4])).expect("project");
    let (cert, _trust) = s.trusted(&[s.project.name(), other.name()]);
    let vm = format!("vm-ctx-{}", id());
    bosh_lxd_tests::lxc_ok(&[
        "init",
        "--empty",
        &vm,
        "--storage",
        TEST_POOL,
        "--project",
        other.name(),
    ])
    .expect("empty instance in the other project");

    // The file says: unix socket, the run's project. The context (a cpi-config's
    // properties) says: HTTPS, the other project.
    let file = json!({"url": format!("unix://{}", daemon().socket), "project": s.project.name(),
        "network": daemon().bridge, "storage_pool": TEST_POOL});
    let cpi = ConfiguredCpi::new(file).expect("cpi config");
    let https = https_lxd_section(&s.address, &cert, other.name()).unwrap();
    let r = cpi
        .call("has_vm", json!([vm]), json!({"lxd": https}))
        .expect("has_vm");
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.result, json!(true), "found in the context's project");
    assert!(r.stderr.contains(CONNECTED), "over HTTPS: {}", r.stderr);
    let plain = cpi.call("has_vm", json!([vm]), json!({})).expect("has_vm");
    assert_eq!(
        plain.result,
        json!(false),
        "the file's project does not have it"
    );

    // Over HTTPS already: a context naming only the project.
    let cpi = s.cpi(&cert, s.project.name());
    let r = cpi
        .call(
            "has_vm",
            json!([vm]),
            json!({"lxd": {"project": other.name()}}),
        )
        .expect("has_vm");
    assert_eq!(r.result, json!(true), "{r:?}");
    let r = cpi
        .call(
            "has_vm",
            json!([vm]),
            json!({"lxd": {"project": "default"}}),
        )
        .expect("has_vm");
    let e = r
        .error
        .expect("default project is not allowed for this certificate");
    assert!(
        e.message.contains("restricted to project(s)"),
        "{}",
        e.message
    );
}

#[test]
fn static_binary_runs_in_a_stemcell_container() {
    let s = setup();
    let (cert, _trust) = s.trusted(&[s.project.name()]);
    let binary = bosh_lxd_tests::repacked::build_static_cpi()
        .expect("scripts/build-cpi")
        .to_string_lossy()
        .into_owned();

    let name = format!("https-{}", id());
    s.project
        .launch_fixture(&name)
        .expect("container from the fixture stemcell");
    let _cleanup = Cleanup(&s.project, &name);
    // LXD listens on the host's loopback only: a proxy device gives the container a
    // loopback port that LXD's forkproxy connects to the host's listener. The name
    // `lxd-host` comes from the container's /etc/hosts, as a static binary needs.
    let listen = format!("listen=tcp:127.0.0.1:{}", port_of(&s.address));
    let connect = format!("connect=tcp:{}", s.address);
    s.project
        .lxc_ok(&[
            "config",
            "device",
            "add",
            &name,
            "lxdapi",
            "proxy",
            &listen,
            &connect,
            "bind=instance",
        ])
        .expect("proxy device");
    let hosts = s.project.exec(
        &name,
        &["sh", "-c", "echo '127.0.0.1 lxd-host' >> /etc/hosts"],
    );
    assert!(hosts.expect("exec").success());

    let mut lxd = https_lxd_section(&s.address, &cert, s.project.name()).unwrap();
    lxd["url"] = json!(format!("https://lxd-host:{}", port_of(&s.address)));
    let files = [
        ("cpi.json", serde_json::to_vec(&config_json(lxd)).unwrap()),
        (
            "info.json",
            serde_json::to_vec(&request_json("info", json!([]), json!({}))).unwrap(),
        ),
        (
            "has_vm.json",
            serde_json::to_vec(&request_json("has_vm", json!(["vm-no"]), json!({}))).unwrap(),
        ),
    ];
    for (file, bytes) in files {
        let local = s.dir.path().join(file);
        std::fs::write(&local, bytes).unwrap();
        push(
            &s.project,
            &local.to_string_lossy(),
            &name,
            &format!("/root/{file}"),
        );
    }
    push(&s.project, &binary, &name, "/root/cpi");

    let ldd = s
        .project
        .exec(&name, &["sh", "-c", "ldd /root/cpi 2>&1 || true"])
        .unwrap();
    assert!(
        ldd.stdout.contains("not a dynamic") || ldd.stdout.contains("statically"),
        "{ldd:?}"
    );
    for method in ["info", "has_vm"] {
        let cmd = format!("/root/cpi --config /root/cpi.json < /root/{method}.json");
        let r = s
            .project
            .exec(&name, &["env", "-i", "sh", "-c", &cmd])
            .expect("exec cpi");
        let response = bosh_lxd_tests::cpi::decode_response(method, r.stdout.as_bytes(), &r.stderr)
            .expect("one JSON response");
        assert!(
            response.error.is_none(),
            "{method} in the container: {response:?}"
        );
        if method == "info" {
            assert_eq!(response.result["api_version"], 2, "{response:?}");
        } else {
            assert_eq!(response.result, json!(false), "{response:?}");
            assert!(response.stderr.contains(CONNECTED), "{}", response.stderr);
        }
    }
}

fn port_of(address: &str) -> &str {
    address.rsplit_once(':').map_or("8443", |(_, p)| p)
}

fn push(project: &Project, local: &str, instance: &str, path: &str) {
    let target = format!("{instance}{path}");
    project
        .lxc_ok(&["file", "push", "--mode", "0755", local, &target])
        .expect("lxc file push");
}

/// Deletes the test's container however the test ends.
struct Cleanup<'a>(&'a Project, &'a str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.cleanup_instance(self.1);
    }
}
