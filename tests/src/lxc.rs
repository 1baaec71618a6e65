//! Running the `lxc` client and commands inside containers, and waiting with deadlines.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::daemon::daemon;

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct ExecResult {
    /// Exit code; -1 when the process was killed by a signal.
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl ExecResult {
    /// True when the command exited 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Stdout when the command succeeded, else an error with everything it printed.
    pub fn ok(self, what: &str) -> Result<String> {
        if self.success() {
            Ok(self.stdout)
        } else {
            bail!(
                "{what} exited {}\nstdout: {}\nstderr: {}",
                self.code,
                self.stdout.trim(),
                self.stderr.trim()
            )
        }
    }
}

/// Fails with a message that says how to start the daemon when it does not answer.
pub fn require_lxd() -> Result<()> {
    let (socket, name) = (daemon().socket, daemon().name());
    let answer = (|| -> std::io::Result<String> {
        let mut s = UnixStream::connect(socket)?;
        // A busy daemon (an image unpack, a restart) can take a while to answer.
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.write_all(b"GET /1.0 HTTP/1.1\r\nHost: lxd\r\nConnection: close\r\n\r\n")?;
        // The status line is all we need: read the first chunk of the answer.
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    })();
    match answer {
        Ok(text) if text.starts_with("HTTP/1.1 200") => Ok(()),
        Ok(text) => bail!(
            "{name} at {socket} answered unexpectedly ({}); run `sudo scripts/setup-host`",
            text.lines().next().unwrap_or("")
        ),
        Err(e) => bail!(
            "{name} is not reachable at {socket}: {e}. Start it with `sudo scripts/setup-host` \
             (installs and starts lxcfs, LXD and Incus, their pools and bridges)"
        ),
    }
}

/// Runs the daemon's client (`lxc`, or `incus`) with ARGS and returns what it printed.
pub fn lxc(args: &[&str]) -> Result<ExecResult> {
    run(Command::new(daemon().cli).args(args))
}

/// Like [`lxc`], returning stdout and failing with stderr when the client fails.
pub fn lxc_ok(args: &[&str]) -> Result<String> {
    lxc(args)?.ok(&format!("{} {}", daemon().cli, args.join(" ")))
}

/// Runs a prepared command to completion.
pub fn run(cmd: &mut Command) -> Result<ExecResult> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    Ok(ExecResult {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Polls `probe` until it returns `Some`, or fails after `timeout` naming `what`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut last_err = None;
    loop {
        match probe() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if start.elapsed() > timeout {
            match last_err {
                Some(e) => bail!("timed out after {timeout:?} waiting for {what}: {e:#}"),
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
