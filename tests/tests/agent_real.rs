//! The real bosh-agent in a VM made by the CPI from the real-agent fixture stemcell,
//! driven over its own HTTPS mbus with the certificates and password the CPI put in its
//! settings: it answers `ping` and `get_state`, and runit starts it once per boot.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::Project;
use bosh_lxd_tests::agent::{
    AGENT_LOG_DIR, Mbus, MbusCerts, create_env_agent_section, real_agent_stemcell,
};
use bosh_lxd_tests::cpi::Cpi;
use bosh_lxd_tests::cpi::fixture::{VmFixture, manual_network, random_ip};
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

#[test]
fn the_real_agent_boots_once_and_answers_over_its_https_mbus() {
    let project = Project::for_run().expect("project");
    let cpi = Cpi::with_agent(&project, create_env_agent_section()).expect("cpi");
    let stemcell = real_agent_stemcell().expect("real-agent stemcell");
    let f = VmFixture::upload(project, cpi, &stemcell).expect("upload the stemcell");
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = random_ip();
    let certs = MbusCerts::generate(dir.path(), &ip).expect("mbus certificates");
    let env = json!({"bosh": {"mbus": {"cert": certs.env_cert}}});
    let networks = json!({"default": manual_network(&ip, true)});
    let (vm, _) = f
        .create_vm(&VmFixture::agent_id(), json!({}), networks, env)
        .expect("create_vm");
    let mbus = Mbus::new(&ip, &certs);

    let result = (|| -> Result<()> {
        wait_for_pong(&mbus, 120)?;
        let state = check_full_state(&f, &vm, &mbus)?;
        eprintln!("get_state full: {state}");
        // Twenty more seconds of answers: a restart loop would show up as more starts.
        for _ in 0..20 {
            std::thread::sleep(Duration::from_secs(1));
            if mbus.call("ping", json!([]), 0)? != "pong" {
                bail!("ping stopped answering pong");
            }
        }
        let starts = agent_starts(&f, &vm)?;
        if starts != 1 {
            bail!("the agent started {starts} times in one boot (a restart loop)");
        }
        Ok(())
    })();
    if let Err(e) = &result {
        eprintln!("agent log of {vm}:\n{}", agent_log(&f, &vm));
        f.cpi.cleanup_call("delete_vm", json!([vm]));
        panic!("{e:#}");
    }
    f.cpi.ok("delete_vm", json!([vm])).expect("delete_vm");
}
