//! The real bosh-agent in a VM made by the CPI from the real-agent fixture stemcell,
//! driven over its own HTTPS mbus with the certificates and password the CPI put in its
//! settings: it answers `ping` and `get_state` (vitals, and the uptime monit gives a
//! process of a job), and runit starts it once per boot, after a `reboot_vm` too. Its
//! `stop` and `start` reach monit (through the fixture's CSRF bridge) and stop and start
//! the job's process.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::agent::{
    AGENT_LOG_DIR, Mbus, MbusCerts, create_env_agent_section, real_agent_stemcell,
};
use bosh_lxd_tests::cpi::Cpi;
use bosh_lxd_tests::cpi::fixture::{VmFixture, manual_network, random_ip};
use bosh_lxd_tests::{Project, workspace_root};
use serde_json::{Value, json};

/// Pings until the agent answers `pong`, at most `polls` times, a second apart; the last
/// error if it never does.
fn wait_for_pong(mbus: &Mbus, polls: u32) -> Result<()> {
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

/// How many times the agent process started, from its log (svlogd's current file and any
/// rotated ones): the agent logs `Starting agent` first thing.
fn agent_starts(f: &VmFixture, vm: &str) -> Result<usize> {
    let log = f.exec(
        vm,
        &[
            "sh",
            "-c",
            &format!(
                "find {AGENT_LOG_DIR} -maxdepth 1 -name '@*' -exec cat {{}} + && \
                 cat {AGENT_LOG_DIR}/current"
            ),
        ],
    )?;
    Ok(log.lines().filter(|l| l.contains("Starting agent")).count())
}

/// The container's uptime in seconds, as processes in it see it (`/proc/uptime`).
fn container_uptime(f: &VmFixture, vm: &str) -> Result<f64> {
    let text = f.exec(vm, &["cat", "/proc/uptime"])?;
    let first = text
        .split_whitespace()
        .next()
        .context("empty /proc/uptime")?;
    first
        .parse()
        .with_context(|| format!("/proc/uptime: {text}"))
}

/// The agent's log, for a failure message.
fn agent_log(f: &VmFixture, vm: &str) -> String {
    f.exec(
        vm,
        &["tail", "-n", "60", &format!("{AGENT_LOG_DIR}/current")],
    )
    .unwrap_or_else(|e| format!("(no agent log: {e:#})"))
}

/// Checks `get_state ["full"]`: vitals, and every process uptime within the container's.
fn check_full_state(f: &VmFixture, vm: &str, mbus: &Mbus) -> Result<Value> {
    let state = mbus.call("get_state", json!(["full"]), 60)?;
    check_state(f, vm, state)
}

fn check_state(f: &VmFixture, vm: &str, state: Value) -> Result<Value> {
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

/// A monit job in group `vcap`, as the agent's apply would write one: a `sleep` that
/// monit starts and watches through its pid file.
const SLEEPER_MONITRC: &str = r#"check process sleeper with pidfile /var/vcap/sys/run/sleeper.pid
  start program "/bin/sh -c 'sleep 100000 >/dev/null 2>&1 & echo $! >/var/vcap/sys/run/sleeper.pid'"
  stop program "/bin/sh -c 'kill $(cat /var/vcap/sys/run/sleeper.pid)'"
  group vcap
"#;

/// A VM from the real-agent stemcell with a static address and mbus certificates in its
/// `env`, created through the CPI (deleted on drop).
struct AgentVm {
    f: VmFixture,
    vm: String,
    mbus: Mbus,
    _dir: tempfile::TempDir,
}

impl AgentVm {
    fn create() -> Result<AgentVm> {
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
    fn check(&self, check: impl FnOnce(&AgentVm) -> Result<()>) {
        if let Err(e) = check(self) {
            eprintln!(
                "agent log of {}:\n{}",
                self.vm,
                agent_log(&self.f, &self.vm)
            );
            panic!("{e:#}");
        }
    }

    /// Pings for twenty more seconds: a restart loop would show up as more starts.
    fn keep_pinging(&self) -> Result<()> {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_secs(1));
            if self.mbus.call("ping", json!([]), 0)? != "pong" {
                bail!("ping stopped answering pong");
            }
        }
        Ok(())
    }

    fn expect_starts(&self, want: usize) -> Result<()> {
        let starts = agent_starts(&self.f, &self.vm)?;
        if starts != want {
            bail!("the agent started {starts} times, not {want} (one per boot)");
        }
        Ok(())
    }

    /// `get_state full` once monit reports the sleeper running with an uptime (at most 90
    /// polls), checked by [`check_state`].
    fn state_with_sleeper(&self) -> Result<Value> {
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
    fn expect_sleeper_gone(&self) -> Result<()> {
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

    fn add_sleeper_job(&self) -> Result<()> {
        let script = format!(
            "mkdir -p /var/vcap/monit/job && cat >/var/vcap/monit/job/sleeper.monitrc <<'EOF'\n\
             {SLEEPER_MONITRC}EOF\nchmod 0600 /var/vcap/monit/job/sleeper.monitrc"
        );
        self.f.exec(&self.vm, &["sh", "-c", &script])?;
        Ok(())
    }
}

impl Drop for AgentVm {
    fn drop(&mut self) {
        self.f.cpi.cleanup_call("delete_vm", json!([self.vm]));
    }
}

#[test]
fn the_real_agent_boots_once_and_answers_over_its_https_mbus() {
    let a = AgentVm::create().expect("a VM from the real-agent stemcell");
    a.check(|a| {
        wait_for_pong(&a.mbus, 120)?;
        let state = check_full_state(&a.f, &a.vm, &a.mbus)?;
        eprintln!("get_state full: {state}");
        a.keep_pinging()?;
        a.expect_starts(1)?;
        // A job's process, as monit reports it to the agent.
        a.add_sleeper_job()?;
        let reload = [
            "/var/vcap/bosh/bin/monit",
            "-c",
            "/var/vcap/bosh/etc/monitrc",
            "reload",
        ];
        a.f.exec(&a.vm, &reload)?;
        let state = a.state_with_sleeper()?;
        eprintln!("processes: {}", state["processes"]);
        a.expect_starts(1)?;
        stop_and_start_the_job(a)
    });
}

/// `stop` and `start` (long actions: tasks polled with `get_task`) through monit: a
/// protocol-1 `stop` POSTs `action=stop` to monit's API, a protocol-3 one (what
/// `create-env` sends) runs `monit stop -g vcap`; `start` POSTs `action=start`. After
/// each stop the sleeper's process is gone; after each start monit runs it again.
fn stop_and_start_the_job(a: &AgentVm) -> Result<()> {
    for (protocol, how) in [(1, "monit's API"), (3, "monit's CLI")] {
        let mbus = a.mbus.with_protocol(protocol);
        let stopped = mbus.call("stop", json!([]), 120)?;
        if stopped != "stopped" {
            bail!("stop (protocol {protocol}, {how}) answered {stopped}, not \"stopped\"");
        }
        a.expect_sleeper_gone()
            .with_context(|| format!("after stop through {how}"))?;
        let started = mbus.call("start", json!([]), 120)?;
        if started != "started" {
            bail!("start answered {started}, not \"started\"");
        }
        a.state_with_sleeper()
            .with_context(|| format!("after start following a stop through {how}"))?;
    }
    Ok(())
}

#[test]
fn after_reboot_vm_the_real_agent_answers_again_and_started_once_per_boot() {
    let a = AgentVm::create().expect("a VM from the real-agent stemcell");
    a.check(|a| {
        wait_for_pong(&a.mbus, 120)?;
        a.expect_starts(1)?;
        // monit reads the job at its start in the next boot.
        a.add_sleeper_job()?;
        a.f.cpi.ok("reboot_vm", json!([a.vm]))?;
        wait_for_pong(&a.mbus, 120)?;
        // Process uptimes must be within the container's new uptime, not the host's.
        let state = a.state_with_sleeper()?;
        eprintln!("processes after the reboot: {}", state["processes"]);
        a.keep_pinging()?;
        a.expect_starts(2)
    });
}

/// `build-stemcell --real-agent --print-path` with `BOSH_LXD_BOSH_AGENT` set to `agent`.
fn real_agent_path(agent: &std::path::Path) -> Result<std::process::Output> {
    std::process::Command::new(workspace_root().join("tests/fixtures/build-stemcell"))
        .args(["--real-agent", "--print-path"])
        .env("BOSH_LXD_BOSH_AGENT", agent)
        .output()
        .context("running build-stemcell")
}

#[test]
fn the_real_agent_fixture_is_cached_under_its_agent_and_a_missing_agent_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = bosh_lxd_tests::tools::bosh_agent().expect("the real bosh-agent");
    let copy = dir.path().join("bosh-agent");
    std::fs::copy(&agent, &copy).expect("copy the agent");
    let same = real_agent_path(&copy).expect("build-stemcell");
    assert!(same.status.success(), "{same:?}");
    let same = String::from_utf8_lossy(&same.stdout).trim().to_owned();
    assert!(same.contains("/fixture-stemcell-real-agent-"), "{same}");
    // Another agent binary is another fixture.
    let mut bytes = std::fs::read(&copy).expect("read the copy");
    bytes.push(0);
    std::fs::write(&copy, bytes).expect("change the copy");
    let other = real_agent_path(&copy).expect("build-stemcell");
    let other = String::from_utf8_lossy(&other.stdout).trim().to_owned();
    assert!(
        other.contains("/fixture-stemcell-real-agent-") && other != same,
        "{other}"
    );
    // No agent: an error naming the variable, and no path.
    let missing = real_agent_path(&dir.path().join("absent/bosh-agent")).expect("build-stemcell");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && missing.stdout.is_empty(),
        "{missing:?}"
    );
    assert!(stderr.contains("BOSH_LXD_BOSH_AGENT"), "{stderr}");
}
