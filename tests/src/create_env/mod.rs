//! `bosh create-env` with the real CLI against LXD or Incus: the manifest
//! `tests/create-env/manifest.yml` deployed into an isolated project of the run, its
//! vars, state, vars-store and the CLI's home in a scratch directory, and what a user
//! checks afterwards: the agent over its HTTPS mbus (certificates from the vars-store),
//! the job's checksummed file on the persistent disk, and what LXD holds.

pub mod check;
pub mod inputs;
pub mod timing;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::agent::{Mbus, MbusCerts};
use crate::cpi::MBUS_PASSWORD;
use crate::cpi::fixture::random_ip;
use crate::project::Project;
use crate::tools::bosh_cli;
use crate::yaml::load_yaml;
use crate::{TEST_POOL, daemon, workspace_root};
use inputs::{Inputs, STORER_RELEASE};
use timing::{Call, cpi_calls};

/// Where the `storer` job keeps its data on the persistent disk.
pub const STORE_DIR: &str = "/var/vcap/store/storer";

/// One create-env or delete-env run: what the CLI printed, its wall time, the CPI calls.
#[derive(Debug)]
pub struct Run {
    /// stdout and stderr.
    pub output: String,
    /// Wall time of the CLI.
    pub wall: Duration,
    /// Each CPI call with its time, from the CPI's log.
    pub calls: Vec<Call>,
}

impl Run {
    /// Whether the CLI said it had nothing to deploy.
    pub fn skipped_deploy(&self) -> bool {
        self.output
            .contains("No deployment, stemcell or release changes. Skipping deploy.")
    }

    /// The methods called, in order.
    pub fn methods(&self) -> Vec<&str> {
        self.calls.iter().map(|c| c.method.as_str()).collect()
    }
}

/// A create-env environment: the project, the scratch directory and the vars.
#[derive(Debug)]
pub struct Env {
    /// The environment's own project (deleted on drop).
    pub project: Project,
    dir: Scratch,
    /// The VM's static address.
    pub ip: String,
    vars: Map<String, Value>,
    ops: Vec<PathBuf>,
    runs: u32,
}

impl Env {
    /// An environment in a new project, the CPI on the daemon's unix socket; `lxd`, when
    /// given, replaces the CPI's whole `lxd` section (an ops file).
    pub fn new(inputs: &Inputs, lxd: Option<Value>) -> Result<Env> {
        let project = Project::extra("ce")?;
        Self::in_project(project, inputs, lxd)
    }

    /// [`Env::new`] in `project`.
    pub fn in_project(project: Project, inputs: &Inputs, lxd: Option<Value>) -> Result<Env> {
        let dir = Scratch::new()?;
        let ip = random_ip();
        let d = daemon();
        let p = |p: &PathBuf| p.to_string_lossy().into_owned();
        let vars = json!({
            "cpi_release_version": inputs.cpi_version, "cpi_release_path": p(&inputs.cpi_release),
            "storer_release_version": STORER_RELEASE.1,
            "storer_release_path": p(&inputs.storer_release),
            "stemcell_path": p(&inputs.stemcell),
            "subnet_range": format!("{}.0.0/16", d.net), "gateway": d.gateway(),
            "internal_ip": ip, "network_name": d.bridge, "persistent_disk_mb": 1024,
            "lxd_socket": d.socket, "lxd_project_name": project.name(),
            "storage_pool_name": TEST_POOL, "mbus_bootstrap_password": MBUS_PASSWORD,
        });
        let Value::Object(vars) = vars else {
            bail!("vars are not an object")
        };
        let mut env = Env {
            project,
            dir,
            ip,
            vars,
            ops: Vec::new(),
            runs: 0,
        };
        if let Some(lxd) = lxd {
            env.add_ops(
                "lxd.json",
                json!([{"type": "replace", "path": "/cloud_provider/properties/lxd_cpi/lxd",
                        "value": lxd}]),
            )?;
        }
        Ok(env)
    }

    /// Sets (or replaces) a manifest variable.
    pub fn set_var(&mut self, name: &str, value: Value) {
        self.vars.insert(name.to_owned(), value);
    }

    /// Adds an ops file (`ops` as JSON, which YAML reads).
    pub fn add_ops(&mut self, name: &str, ops: Value) -> Result<()> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(&ops)?)?;
        self.ops.push(path);
        Ok(())
    }

    /// `bosh create-env`; an error with the CLI's output when it fails.
    pub fn create_env(&mut self) -> Result<Run> {
        self.cli("create-env")?.ok()
    }

    /// `bosh delete-env`; an error with the CLI's output when it fails.
    pub fn delete_env(&mut self) -> Result<Run> {
        self.cli("delete-env")?.ok()
    }

    /// Runs the CLI with `command` (`create-env`, `delete-env`), successful or not.
    pub fn cli(&mut self, command: &str) -> Result<Outcome> {
        self.runs += 1;
        let d = self.dir.path();
        let vars = d.join("vars.json");
        std::fs::write(&vars, serde_json::to_vec_pretty(&self.vars)?)?;
        let log = d.join(format!("cli-{}-{command}.log", self.runs));
        let mut cmd = std::process::Command::new(bosh_cli()?);
        cmd.args(["-n", "--tty", command])
            .arg(workspace_root().join("tests/create-env/manifest.yml"))
            .arg(format!("--vars-file={}", vars.display()))
            .arg(format!("--vars-store={}", d.join("creds.yml").display()))
            .arg(format!("--state={}", d.join("state.json").display()));
        for ops in &self.ops {
            cmd.arg(format!("--ops-file={}", ops.display()));
        }
        // The CLI's ~/.bosh (its caches, the compiled CPI) stays in the scratch directory.
        cmd.env("HOME", d)
            .env("BOSH_LOG_LEVEL", "debug")
            .env("BOSH_LOG_PATH", &log);
        let start = Instant::now();
        let out = crate::lxc::run(&mut cmd)?;
        let wall = start.elapsed();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let run = Run {
            output: format!("{}{}", out.stdout, out.stderr),
            wall,
            calls: cpi_calls(&text),
        };
        Ok(Outcome {
            success: out.success(),
            command: command.to_owned(),
            run,
        })
    }

    /// The CLI's deployment state (`state.json`).
    pub fn state(&self) -> Result<Value> {
        let path = self.dir.path().join("state.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    /// A client for the VM's agent: the CA from the vars-store.
    pub fn mbus(&self) -> Result<Mbus> {
        let creds = load_yaml(&self.dir.path().join("creds.yml"))?;
        let ca = creds["default_ca"]["ca"]
            .as_str()
            .or_else(|| creds["default_ca"]["certificate"].as_str())
            .context("no default_ca in the vars-store")?;
        let ca_path = self.dir.path().join("mbus-ca.crt");
        std::fs::write(&ca_path, ca)?;
        let certs = MbusCerts {
            ca_path,
            env_cert: Value::Null,
        };
        Ok(Mbus::new(&self.ip, &certs))
    }
}

/// A CLI run that may have failed.
#[derive(Debug)]
pub struct Outcome {
    /// Whether the CLI exited 0.
    pub success: bool,
    command: String,
    /// What it printed and called.
    pub run: Run,
}

impl Outcome {
    /// The run, or an error with its output.
    pub fn ok(self) -> Result<Run> {
        if !self.success {
            bail!("bosh {} failed:\n{}", self.command, self.run.output);
        }
        Ok(self.run)
    }
}

/// The environment's scratch directory (vars, state, vars-store, the CLI's home and
/// logs), removed on drop.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("bosh-lxd-create-env-{}", &id[..12]));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {e}", self.0.display());
        }
    }
}
