//! `cpi doctor` as an operator runs it: the built `cpi` binary with `doctor --config FILE`,
//! its lines (`ok`, `WARN`, `FAIL`, `skip` and a subject) and its exit status; and the
//! daemon state a read-only run must leave as it found it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::cpi::cpi_binary;
use crate::lxc::lxc_ok;
use crate::{TEST_POOL, daemon};

/// What one `cpi doctor` run printed and how it exited.
#[derive(Debug, Clone)]
pub struct DoctorRun {
    /// The exit status (`None`: killed by a signal).
    pub code: Option<i32>,
    /// The report: one line per check and a count.
    pub stdout: String,
    /// Anything logged.
    pub stderr: String,
}

impl DoctorRun {
    /// The line of the check whose subject starts with `subject` (`daemon`, `project`...).
    pub fn line(&self, subject: &str) -> Option<&str> {
        self.stdout
            .lines()
            .find(|l| l.get(5..).is_some_and(|rest| rest.starts_with(subject)))
    }

    /// The `FAIL` lines.
    pub fn failures(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .collect()
    }
}

impl std::fmt::Display for DoctorRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout:\n{}stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cpi doctor --config <config>` with an almost empty environment, as over ssh.
pub fn doctor(config: &Path) -> Result<DoctorRun> {
    let binary = cpi_binary()?;
    let out = Command::new(&binary)
        .arg("doctor")
        .arg("--config")
        .arg(config)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .with_context(|| format!("running {} doctor", binary.display()))?;
    Ok(DoctorRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The `lxd` section for the daemon's unix socket and `project`, with the tests' bridge
/// and pool.
pub fn unix_lxd_section(project: &str) -> Value {
    json!({"url": format!("unix://{}", daemon().socket), "project": project,
           "profile": "default", "network": daemon().bridge, "storage_pool": TEST_POOL})
}

/// What a read-only run must not change in `project`: its own config and description,
/// its profiles (the CPI's locks are profiles), and the server's config.
pub fn daemon_state(project: &str) -> Result<Value> {
    let query = |path: &str| -> Result<Value> {
        let out = lxc_ok(&["query", path])?;
        serde_json::from_str(&out).with_context(|| format!("decoding lxc query {path}"))
    };
    let mut project_json = query(&format!("/1.0/projects/{project}"))?;
    // used_by lists what the project holds, compared below through the profiles.
    if let Some(obj) = project_json.as_object_mut() {
        obj.remove("used_by");
    }
    Ok(json!({
        "project": project_json,
        "profiles": query(&format!("/1.0/profiles?recursion=1&project={project}"))?,
        "volumes": query(&format!("/1.0/storage-pools/{TEST_POOL}/volumes?project={project}"))?,
        "server_config": query("/1.0")?["config"],
    }))
}
