//! Calling the built `cpi` binary the way the director does: one JSON request on stdin, the
//! config file named by `--config`, an almost empty environment, one JSON response read from
//! stdout. Also the fixture stemcell as the director hands it to `create_stemcell`: the
//! extracted `image` file and the `cloud_properties` of its `stemcell.MF`. [`fixture`] has
//! what every VM test starts from.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::project::{Project, fixture_stemcell};
use crate::{TEST_POOL, daemon, workspace_root};

pub mod fixture;

/// The password inside the agent's mbus URL in every test config.
pub const MBUS_PASSWORD: &str = "mbus-secret-7f1c";
/// The blobstore password in every test config.
pub const BLOBSTORE_PASSWORD: &str = "blobstore-secret-93ad";
/// Director UUID sent in every request context.
pub const DIRECTOR_UUID: &str = "director-test-0001";
/// The guest helper version the tests' "repacked" stemcells claim to carry.
pub const HELPER_VERSION: &str = "0.0.0-test";

/// The `agent` section of every test config: HTTPS mbus with [`MBUS_PASSWORD`], the
/// gateway as NTP server, a `dav` blobstore.
pub fn test_agent_section() -> Value {
    json!({"mbus": format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:6868"),
           "ntp": [daemon().gateway()],
           "blobstore": {"provider": "dav", "options": {
               "endpoint": format!("http://{}.0.2:25250", daemon().net), "user": "agent",
               "password": BLOBSTORE_PASSWORD}}})
}

/// The `error` of a response.
#[derive(Debug, Clone)]
pub struct CallError {
    /// `Bosh::Clouds::...`.
    pub kind: String,
    /// The message.
    pub message: String,
    /// `ok_to_retry`.
    pub ok_to_retry: bool,
}

/// One response, with what the process wrote to stderr (its log).
#[derive(Debug, Clone)]
pub struct CallResult {
    /// `result`.
    pub result: Value,
    /// `error`, if any.
    pub error: Option<CallError>,
    /// The process's stderr.
    pub stderr: String,
}

/// The CPI binary with a config file for the run's project (pool `btrfs`, the daemon's bridge).
#[derive(Debug)]
pub struct Cpi {
    binary: PathBuf,
    config: PathBuf,
}

impl Cpi {
    /// A CPI configured for `project`, with the test agent section ([`test_agent_section`]).
    pub fn new(project: &Project) -> Result<Cpi> {
        Self::with_agent(project, test_agent_section())
    }

    /// A CPI configured for `project` with `agent` as the config's `agent` section.
    pub fn with_agent(project: &Project, agent: Value) -> Result<Cpi> {
        let binary = cpi_binary()?;
        let config = std::env::temp_dir().join(format!(
            "bosh-lxd-cpi-config-{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        let body = json!({
            "log_level": "debug",
            "lxd": {"url": format!("unix://{}", daemon().socket), "project": project.name(),
                    "profile": "default", "network": daemon().bridge, "storage_pool": TEST_POOL},
            "agent": agent
        });
        std::fs::write(&config, serde_json::to_vec_pretty(&body)?)
            .with_context(|| format!("writing {}", config.display()))?;
        Ok(Cpi { binary, config })
    }

    /// Sends `method(arguments)` at API version 2.
    pub fn call(&self, method: &str, arguments: Value) -> Result<CallResult> {
        self.call_v(method, arguments, 2)
    }

    /// Sends `method(arguments)` at `api_version`.
    pub fn call_v(&self, method: &str, arguments: Value, api_version: u32) -> Result<CallResult> {
        let request = request(method, arguments, api_version);
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let mut stdin = child.stdin.take().context("no stdin pipe")?;
        stdin.write_all(&serde_json::to_vec(&request)?)?;
        drop(stdin);
        let out = child.wait_with_output().context("waiting for the cpi")?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!(
                "cpi {method} exited {:?}; stderr:\n{stderr}",
                out.status.code()
            );
        }
        decode_response(method, &out.stdout, &stderr)
    }

    /// A clean-up call (`delete_stemcell` in a `Drop`): bounded like every clean-up
    /// ([`crate::cleanup`]); true when the CPI answered without an error, else stderr says
    /// what went wrong.
    pub fn cleanup_call(&self, method: &str, arguments: Value) -> bool {
        let what = format!("cpi {method} {arguments}");
        let input = serde_json::to_vec(&request(method, arguments, 2)).unwrap_or_default();
        let limit = crate::cleanup::CLEANUP_LIMIT;
        let Some(out) = crate::cleanup::bounded_output(&what, &mut self.command(), &input, limit)
        else {
            return false;
        };
        match decode_response(method, out.stdout.as_bytes(), &out.stderr) {
            Ok(CallResult { error: None, .. }) => true,
            Ok(CallResult { error: Some(e), .. }) => {
                eprintln!("clean-up: {what} failed: {}: {}", e.kind, e.message);
                false
            }
            Err(e) => {
                eprintln!("clean-up: {what}: {e:#}");
                false
            }
        }
    }

    /// The `cpi` process as the director starts it (stdio left to the caller).
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--config")
            .arg(&self.config)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }

    /// Sends `method(arguments)` (API v2) and returns the result; an error response fails
    /// with its type, message and the CPI's log.
    pub fn ok(&self, method: &str, arguments: Value) -> Result<Value> {
        let r = self.call(method, arguments)?;
        match r.error {
            None => Ok(r.result),
            Some(e) => bail!(
                "cpi {method} failed: {}: {}\nlog:\n{}",
                e.kind,
                e.message,
                r.stderr
            ),
        }
    }
}

impl Drop for Cpi {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.config) {
            eprintln!("could not remove {}: {e}", self.config.display());
        }
    }
}

/// The request envelope of `method(arguments)`, with the director's context.
fn request(method: &str, arguments: Value, api_version: u32) -> Value {
    json!({"method": method, "arguments": arguments, "api_version": api_version,
        "context": {"director_uuid": DIRECTOR_UUID, "request_id": "cpi-123456",
                    "vm": {"stemcell": {"api_version": 3}}}})
}

/// The response a CPI process printed.
pub fn decode_response(method: &str, stdout: &[u8], stderr: &str) -> Result<CallResult> {
    let response: Value = serde_json::from_slice(stdout).with_context(|| {
        format!(
            "cpi {method}: stdout is not one JSON document: {:?}\nstderr:\n{stderr}",
            String::from_utf8_lossy(stdout)
        )
    })?;
    let error = match &response["error"] {
        Value::Null => None,
        e => Some(CallError {
            kind: e["type"].as_str().unwrap_or_default().to_owned(),
            message: e["message"].as_str().unwrap_or_default().to_owned(),
            ok_to_retry: e["ok_to_retry"].as_bool().unwrap_or_default(),
        }),
    };
    Ok(CallResult {
        result: response["result"].clone(),
        error,
        stderr: stderr.to_owned(),
    })
}

/// The debug `cpi` binary of this workspace (`$CARGO_TARGET_DIR` or `<root>/target`), or
/// `$BOSH_LXD_CPI_PROFILE` instead of `debug` (benchmarks of the release build). Missing: an error saying to build it. Older than the CPI's sources: a warning (shown
/// with a failing test's output), not an error, since another developer may be editing
/// the sources of a shared tree while a run is going.
pub fn cpi_binary() -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile = std::env::var("BOSH_LXD_CPI_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    let binary = target.join(profile).join("cpi");
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .with_context(|| {
            format!(
                "the cpi binary {} is missing: run `cargo build -p cpi` first \
                 (`cargo nextest run --workspace` builds it)",
                binary.display()
            )
        })?;
    let sources = workspace_root().join("cpi/src");
    if let Some(newest) = newest_mtime(&sources)?
        && newest > built
    {
        eprintln!(
            "warning: the cpi binary {} is older than {}: run `cargo build -p cpi`",
            binary.display(),
            sources.display()
        );
    }
    Ok(binary)
}

fn newest_mtime(dir: &Path) -> Result<Option<SystemTime>> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let t = if meta.is_dir() {
            newest_mtime(&entry.path())?
        } else {
            meta.modified().ok()
        };
        newest = newest.max(t);
    }
    Ok(newest)
}

/// The fixture stemcell as the director passes it to `create_stemcell`.
#[derive(Debug, Clone)]
pub struct StemcellFiles {
    /// The extracted `image` file.
    pub image: PathBuf,
    /// `cloud_properties` of `stemcell.MF`, as a stock stemcell carries them.
    pub cloud_properties: Value,
}

impl StemcellFiles {
    /// `create_stemcell` arguments of a stock stemcell (no guest helper).
    pub fn stock_args(&self) -> Value {
        json!([self.image, self.cloud_properties])
    }

    /// `create_stemcell` arguments of the stemcell as repacked with helper `version`.
    pub fn repacked_args(&self, version: &str) -> Value {
        let mut props = self.cloud_properties.clone();
        props[bosh_lxd_contract::image::HELPER_VERSION_PROPERTY] = json!(version);
        json!([self.image, props])
    }
}

/// Extracts `image` and `stemcell.MF` of the fixture stemcell once, next to the tarball.
pub fn fixture_stemcell_files() -> Result<StemcellFiles> {
    stemcell_files(&fixture_stemcell()?)
}

/// Extracts `image` and `stemcell.MF` of the stemcell `tarball` once, next to it.
pub fn stemcell_files(tarball: &std::path::Path) -> Result<StemcellFiles> {
    let dir = tarball.with_extension("cpi-files");
    if !dir.join("image").is_file() {
        let tmp = tarball.with_extension(format!("cpi-files.{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&tmp)?;
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(&tmp)
            .args(["image", "stemcell.MF"])
            .status()
            .context("running tar")?;
        if !status.success() {
            bail!("extracting {} failed", tarball.display());
        }
        // Another test may have won the race: then keep its copy.
        if std::fs::rename(&tmp, &dir).is_err() {
            std::fs::remove_dir_all(&tmp)?;
        }
    }
    let manifest = std::fs::read_to_string(dir.join("stemcell.MF"))?;
    Ok(StemcellFiles {
        image: dir.join("image"),
        cloud_properties: manifest_cloud_properties(&manifest),
    })
}

/// The `cloud_properties:` block of a `stemcell.MF` (flat `  key: value` lines).
fn manifest_cloud_properties(manifest: &str) -> Value {
    let mut props = serde_json::Map::new();
    let block = manifest
        .lines()
        .skip_while(|l| l.trim_end() != "cloud_properties:")
        .skip(1)
        .take_while(|l| l.starts_with("  "));
    for line in block {
        if let Some((k, v)) = line.trim().split_once(':') {
            let v = v.trim().trim_matches('\'').trim_matches('"');
            let value = v.parse::<u64>().map_or_else(|_| json!(v), |n| json!(n));
            props.insert(k.trim().to_owned(), value);
        }
    }
    Value::Object(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cloud_properties_block() {
        let mf = "name: s\nversion: '1.2'\ncloud_properties:\n  name: s\n  version: '1.2'\n  disk: 5120\nstemcell_formats:\n- warden-tar\n";
        assert_eq!(
            manifest_cloud_properties(mf),
            json!({"name": "s", "version": "1.2", "disk": 5120})
        );
    }
}
