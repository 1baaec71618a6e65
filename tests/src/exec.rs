//! Commands inside test containers through the exec API with recorded output, not `lxc exec`.
//!
//! `lxc exec` streams output over websockets, and under load LXD 5.0 sometimes loses all of
//! a short command's output while reporting success (canonical/lxd#11422; seen here as an
//! empty `cat /sys/class/net/eth0/address` during a CI run). With `record-output` the
//! daemon writes stdout and stderr to log files of the instance before the operation
//! ends; they are read and deleted afterwards. Requests go through `curl --unix-socket`.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::daemon::daemon;
use crate::lxc::{ExecResult, run};

/// How long one command may run (the wait is renewed until then).
const WAIT_SECS: u64 = 600;

/// One request to the daemon; the raw body, failing on a transport error.
fn request(method: &str, path: &str, body: Option<&Value>) -> Result<String> {
    let url = format!("http://daemon{path}");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--unix-socket", daemon().socket, "-X", method]);
    let text;
    if let Some(body) = body {
        text = body.to_string();
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &text,
        ]);
    }
    cmd.arg(&url);
    run(&mut cmd)?.ok(&format!("curl {method} {path}"))
}

fn with_project(path: &str, project: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}project={project}")
}

/// Runs `cmd` in `instance` of `project` and returns its exit code and recorded output.
pub fn exec(project: &str, instance: &str, cmd: &[&str]) -> Result<ExecResult> {
    let body = json!({"command": cmd, "record-output": true, "interactive": false,
        "wait-for-websocket": false, "environment": {}});
    let path = with_project(&format!("/1.0/instances/{instance}/exec"), project);
    let started: Value = serde_json::from_str(&request("POST", &path, Some(&body))?)
        .with_context(|| format!("exec in {instance}: the answer is not JSON"))?;
    let Some(op) = started["operation"].as_str().filter(|o| !o.is_empty()) else {
        bail!("exec {cmd:?} in {instance}: {}", started["error"]);
    };
    let wait = with_project(&format!("{op}/wait?timeout={WAIT_SECS}"), project);
    let done: Value = serde_json::from_str(&request("GET", &wait, None)?)
        .with_context(|| format!("waiting for exec in {instance}: the answer is not JSON"))?;
    let meta = &done["metadata"]["metadata"];
    let Some(code) = meta["return"].as_i64() else {
        // Incus answers the wait of a command it could not start with a bare error.
        let error = done["error"].as_str().unwrap_or_default();
        if error == "Command not found" {
            return Ok(ExecResult {
                code: 127,
                stdout: String::new(),
                stderr: error.to_owned(),
            });
        }
        bail!("exec {cmd:?} in {instance} ended without an exit code: {done}");
    };
    let log = |fd: &str| -> Result<String> {
        let Some(log) = meta["output"][fd].as_str() else {
            return Ok(String::new());
        };
        let log = with_project(log, project);
        let text = request("GET", &log, None)?;
        request("DELETE", &log, None)?;
        Ok(text)
    };
    Ok(ExecResult {
        code: i32::try_from(code).unwrap_or(-1),
        stdout: log("1")?,
        stderr: log("2")?,
    })
}
