//! What the manifest tests share: `bosh int` of bosh-deployment's `bosh.yml` with our ops
//! files, `bosh-vars.yml` and fake generated variables; the job template renderer (ruby);
//! the `cpi` answering `info`; scratch directories.
#![allow(dead_code)] // the test binary may use a subset

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bosh_lxd_tests::gopatch::{self, bosh_int, load_yaml, vars::placeholders};
use bosh_lxd_tests::workspace_root;
use serde_json::{Map, Value, json};

pub fn root(rel: &str) -> PathBuf {
    workspace_root().join(rel)
}

/// bosh-deployment files (unchanged upstream copies).
pub fn bd(rel: &str) -> PathBuf {
    root("tests/fixtures/bosh-deployment").join(rel)
}

pub const MBUS_PASSWORD: &str = "fake-mbus_bootstrap_password";
pub const SERVER_CERT: &str =
    "-----BEGIN CERTIFICATE-----\nbHhkLXNlcnZlcg==\n-----END CERTIFICATE-----\n";

/// What the vars store would hold for the manifest's `variables`: fake passwords and PEMs.
pub fn fake_generated(manifest: &Path, ops: &[&Path]) -> Map<String, Value> {
    let mut doc = load_yaml(manifest).expect("base manifest");
    for file in ops {
        let parsed = gopatch::parse_ops(&load_yaml(file).expect("ops file")).expect("ops");
        gopatch::apply_ops(&mut doc, &parsed).expect("ops apply");
    }
    let pem = |kind: &str, name: &str| {
        format!("-----BEGIN {kind}-----\nfake-{name}\n-----END {kind}-----\n")
    };
    let mut vars = Map::new();
    for v in doc["variables"].as_array().expect("variables") {
        let name = v["name"].as_str().expect("variable name");
        let value = match v["type"].as_str() {
            Some("password") => json!(format!("fake-{name}")),
            Some("certificate") => json!({"ca": pem("CERTIFICATE", "ca"),
                "certificate": pem("CERTIFICATE", name), "private_key": pem("RSA PRIVATE KEY", name)}),
            other => panic!("no fake for variable {name} of type {other:?}"),
        };
        vars.insert(name.to_owned(), value);
    }
    vars
}

/// `bosh int bosh.yml -o OPS... --vars-file manifests/bosh-vars.yml` plus `extra` and the
/// generated variables, checked to leave no `((...))` behind.
pub fn interpolate_ours(ops: &[&str], extra: Value) -> Value {
    let ops: Vec<PathBuf> = ops.iter().map(|f| root(f)).collect();
    let ops: Vec<&Path> = ops.iter().map(PathBuf::as_path).collect();
    let mut vars = fake_generated(&bd("bosh.yml"), &ops);
    let file = load_yaml(&root("manifests/bosh-vars.yml")).expect("bosh-vars.yml");
    vars.extend(file.as_object().expect("bosh-vars.yml is a map").clone());
    vars.extend(extra.as_object().expect("extra vars").clone());
    let doc = bosh_int(&bd("bosh.yml"), &ops, &vars).expect("bosh int");
    let left = placeholders(&doc);
    assert!(left.is_empty(), "unresolved variables: {left:?}");
    doc
}

pub fn bosh_group(doc: &Value) -> &Value {
    let groups = doc["instance_groups"].as_array().expect("instance_groups");
    groups
        .iter()
        .find(|g| g["name"] == "bosh")
        .expect("group bosh")
}

pub fn lxd_block(url: &str, mbus: &str) -> Value {
    json!({"lxd": {"url": url, "project": "bosh", "profile": "default", "network": "boshbr0",
                   "storage_pool": "default"},
           "agent": {"mbus": mbus, "blobstore": null}})
}

pub fn https_vars() -> Value {
    json!({"lxd_url": "https://10.245.0.1:8443", "lxd_server_cert": SERVER_CERT})
}

/// Runs `tests/fixtures/render-job-template` on one template of jobs/lxd_cpi.
pub fn render(template: &str, properties: &Value) -> Result<String, String> {
    render_file(&root("jobs/lxd_cpi/templates").join(template), properties)
}

/// Runs `tests/fixtures/render-job-template` on `template` with the spec of jobs/lxd_cpi;
/// the error is the renderer's stderr.
pub fn render_file(template: &Path, properties: &Value) -> Result<String, String> {
    let out = Command::new("ruby")
        .arg(root("tests/fixtures/render-job-template"))
        .arg(root("jobs/lxd_cpi/spec"))
        .arg(template)
        .arg(properties.to_string())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run ruby ({e}): scripts/setup-host installs it (bosh create-env needs it too)")
        });
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.success() {
        true => Ok(String::from_utf8(out.stdout).expect("UTF-8 output")),
        false => Err(stderr),
    }
}

/// The cpi.json keys of design.md §3, plus `lxd.insecure_skip_verify`, the explicitly
/// named opt-out of server verification the same section asks for.
pub fn design_shape() -> Value {
    json!({"log_level": "info",
           "lxd": {"url": "", "client_cert": null, "client_key": null, "server_cert": null,
                   "ca_cert": null, "insecure_skip_verify": false, "project": "",
                   "profile": "", "network": "", "storage_pool": "", "target": null},
           "agent": {"mbus": "", "ntp": [], "blobstore": null}})
}

pub fn same_keys(got: &Value, want: &Value, at: &str) {
    let (Some(got), Some(want)) = (got.as_object(), want.as_object()) else {
        return;
    };
    let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    let (mut g, mut w) = (keys(got), keys(want));
    g.sort();
    w.sort();
    assert_eq!(g, w, "keys of {at}");
    for (k, v) in want {
        same_keys(&got[k], v, &format!("{at}.{k}"));
    }
}

/// `cpi --config CONFIG`, as the director starts it.
pub fn cpi_command(binary: &Path, config: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg("--config").arg(config).env_clear();
    cmd
}

/// Runs `cmd` with `info` on stdin (the request bosh-cli sends first) and returns the one
/// JSON response on its stdout.
pub fn answer_info(mut cmd: Command) -> Value {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let request = r#"{"method":"info","arguments":[],"context":{"director_uuid":"x"}}"#;
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(request.as_bytes())
        .expect("write the request");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for the cpi");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} exited {:?}: {stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}); stderr: {stderr}"))
}

/// A directory under the temp dir, removed when dropped (also after a failed assertion).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("bosh-lxd-manifests-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {e}", self.0.display());
        }
    }
}
