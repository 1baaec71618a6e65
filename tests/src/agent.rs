//! The real bosh-agent in a VM: the real-agent fixture stemcell (built by
//! `tests/fixtures/build-stemcell --real-agent`, repacked like the plain fixture), the mbus
//! certificates a director would put in `env.bosh.mbus.cert`, and a client for the agent's
//! HTTPS mbus (`POST /agent`, tasks polled with `get_task`) through the `curl` CLI, which
//! checks the agent's certificate against that CA. A VM made through the CPI with the agent
//! in it: [`vm`]; the director's disk flows through the CPI and the agent: [`disks`].

pub mod disks;
pub mod vm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::built::{env_file, script_path};
use crate::cpi::MBUS_PASSWORD;
use crate::lxc::run;
use crate::project::lock;
use crate::repacked::repacked_once;

/// Where the agent's runit log service (svlogd) writes.
pub const AGENT_LOG_DIR: &str = "/var/vcap/bosh/log";
/// The agent's mbus port.
pub const MBUS_PORT: u16 = 6868;

/// The repacked real-agent stemcell: `$BOSH_LXD_REAL_AGENT_STEMCELL`, else built (or found in
/// the cache) by `build-stemcell --real-agent` and repacked once ([`repacked_once`]).
pub fn real_agent_stemcell() -> Result<PathBuf> {
    if let Some(path) = env_file("BOSH_LXD_REAL_AGENT_STEMCELL") {
        return Ok(path);
    }
    let _lock = lock("real-agent-build")?;
    let stock = script_path("tests/fixtures/build-stemcell", &["--real-agent"])?;
    repacked_once(&stock)
}

/// The `agent` section of a create-env style CPI config: HTTPS mbus with
/// [`MBUS_PASSWORD`] and the agent's `local` blobstore (no external blobstore client in
/// the stemcell).
pub fn create_env_agent_section() -> Value {
    json!({"mbus": format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:{MBUS_PORT}"),
           "ntp": [],
           "blobstore": {"provider": "local",
                         "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"}}})
}

/// A CA and a server certificate for one agent address, made by `openssl` in `dir`.
#[derive(Debug, Clone)]
pub struct MbusCerts {
    /// The CA certificate file (what the client trusts).
    pub ca_path: PathBuf,
    /// `env.bosh.mbus.cert` for create_vm: `ca`, `certificate`, `private_key` (PEM).
    pub env_cert: Value,
}

impl MbusCerts {
    /// A fresh CA and a server certificate for IP address `ip`, signed by it.
    pub fn generate(dir: &Path, ip: &str) -> Result<MbusCerts> {
        let f = |name: &str| dir.join(name);
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=bosh-lxd-test-mbus-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &s(f("ca.key")),
            "-out",
            &s(f("ca.crt")),
        ])?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={ip}"),
            "-keyout",
            &s(f("agent.key")),
            "-out",
            &s(f("agent.csr")),
        ])?;
        let ext = format!("subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n");
        std::fs::write(f("agent.ext"), ext).context("writing agent.ext")?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            &s(f("agent.csr")),
            "-CA",
            &s(f("ca.crt")),
            "-CAkey",
            &s(f("ca.key")),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &s(f("agent.ext")),
            "-out",
            &s(f("agent.crt")),
        ])?;
        let read = |name: &str| {
            std::fs::read_to_string(f(name)).with_context(|| format!("reading {name}"))
        };
        let env_cert = json!({"ca": read("ca.crt")?, "certificate": read("agent.crt")?,
                              "private_key": read("agent.key")?});
        Ok(MbusCerts {
            ca_path: f("ca.crt"),
            env_cert,
        })
    }
}

fn openssl(args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    run(&mut cmd)?.ok(&format!("openssl {}", args[0]))?;
    Ok(())
}

/// A client of one agent's HTTPS mbus.
#[derive(Debug, Clone)]
pub struct Mbus {
    url: String,
    ca_path: PathBuf,
    protocol: Option<u32>,
}

impl Mbus {
    /// The agent at `ip`, its certificate checked against `certs`' CA.
    pub fn new(ip: &str, certs: &MbusCerts) -> Mbus {
        Mbus {
            url: format!("https://{ip}:{MBUS_PORT}/agent"),
            ca_path: certs.ca_path.clone(),
            protocol: None,
        }
    }

    /// The same client, sending `protocol: version` in each message as a director does
    /// (the agent's `stop` waits for monit through its CLI from protocol 2 on).
    pub fn with_protocol(&self, version: u32) -> Mbus {
        Mbus {
            protocol: Some(version),
            ..self.clone()
        }
    }

    /// Sends one message; the agent's whole answer (`value` or `exception`).
    pub fn send(&self, method: &str, arguments: Value) -> Result<Value> {
        let mut body = json!({"method": method, "arguments": arguments,
                              "reply_to": "bosh-lxd-test"});
        if let Some(version) = self.protocol {
            body["protocol"] = json!(version);
        }
        let mut child = Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "30", "--cacert"])
            .arg(&self.ca_path)
            .args(["--user", &format!("mbus:{MBUS_PASSWORD}")])
            .args([
                "--header",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ])
            .args(["--write-out", "\n%{http_code}", &self.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting curl (is the curl CLI installed?)")?;
        let mut stdin = child.stdin.take().context("no stdin pipe")?;
        std::io::Write::write_all(&mut stdin, &serde_json::to_vec(&body)?)?;
        drop(stdin);
        let out = child.wait_with_output().context("waiting for curl")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "curl {method} to {}: {:?}: {}",
                self.url,
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let (json_text, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        if status != "200" {
            bail!("{method} to {}: HTTP {status}: {json_text}", self.url);
        }
        serde_json::from_str(json_text).with_context(|| format!("{method} answered {json_text}"))
    }

    /// `method(arguments)`'s `value`, polling `get_task` while the agent says it runs; an
    /// `exception` is an error. At most `polls` polls, one second apart.
    pub fn call(&self, method: &str, arguments: Value, polls: u32) -> Result<Value> {
        let mut answer = self.send(method, arguments)?;
        for poll in 0..=polls {
            if let Some(e) = answer.get("exception") {
                bail!("{method}: the agent answered an exception: {e}");
            }
            let value = answer.get("value").cloned().unwrap_or(Value::Null);
            let running = value.get("state").and_then(Value::as_str) == Some("running");
            let task = value.get("agent_task_id").and_then(Value::as_str);
            let Some(task) = task.filter(|_| running) else {
                return Ok(value);
            };
            if poll == polls {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
            answer = self.send("get_task", json!([task]))?;
        }
        bail!("{method}: still running after {polls} polls of get_task: {answer}")
    }
}
