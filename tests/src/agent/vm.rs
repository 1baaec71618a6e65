//! A VM made through the CPI from the real-agent fixture stemcell ([`AgentVm`]): its mbus,
//! its agent's starts and log, `get_state` checks, and a monit job (`sleeper`) for the
//! processes monit reports.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{AGENT_LOG_DIR, Mbus, MbusCerts, create_env_agent_section, real_agent_stemcell};
use crate::Project;
use crate::cpi::Cpi;
use crate::cpi::fixture::{VmFixture, manual_network, random_ip};

/// monit's control file and the wrapper the stemcell's tools call monit through.
pub const MONIT: [&str; 3] = [
    "/var/vcap/bosh/bin/monit",
    "-c",
    "/var/vcap/bosh/etc/monitrc",
];

/// A monit job in group `vcap`, as the agent's apply would write one: a `sleep` that
/// monit starts and watches through its pid file.
pub const SLEEPER_MONITRC: &str = r#"check process sleeper with pidfile /var/vcap/sys/run/sleeper.pid
  start program "/bin/sh -c 'sleep 100000 >/dev/null 2>&1 & echo $! >/var/vcap/sys/run/sleeper.pid'"
  stop program "/bin/sh -c 'kill $(cat /var/vcap/sys/run/sleeper.pid)'"
  group vcap
"#;

/// Pings until the agent answers `pong`, at most `polls` times, a second apart; the last
/// error if it never does.
pub fn wait_for_pong(mbus: &Mbus, polls: u32) -> Result<()> {
    let mut last = String::new();
    for _ in 0..polls {
        match mbus.call("ping", json!([]), 0) {
            Ok(v) if v == "pong" => return Ok(()),
            Ok(v) => last = format!("ping answered {v}"),
            Err(e) => last = format!("{e:#}"),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    bail!("the agent did not answer ping after {polls} tries; last: {last}")
}

/// The agent's whole log, oldest first (svlogd's rotated files, then `current`).
pub fn agent_log_text(f: &VmFixture, vm: &str) -> Result<String> {
    f.exec(
        vm,
        &[
            "sh",
            "-c",
            // Rotated files are named by their TAI64N time: the glob's order is theirs.
            &format!(
                "for f in {AGENT_LOG_DIR}/@*; do [ ! -e \"$f\" ] || cat \"$f\"; done && \
                 cat {AGENT_LOG_DIR}/current"
            ),
        ],
    )
}

/// How many times the agent process started, from its log: the agent logs
/// `Starting agent` first thing.
pub fn agent_starts(f: &VmFixture, vm: &str) -> Result<usize> {
    let log = agent_log_text(f, vm)?;
    Ok(log.lines().filter(|l| l.contains("Starting agent")).count())
}

/// The commands the agent ran (`Running command '...'` in its log, the quoted part) after
/// the first `skip` of them.
pub fn agent_commands(f: &VmFixture, vm: &str, skip: usize) -> Result<Vec<String>> {
    let log = agent_log_text(f, vm)?;
    let commands = log.lines().filter_map(|l| {
        let (_, rest) = l.split_once("Running command '")?;
        Some(rest.rsplit_once('\'').map_or(rest, |(c, _)| c).to_owned())
    });
    Ok(commands.skip(skip).collect())
}

/// The container's uptime in seconds, as processes in it see it (`/proc/uptime`).
pub fn container_uptime(f: &VmFixture, vm: &str) -> Result<f64> {
    let text = f.exec(vm, &["cat", "/proc/uptime"])?;
    let first = text
        .split_whitespace()
        .next()
        .context("empty /proc/uptime")?;
    first
        .parse()
        .with_context(|| format!("/proc/uptime: {text}"))
}

/// The tail of the agent's log, for a failure message.
pub fn agent_log(f: &VmFixture, vm: &str) -> String {
    f.exec(
        vm,
        &["tail", "-n", "60", &format!("{AGENT_LOG_DIR}/current")],
    )
    .unwrap_or_else(|e| format!("(no agent log: {e:#})"))
}

/// Checks a `get_state ["full"]` answer: vitals, and every process uptime within the
/// container's.
pub fn check_state(f: &VmFixture, vm: &str, state: Value) -> Result<Value> {
    let vitals = &state["vitals"];
    for key in ["cpu", "mem", "load", "disk"] {
        if vitals.get(key).is_none() {
            bail!("get_state full has no vitals.{key}: {state:#}");
        }
    }
    if vitals["disk"].get("system").is_none() {
        bail!("get_state full has no vitals.disk.system: {state:#}");
    }
    let uptime = container_uptime(f, vm)?;
    let processes = state["processes"].as_array().cloned().unwrap_or_default();
    for p in &processes {
        let secs = p["uptime"]["secs"]
            .as_f64()
            .with_context(|| format!("process without uptime.secs: {p}"))?;
        if !(0.0..=uptime).contains(&secs) {
            bail!("process uptime {secs} s is not within the container's {uptime} s: {p}");
        }
    }
    Ok(state)
}

/// A VM from the real-agent stemcell with a static address and mbus certificates in its
/// `env`, created through the CPI (deleted on drop).
pub struct AgentVm {
    /// The project, CPI and uploaded stemcell.
    pub f: VmFixture,
    /// The VM CID.
    pub vm: String,
    /// Its agent's mbus.
    pub mbus: Mbus,
    _dir: tempfile::TempDir,
}

impl AgentVm {
    /// Uploads the real-agent stemcell and creates the VM.
    pub fn create() -> Result<AgentVm> {
        let project = Project::for_run()?;
        let cpi = Cpi::with_agent(&project, create_env_agent_section())?;
        let f = VmFixture::upload(project, cpi, &real_agent_stemcell()?)?;
        let dir = tempfile::tempdir()?;
        let ip = random_ip();
        let certs = MbusCerts::generate(dir.path(), &ip)?;
        let env = json!({"bosh": {"mbus": {"cert": certs.env_cert}}});
        let networks = json!({"default": manual_network(&ip, true)});
        let (vm, _) = f.create_vm(&VmFixture::agent_id(), json!({}), networks, env)?;
        let mbus = Mbus::new(&ip, &certs);
        Ok(AgentVm {
            f,
            vm,
            mbus,
            _dir: dir,
        })
    }

    /// Runs `check`; on failure, prints the agent's log first.
    pub fn check(&self, check: impl FnOnce(&AgentVm) -> Result<()>) {
        if let Err(e) = check(self) {
            eprintln!(
                "agent log of {}:\n{}",
                self.vm,
                agent_log(&self.f, &self.vm)
            );
            panic!("{e:#}");
        }
    }

    /// Runs `script` with `sh -c` in the VM; its stdout, failing unless it exits 0.
    pub fn sh(&self, script: &str) -> Result<String> {
        self.f.exec(&self.vm, &["sh", "-c", script])
    }

    /// Pings for twenty more seconds: a restart loop would show up as more starts.
    pub fn keep_pinging(&self) -> Result<()> {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_secs(1));
            if self.mbus.call("ping", json!([]), 0)? != "pong" {
                bail!("ping stopped answering pong");
            }
        }
        Ok(())
    }

    /// Fails unless the agent's log shows exactly `want` starts.
    pub fn expect_starts(&self, want: usize) -> Result<()> {
        let starts = agent_starts(&self.f, &self.vm)?;
        if starts != want {
            bail!("the agent started {starts} times, not {want} (one per boot)");
        }
        Ok(())
    }

    /// `get_state full` once monit reports the sleeper running with an uptime (at most 90
    /// polls), checked by [`check_state`].
    pub fn state_with_sleeper(&self) -> Result<Value> {
        let mut last = Value::Null;
        for _ in 0..90 {
            last = self.mbus.call("get_state", json!(["full"]), 60)?;
            let procs = last["processes"].as_array().cloned().unwrap_or_default();
            // Running, and for at least a second by monit's count: a clock mix-up that
            // makes monit clamp the uptime to 0 keeps this loop waiting.
            let up = |p: &Value| p["uptime"]["secs"].as_f64().is_some_and(|s| s > 0.0);
            let ready = |p: &Value| p["name"] == "sleeper" && p["state"] == "running" && up(p);
            if procs.iter().any(ready) {
                return check_state(&self.f, &self.vm, last);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        bail!("monit never reported the sleeper running; last get_state: {last}")
    }

    /// Monit reports the sleeper not running and its pid is no live process (monit acts
    /// on its next wake-up: at most 60 polls, a second apart).
    pub fn expect_sleeper_gone(&self) -> Result<()> {
        let alive = "kill -0 \"$(cat /var/vcap/sys/run/sleeper.pid)\" 2>/dev/null && echo alive || echo gone";
        let mut last = String::new();
        for _ in 0..60 {
            let state = self.mbus.call("get_state", json!(["full"]), 60)?;
            let procs = state["processes"].as_array().cloned().unwrap_or_default();
            let running = |p: &Value| p["name"] == "sleeper" && p["state"] == "running";
            let out = self.f.exec(&self.vm, &["sh", "-c", alive])?;
            if !procs.iter().any(running) && out.trim() == "gone" {
                return Ok(());
            }
            last = format!(
                "process {}; get_state processes: {}",
                out.trim(),
                state["processes"]
            );
            std::thread::sleep(Duration::from_secs(1));
        }
        bail!("the sleeper still runs after stop: {last}")
    }

    /// The director's `stop` before it changes disks (protocol 3, as the director and
    /// `create-env` send it): the agent stops the jobs through monit; the sleeper is gone.
    pub fn stop_jobs(&self) -> Result<()> {
        let stopped = self.mbus.with_protocol(3).call("stop", json!([]), 120)?;
        if stopped != "stopped" {
            bail!("stop answered {stopped}, not \"stopped\"");
        }
        self.expect_sleeper_gone()
    }

    /// The director's `start` after the disk changes: the agent starts the jobs through
    /// monit, and monit reports the sleeper running ([`AgentVm::state_with_sleeper`]).
    pub fn start_jobs(&self) -> Result<Value> {
        let started = self.mbus.with_protocol(3).call("start", json!([]), 120)?;
        if started != "started" {
            bail!("start answered {started}, not \"started\"");
        }
        self.state_with_sleeper()
    }

    /// Writes the sleeper job's monitrc (monit reads it at its next start or reload).
    pub fn add_sleeper_job(&self) -> Result<()> {
        self.sh(&format!(
            "mkdir -p /var/vcap/monit/job && cat >/var/vcap/monit/job/sleeper.monitrc <<'EOF'\n\
             {SLEEPER_MONITRC}EOF\nchmod 0600 /var/vcap/monit/job/sleeper.monitrc"
        ))?;
        Ok(())
    }

    /// `monit reload`: monit reads its job files again and starts what is new.
    pub fn reload_monit(&self) -> Result<()> {
        let mut argv = MONIT.to_vec();
        argv.push("reload");
        self.f.exec(&self.vm, &argv)?;
        Ok(())
    }
}

impl Drop for AgentVm {
    fn drop(&mut self) {
        self.f.cpi.cleanup_call("delete_vm", json!([self.vm]));
    }
}
