//! What the manifest tests share: the real `bosh int` of bosh-deployment's `bosh.yml` with
//! our ops files, `bosh-vars.yml` and a vars store; the job template renderer (ruby); the
//! `cpi` answering `info`; scratch directories.
#![allow(dead_code)] // the test binary may use a subset

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use bosh_lxd_tests::tools::bosh_cli;
use bosh_lxd_tests::workspace_root;
use bosh_lxd_tests::yaml::parse_yaml;
use serde_json::{Map, Value, json};

pub fn root(rel: &str) -> PathBuf {
    workspace_root().join(rel)
}

/// bosh-deployment files (unchanged upstream copies).
pub fn bd(rel: &str) -> PathBuf {
    root("tests/fixtures/bosh-deployment").join(rel)
}

pub const SERVER_CERT: &str =
    "-----BEGIN CERTIFICATE-----\nbHhkLXNlcnZlcg==\n-----END CERTIFICATE-----\n";
pub const LXD_URL: &str = "https://10.245.0.1:8443";

/// What `bosh int` printed, and the vars store it generated the variables into.
pub struct Rendered {
    pub doc: Value,
    pub store: Value,
    /// Holds the vars store and the variable files; removed on drop.
    pub scratch: Scratch,
}

/// `bosh int bosh.yml -o OPS... --vars-file manifests/bosh-vars.yml --vars-store STORE
/// --var-errs` plus `-v NAME=VALUE` for `vars` and `--var-file NAME=FILE` for `files`
/// (written to the scratch directory), as manifests/README.md runs it. The error is the
/// CLI's stderr.
pub fn bosh_int(
    ops: &[PathBuf],
    vars: &[(&str, &str)],
    files: &[(&str, &str)],
) -> Result<Rendered, String> {
    let bosh = bosh_cli().unwrap_or_else(|e| panic!("{e:#}"));
    let scratch = Scratch::new("int");
    let store = scratch.0.join("creds.yml");
    let mut cmd = Command::new(&bosh);
    cmd.arg("int").arg(bd("bosh.yml"));
    for file in ops {
        cmd.arg("-o").arg(file);
    }
    cmd.arg("--vars-file").arg(root("manifests/bosh-vars.yml"));
    for (name, value) in vars {
        cmd.arg("-v").arg(format!("{name}={value}"));
    }
    for (name, text) in files {
        let path = scratch.0.join(name);
        std::fs::write(&path, text).expect("write a --var-file");
        cmd.arg("--var-file")
            .arg(format!("{name}={}", path.display()));
    }
    cmd.arg("--vars-store").arg(&store).arg("--var-errs");
    let doc = run_yaml(cmd)?;
    let store = parse_yaml(&std::fs::read_to_string(&store).expect("the vars store"))
        .expect("the vars store is YAML");
    Ok(Rendered {
        doc,
        store,
        scratch,
    })
}

/// Runs a `bosh` command and parses its stdout as YAML; the error is its stderr.
pub fn run_yaml(mut cmd: Command) -> Result<Value, String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(stderr);
    }
    let text = String::from_utf8(out.stdout).expect("UTF-8 output");
    Ok(parse_yaml(&text).unwrap_or_else(|e| panic!("bosh int printed no YAML ({e:#}): {text}")))
}

/// Our ops files (repository paths) through [`bosh_int`], with `extra` as `-v` (they win
/// over bosh-vars.yml); https.yml also gets `lxd_url` and the server certificate, as
/// manifests/README.md passes them.
pub fn interpolate_ours(ops: &[&str], extra: &[(&str, &str)]) -> Rendered {
    let paths: Vec<PathBuf> = ops.iter().map(|f| root(f)).collect();
    let mut vars = extra.to_vec();
    let mut files = vec![];
    if ops.contains(&"manifests/https.yml") {
        vars.push(("lxd_url", LXD_URL));
        files.push(("lxd_server_cert", SERVER_CERT));
    }
    bosh_int(&paths, &vars, &files).unwrap_or_else(|e| panic!("bosh int {ops:?}: {e}"))
}

/// The mbus URL with the generated bootstrap password from the vars store.
pub fn mbus(store: &Value, host: &str) -> String {
    let password = store["mbus_bootstrap_password"]
        .as_str()
        .expect("mbus_bootstrap_password");
    format!("https://mbus:{password}@{host}:6868")
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

/// The cpi.json keys of `ARCHITECTURE.md` §3, with `lxd.insecure_skip_verify`, the
/// explicitly named opt-out of server verification.
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
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("bosh-lxd-manifests-{name}-{pid}-{n}"));
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
