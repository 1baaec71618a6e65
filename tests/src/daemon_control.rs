//! Stopping and starting the daemon `scripts/setup-host` started, for the
//! daemon-disruptive tests: [`Daemon::restart`], [`Daemon::stop`], [`Daemon::start`].
//! Apart from [`mod@crate::daemon`] because waiting for it to answer again goes through
//! [`mod@crate::lxc`], which asks [`mod@crate::daemon`] which daemon to talk to.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::daemon::{Daemon, kill};
use crate::lxc::{require_lxd, wait_for};
use crate::workspace_root;

impl Daemon {
    /// Stops the daemon `scripts/setup-host` started with `signal`, then starts it again
    /// (see [`Daemon::stop`] and [`Daemon::start`]).
    pub fn restart(&self, signal: &str) -> Result<()> {
        self.stop(signal)?;
        self.start()
    }

    /// Sends `signal` to the daemon `scripts/setup-host` started (`TERM`: a clean stop,
    /// running containers keep running; `KILL`: a crash) and waits for it to exit.
    pub fn stop(&self, signal: &str) -> Result<()> {
        let pid = std::fs::read_to_string(self.pid_file).with_context(|| {
            format!(
                "{}: was {} started by scripts/setup-host?",
                self.pid_file,
                self.name()
            )
        })?;
        let pid = pid.trim();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        ensure!(
            comm.trim() == self.comm,
            "pid {pid} from {} is not the {} daemon ({:?})",
            self.pid_file,
            self.name(),
            comm.trim()
        );
        kill(signal, pid)?;
        wait_for(
            &format!("the old {} daemon to exit", self.name()),
            Duration::from_secs(120),
            || Ok((!Path::new(&format!("/proc/{pid}")).exists()).then_some(())),
        )
    }

    /// Starts the daemon through `scripts/setup-host` and waits until it answers.
    pub fn start(&self) -> Result<()> {
        let out = Command::new(workspace_root().join("scripts/setup-host"))
            .output()
            .context("running scripts/setup-host")?;
        if !out.status.success() {
            bail!(
                "setup-host failed to start {}: {}",
                self.name(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        wait_for(
            &format!("{} to answer again", self.name()),
            Duration::from_secs(120),
            || Ok(require_lxd().ok()),
        )
    }
}
