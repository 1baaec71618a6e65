//! LXD or Incus over HTTPS for the tests: the daemon's listener on loopback, client
//! certificates made with the openssl CLI and trusted for one project (removed again on
//! drop), and the `cpi` binary configured for `https://`.
//!
//! `core.https_address` is a daemon-wide setting shared by every test process: it is set
//! once, under a lock, to the daemon's [`Daemon::https_address`] when unset, and left set afterwards (setting
//! it again is harmless, unsetting it would break a concurrent test). A value someone
//! else set is used only when LXD listens on loopback there (tests send traffic only to
//! loopback and their own containers), and never changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::TEST_POOL;
use crate::cpi::{CallResult, MBUS_PASSWORD, cpi_binary, decode_response};
use crate::daemon::{Daemon, daemon};
use crate::lxc::{lxc_ok, run};
use crate::project::{Project, lock};

/// Makes sure the daemon listens for HTTPS and returns the loopback address (`HOST:PORT`)
/// to dial: [`Daemon::https_address`] when it was unset, else the one
/// [`loopback_address`] derives from the current value (an error when that is not on
/// loopback).
pub fn https_listener() -> Result<String> {
    let _lock = lock(&format!("https-listener-{}", daemon().cli))?;
    let current = lxc_ok(&["config", "get", "core.https_address"])?
        .trim()
        .to_owned();
    if current.is_empty() {
        let address = daemon().https_address;
        lxc_ok(&["config", "set", "core.https_address", address])?;
        return Ok(address.to_owned());
    }
    loopback_address(&current)
}

/// The loopback `HOST:PORT` at which LXD listens for a `core.https_address` of `value`:
/// `127.x.y.z[:PORT]` and `[::1][:PORT]` as they are, and the any-address forms `:PORT`,
/// `0.0.0.0[:PORT]` and `[::][:PORT]` (which listen on loopback too) as
/// `127.0.0.1:PORT`; the port defaults to 8443, as in LXD. Anything else (another
/// address, a host name) is an error saying what to do.
pub fn loopback_address(value: &str) -> Result<String> {
    let refuse = || {
        let Daemon {
            cli, https_address, ..
        } = daemon();
        anyhow::anyhow!(
            "{}'s core.https_address is {value:?}, not a loopback address: the tests send \
             traffic only to loopback and do not change a listener someone else set. \
             Set it to {https_address} (`{cli} config set core.https_address \
             {https_address}`) or unset it, then run the tests again",
            daemon().name()
        )
    };
    let (host, rest) = match value.strip_prefix('[') {
        Some(v6) => {
            let end = v6.find(']').ok_or_else(refuse)?;
            (&value[..end + 2], &v6[end + 1..])
        }
        None => value.find(':').map_or((value, ""), |i| value.split_at(i)),
    };
    let port: u16 = match rest {
        "" => 8443,
        r => r
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .ok_or_else(refuse)?,
    };
    match host {
        "" | "0.0.0.0" | "[::]" => Ok(format!("127.0.0.1:{port}")),
        "[::1]" => Ok(format!("[::1]:{port}")),
        v4 if v4
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()) =>
        {
            Ok(format!("{v4}:{port}"))
        }
        _ => Err(refuse()),
    }
}

/// The daemon's certificate (PEM text).
pub fn server_cert() -> Result<String> {
    let path = daemon().server_cert();
    std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))
}

/// A client certificate and key (PEM text) made by `openssl`, and its LXD fingerprint.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// PEM certificate.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// SHA-256 of the DER certificate, lowercase hex (`lxc config trust list`).
    pub fingerprint: String,
    /// The certificate file (for `lxc config trust add`).
    pub cert_path: PathBuf,
}

/// The key type of a generated client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// EC P-384, PKCS#8 PEM (what `lxc remote add` makes is similar).
    EcP384,
    /// RSA 2048 in the traditional PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), as bosh-cli's
    /// `certificate` variables hold it.
    RsaPkcs1,
}

impl ClientCert {
    /// A new EC P-384 self-signed client certificate with common name `name`, in `dir`.
    pub fn generate(dir: &Path, name: &str) -> Result<ClientCert> {
        Self::generate_kind(dir, name, KeyKind::EcP384)
    }

    /// A new self-signed client certificate of key type `kind`.
    pub fn generate_kind(dir: &Path, name: &str, kind: KeyKind) -> Result<ClientCert> {
        let cert_path = dir.join(format!("{name}.crt"));
        let key_path = dir.join(format!("{name}.key"));
        let subject = format!("/CN={name}");
        let mut req = Command::new("openssl");
        match kind {
            KeyKind::EcP384 => req
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:secp384r1"]),
            KeyKind::RsaPkcs1 => req.args(["req", "-x509", "-newkey", "rsa:2048"]),
        };
        req.args(["-nodes", "-days", "30"])
            .args(["-subj", &subject, "-keyout"])
            .arg(&key_path)
            .arg("-out")
            .arg(&cert_path);
        run(&mut req)?.ok("openssl req (is the openssl CLI installed?)")?;
        if kind == KeyKind::RsaPkcs1 {
            let mut rsa = Command::new("openssl");
            rsa.args(["rsa", "-traditional", "-in"])
                .arg(&key_path)
                .arg("-out")
                .arg(&key_path);
            run(&mut rsa)?.ok("openssl rsa -traditional")?;
        }
        let mut der = Command::new("openssl");
        der.args(["x509", "-outform", "der", "-in"]).arg(&cert_path);
        let out = der.output().context("running openssl x509")?;
        if !out.status.success() {
            bail!("openssl x509 -outform der failed");
        }
        let fingerprint = sha256_hex(&out.stdout)?;
        Ok(ClientCert {
            cert: std::fs::read_to_string(&cert_path)?,
            key: std::fs::read_to_string(&key_path)?,
            fingerprint,
            cert_path,
        })
    }
}

/// `sha256sum` of bytes, through the coreutils binary (no hashing crate in the harness).
fn sha256_hex(bytes: &[u8]) -> Result<String> {
    let dir = tempfile_dir()?;
    let path = dir.join("der");
    std::fs::write(&path, bytes)?;
    let out = run(Command::new("sha256sum").arg(&path))?.ok("sha256sum")?;
    std::fs::remove_dir_all(&dir).ok();
    out.split_whitespace()
        .next()
        .map(str::to_owned)
        .context("sha256sum printed nothing")
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir =
        std::env::temp_dir().join(format!("bosh-lxd-https-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A trust entry in LXD for a client certificate, restricted to some projects; removed
/// when dropped, whatever the test did.
#[derive(Debug)]
pub struct Trust {
    fingerprint: String,
}

impl Trust {
    /// `lxc config trust add CERT --restricted --projects P1,P2 --name NAME` (Incus:
    /// `incus config trust add-certificate ...`).
    pub fn restricted(cert: &ClientCert, name: &str, projects: &[&str]) -> Result<Trust> {
        let path = cert.cert_path.to_string_lossy().into_owned();
        let projects = projects.join(",");
        lxc_ok(&[
            "config",
            "trust",
            daemon().trust_add,
            &path,
            "--restricted",
            "--projects",
            &projects,
            "--name",
            name,
        ])?;
        Ok(Trust {
            fingerprint: cert.fingerprint.clone(),
        })
    }

    /// A trust entry with no restriction: the certificate may do anything on the daemon
    /// (for the test that `cpi doctor` warns about it; removed on drop like the others).
    pub fn unrestricted(cert: &ClientCert, name: &str) -> Result<Trust> {
        let path = cert.cert_path.to_string_lossy().into_owned();
        lxc_ok(&["config", "trust", daemon().trust_add, &path, "--name", name])?;
        Ok(Trust {
            fingerprint: cert.fingerprint.clone(),
        })
    }
}

impl Drop for Trust {
    fn drop(&mut self) {
        let args = ["config", "trust", "remove", self.fingerprint.as_str()];
        let what = format!("{} {}", daemon().cli, args.join(" "));
        crate::cleanup::cleanup(&what, Command::new(daemon().cli).args(args));
    }
}

/// The `lxd` config section for HTTPS to `address` with `cert`, pinned to the daemon's
/// certificate, for `project`.
pub fn https_lxd_section(address: &str, cert: &ClientCert, project: &str) -> Result<Value> {
    Ok(json!({
        "url": format!("https://{address}"),
        "client_cert": cert.cert, "client_key": cert.key, "server_cert": server_cert()?,
        "project": project, "profile": "default", "network": daemon().bridge,
        "storage_pool": TEST_POOL,
    }))
}

/// The `cpi` binary with a config file whose `lxd` section is given; the file is removed
/// on drop.
#[derive(Debug)]
pub struct ConfiguredCpi {
    binary: PathBuf,
    /// The config file.
    pub config: PathBuf,
}

impl ConfiguredCpi {
    /// Writes a config with `lxd` (and the agent section every test config has).
    pub fn new(lxd: Value) -> Result<ConfiguredCpi> {
        let config = std::env::temp_dir().join(format!(
            "bosh-lxd-https-config-{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&config, serde_json::to_vec_pretty(&config_json(lxd))?)
            .with_context(|| format!("writing {}", config.display()))?;
        Ok(ConfiguredCpi {
            binary: cpi_binary()?,
            config,
        })
    }

    /// `method(arguments)` at API v2 with `context` (director UUID and request id added).
    pub fn call(&self, method: &str, arguments: Value, context: Value) -> Result<CallResult> {
        let request = request_json(method, arguments, context);
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--config").arg(&self.config);
        call_process(cmd, method, &request)
    }

    /// Like [`ConfiguredCpi::call`] with no extra context, failing on an error response.
    pub fn ok(&self, method: &str, arguments: Value) -> Result<Value> {
        let r = self.call(method, arguments, json!({}))?;
        match r.error {
            None => Ok(r.result),
            Some(e) => bail!(
                "cpi {method}: {}: {}\nlog:\n{}",
                e.kind,
                e.message,
                r.stderr
            ),
        }
    }
}

impl Drop for ConfiguredCpi {
    fn drop(&mut self) {
        std::fs::remove_file(&self.config).ok();
    }
}

/// A whole config file around an `lxd` section.
pub fn config_json(lxd: Value) -> Value {
    json!({"log_level": "debug", "lxd": lxd,
        "agent": {"mbus": format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:6868"), "ntp": []}})
}

/// A request envelope; `context` keys are added to the director's own.
pub fn request_json(method: &str, arguments: Value, context: Value) -> Value {
    let mut ctx = json!({"director_uuid": "director-test-0001", "request_id": "cpi-555555"});
    if let (Some(all), Some(extra)) = (ctx.as_object_mut(), context.as_object()) {
        all.extend(extra.clone());
    }
    json!({"method": method, "arguments": arguments, "api_version": 2, "context": ctx})
}

/// Runs a prepared CPI command with `request` on stdin and decodes its one response.
pub fn call_process(mut cmd: Command, method: &str, request: &Value) -> Result<CallResult> {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    stdin.write_all(&serde_json::to_vec(request)?)?;
    drop(stdin);
    let out = child.wait_with_output().context("waiting for the cpi")?;
    decode_response(method, &out.stdout, &String::from_utf8_lossy(&out.stderr))
}

/// A second test project beside the run's (named `<run project>-<suffix>`), deleted on drop.
#[derive(Debug)]
pub struct ExtraProject {
    name: String,
}

impl ExtraProject {
    /// Creates the project with the run project's owner mark, so set-up sweeps it if lost.
    pub fn create(run: &Project, suffix: &str) -> Result<ExtraProject> {
        Self::create_with(
            run,
            suffix,
            &[
                "features.images=true",
                "features.profiles=true",
                "features.storage.volumes=true",
            ],
        )
    }

    /// Like [`ExtraProject::create`] with these config keys (`KEY=VALUE`) instead of the
    /// three features on.
    pub fn create_with(run: &Project, suffix: &str, keys: &[&str]) -> Result<ExtraProject> {
        let name = format!("{}-{suffix}", run.name());
        let owner = crate::project::owner_keys()?;
        let mut args = vec!["project", "create", name.as_str()];
        for key in keys.iter().copied().chain(owner.iter().map(String::as_str)) {
            args.extend(["-c", key]);
        }
        lxc_ok(&args)?;
        Ok(ExtraProject { name })
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ExtraProject {
    fn drop(&mut self) {
        crate::cleanup::delete_project(&self.name, daemon().cli);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_listener_is_used() {
        for (value, want) in [
            ("127.0.0.1:8443", "127.0.0.1:8443"),
            ("127.0.0.1", "127.0.0.1:8443"),
            ("127.0.1.1:9443", "127.0.1.1:9443"),
            ("[::1]:9443", "[::1]:9443"),
            ("[::1]", "[::1]:8443"),
            (":9443", "127.0.0.1:9443"),
            ("0.0.0.0:9443", "127.0.0.1:9443"),
            ("0.0.0.0", "127.0.0.1:8443"),
            ("[::]:9443", "127.0.0.1:9443"),
        ] {
            assert_eq!(
                loopback_address(value).map_err(|e| e.to_string()),
                Ok(want.to_owned()),
                "{value}"
            );
        }
        for value in [
            "192.0.2.10:8443",
            "[2001:db8::1]:8443",
            "lxd.example:8443",
            "localhost:8443",
            "::1",
            "127.0.0.1:http",
            "[::1",
        ] {
            let err = loopback_address(value).expect_err(value).to_string();
            assert!(
                err.contains("not a loopback address") && err.contains(daemon().https_address),
                "{value}: {err}"
            );
        }
    }
}
