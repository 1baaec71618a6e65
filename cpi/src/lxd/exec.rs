//! Running a command in an instance (`POST /1.0/instances/<name>/exec`) without websockets.
//!
//! With `record-output: true` and `wait-for-websocket: false` LXD runs the
//! command on its own, writes stdout and stderr to log files of the instance
//! and ends the operation with `metadata.return` (the exit code) and
//! `metadata.output` (`{"1": "<stdout log path>", "2": "<stderr log path>"}`).
//! The logs are fetched from those paths and then deleted. A command that cannot
//! be started (`Command not found`) ends the operation in `Failure` but still
//! with a `return` (127) and output paths: it is reported as an exit code too. Incus
//! answers the operation's wait with a 400 `Command not found` instead: also 127.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use serde::{Deserialize, Serialize};

use super::client::{Client, Started};
use super::envelope::decode_envelope;
use super::error::{COMMAND_NOT_FOUND, LxdError, LxdErrorKind};

use super::paths::{instance_path, scope_to_project};
use super::wire::RequestBody;

/// `POST /1.0/instances/<name>/exec` body (`api.InstanceExecPost`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceExecPost {
    /// argv; the first element is looked up in the guest's PATH.
    pub command: Vec<String>,
    /// Environment variables for the command.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Always false: no websocket is ever attached.
    #[serde(rename = "wait-for-websocket")]
    pub wait_for_websocket: bool,
    /// Always false: no terminal.
    pub interactive: bool,
    /// Always true: output goes to log files that are fetched afterwards.
    #[serde(rename = "record-output")]
    pub record_output: bool,
    /// Working directory in the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

impl InstanceExecPost {
    /// Runs `command` with recorded output and no environment.
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        InstanceExecPost {
            command: command.into_iter().map(Into::into).collect(),
            environment: BTreeMap::new(),
            wait_for_websocket: false,
            interactive: false,
            record_output: true,
            cwd: None,
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.insert(key.into(), value.into());
        self
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code (127 when the command was not found).
    pub exit_code: i64,
    /// Everything it wrote to stdout.
    pub stdout: Bytes,
    /// Everything it wrote to stderr (LXD's own error when it could not start and wrote nothing).
    pub stderr: Bytes,
}

impl ExecOutput {
    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The parts of a finished exec operation's metadata that matter.
#[derive(Debug, Default, Deserialize)]
struct ExecResult {
    #[serde(rename = "return")]
    exit_code: Option<i64>,
    #[serde(default)]
    output: BTreeMap<String, String>,
}

impl Client {
    /// Runs a command in a running instance and waits for it, at most `timeout`.
    /// A non-zero exit code is not an error; check [`ExecOutput::exit_code`].
    pub async fn exec(
        &self,
        instance: &str,
        req: &InstanceExecPost,
        timeout: Duration,
    ) -> Result<ExecOutput, LxdError> {
        let deadline = Instant::now() + timeout;
        let path = format!("{}/exec", instance_path(instance));
        let method = Method::POST;
        tracing::debug!(instance, command = ?req.command, "exec");
        let Started::Operation(op) = self.start(method.clone(), &path, Some(req), None).await?
        else {
            return Err(LxdError::decode(
                method.as_str(),
                &path,
                "exec answered sync; expected an operation",
            ));
        };
        let done = match self.wait_operation(&op.id, deadline).await {
            Ok(done) => done,
            Err(e) if matches!(e.kind(), LxdErrorKind::Timeout { .. }) => {
                // Best effort: LXD may not allow cancelling an exec; the command
                // then keeps running in the guest and the caller learns of the timeout.
                if let Err(e) = self.cancel_operation(&op.id).await {
                    tracing::warn!(operation = %op.id, error = %e, "could not cancel timed-out exec");
                }
                return Err(e.for_request(method.as_str(), &path));
            }
            // Incus answers the wait of a command it could not start with a bare 400.
            Err(e) if e.kind() == &LxdErrorKind::CommandNotFound => {
                return Ok(ExecOutput {
                    exit_code: 127,
                    stdout: Bytes::new(),
                    stderr: Bytes::from_static(COMMAND_NOT_FOUND.as_bytes()),
                });
            }
            Err(e) => return Err(e),
        };
        let result: ExecResult = serde_json::from_value(done.metadata.clone()).unwrap_or_default();
        let Some(exit_code) = result.exit_code else {
            let err = if done.err.is_empty() {
                done.status.clone()
            } else {
                done.err.clone()
            };
            return Err(LxdError::from_operation(
                method.as_str(),
                &path,
                &done.id,
                &err,
            ));
        };
        let stdout = self.take_log(result.output.get("1")).await?;
        let mut stderr = self.take_log(result.output.get("2")).await?;
        if !done.succeeded() && stderr.is_empty() {
            stderr = Bytes::from(done.err.clone().into_bytes());
        }
        Ok(ExecOutput {
            exit_code,
            stdout,
            stderr,
        })
    }

    /// Downloads a recorded output log, then deletes it so that logs do not pile up.
    async fn take_log(&self, log_path: Option<&String>) -> Result<Bytes, LxdError> {
        let Some(log_path) = log_path else {
            return Ok(Bytes::new());
        };
        let raw = self
            .raw(Method::GET, log_path, &[], RequestBody::Empty)
            .await?;
        if !raw.status.is_success() {
            let scoped = scope_to_project(log_path, self.project());
            decode_envelope("GET", &scoped, raw.status.as_u16(), &raw.body)?;
            return Err(LxdError::from_status(
                "GET",
                &scoped,
                raw.status.as_u16(),
                "log download failed",
            ));
        }
        if let Err(e) = self
            .send(Method::DELETE, log_path, &[], RequestBody::Empty)
            .await
        {
            tracing::warn!(log = %log_path, error = %e, "could not delete exec output log");
        }
        Ok(raw.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_post_shape() {
        let req = InstanceExecPost::new(["/bin/sh", "-c", "true"]).env("A", "b");
        let v = serde_json::to_value(&req).unwrap_or_default();
        let want = serde_json::json!({
            "command": ["/bin/sh", "-c", "true"],
            "environment": {"A": "b"},
            "wait-for-websocket": false,
            "interactive": false,
            "record-output": true
        });
        assert_eq!(v, want);
    }

    #[test]
    fn exec_result_decoding() {
        let cases = [
            (
                "success",
                r#"{"output":{"1":"/1.0/instances/c1/logs/exec_x.stdout","2":"/1.0/instances/c1/logs/exec_x.stderr"},"return":3}"#,
                Some(3),
                2,
            ),
            (
                "not found",
                r#"{"output":{"1":"a","2":"b"},"return":127}"#,
                Some(127),
                2,
            ),
            ("no return", r#"null"#, None, 0),
        ];
        for (name, json, code, outputs) in cases {
            let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
            let r: ExecResult = serde_json::from_value(v).unwrap_or_default();
            assert_eq!(
                (r.exit_code, r.output.len()),
                (code, outputs),
                "case {name}"
            );
        }
    }
}
