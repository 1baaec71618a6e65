//! The real bosh-agent in a VM made by the CPI from the real-agent fixture stemcell,
//! driven over its own HTTPS mbus with the certificates and password the CPI put in its
//! settings: it answers `ping` and `get_state` (vitals, and the uptime monit gives a
//! process of a job), and runit starts it once per boot, after a `reboot_vm` too. Its
//! `stop` and `start` reach monit (monit 5.2.5, or the fixture's CSRF bridge) and stop and start
//! the job's process.

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::agent::vm::{AgentVm, check_state, wait_for_pong};
use bosh_lxd_tests::workspace_root;
use serde_json::json;

#[test]
fn the_real_agent_boots_once_and_answers_over_its_https_mbus() {
    let a = AgentVm::create().expect("a VM from the real-agent stemcell");
    a.check(|a| {
        wait_for_pong(&a.mbus, 120)?;
        let state = a.mbus.call("get_state", json!(["full"]), 60)?;
        let state = check_state(&a.f, &a.vm, state)?;
        eprintln!("get_state full: {state}");
        a.keep_pinging()?;
        a.expect_starts(1)?;
        // A job's process, as monit reports it to the agent.
        a.add_sleeper_job()?;
        a.reload_monit()?;
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
