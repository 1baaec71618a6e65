//! `bosh create-env` when the CLI cannot talk to the agent of the VM the CPI made: the
//! agent has another mbus password than the manifest's `cloud_provider.mbus` (it answers
//! 401), or it listens on another port (nothing answers on 6868). The real CLI pings the
//! agent for a hard-coded 10 minutes (bosh-cli `deployment/vm/vm.go`,
//! `WaitUntilReady(10*time.Minute, 500*time.Millisecond)`), then fails naming the VM and
//! the last ping's error; the VM stays, running, recorded in the CLI's state, and
//! `delete-env` (which waits only 10 s for the agent) removes everything of ours. Each test
//! takes about 11 minutes, mostly idle: `.config/nextest.toml` gives this binary a longer
//! timeout than the others.

#![allow(clippy::expect_used)] // a failed step stops the test with its message

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::agent::MBUS_PORT;
use bosh_lxd_tests::cpi::MBUS_PASSWORD;
use bosh_lxd_tests::create_env::inputs::inputs;
use bosh_lxd_tests::create_env::{Env, Outcome};
use serde_json::json;

/// create-env with the agent's mbus URL (`cloud_provider.properties.agent.mbus`) set to
/// `agent_mbus`: fails after the CLI's wait, naming the VM and `reason`; the VM is the
/// state's and runs; `check` then looks at the agent; delete-env leaves nothing.
fn unreachable_agent(
    agent_mbus: &str,
    reason: &str,
    check: impl Fn(&Env) -> Result<()>,
) -> Result<()> {
    let inputs = inputs()?;
    let mut env = Env::new(&inputs, None)?;
    env.add_ops(
        "agent-mbus.json",
        json!([{"type": "replace", "path": "/cloud_provider/properties/lxd_cpi/agent/mbus",
                "value": agent_mbus}]),
    )?;
    let outcome = env.cli("create-env")?;
    eprintln!(
        "create-env failed after {:.0?} (the CLI's agent wait is 10 minutes)",
        outcome.run.wall
    );
    let vm = failed_on_vm(&env, &outcome, reason)?;
    check(&env)?;
    let run = env.delete_env()?;
    eprintln!("delete-env took {:.0?}", run.wall);
    if !run.output.contains(&vm) {
        bail!("delete-env did not name the VM {vm}:\n{}", run.output);
    }
    env.expect_empty()
}

/// The create-env `outcome` failed naming the state's VM and `reason`, and that VM is the
/// project's only instance, running; its cid.
fn failed_on_vm(env: &Env, outcome: &Outcome, reason: &str) -> Result<String> {
    let output = &outcome.run.output;
    if outcome.success {
        bail!("create-env succeeded though the CLI cannot talk to the agent:\n{output}");
    }
    let state = env.state()?;
    let vm = state["current_vm_cid"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no current_vm_cid in the CLI's state: {state}"))?;
    for line in output
        .lines()
        .filter(|l| l.contains(&vm) || l.contains(reason))
    {
        eprintln!("create-env said: {}", line.trim());
    }
    if !output.contains(&vm) || !output.contains(reason) {
        bail!("the create-env error does not name the VM {vm} and `{reason}`:\n{output}");
    }
    let instances = env.names("/1.0/instances")?;
    if instances != [vm.clone()] {
        bail!("the project holds instances {instances:?}, not just the state's VM {vm}");
    }
    let status = env.project.instance(&vm)?["status"].clone();
    if status != "Running" {
        bail!("the VM {vm} the CLI gave up on is {status}, not Running");
    }
    Ok(vm)
}

#[test]
fn a_wrong_mbus_password_fails_naming_the_vm_and_401_and_delete_env_cleans_up() {
    let agent = format!("https://mbus:not-{MBUS_PASSWORD}@0.0.0.0:{MBUS_PORT}");
    // The agent is up: it refuses the manifest's password as it refused the CLI's pings.
    let agent_answers_401 = |env: &Env| match env.mbus()?.send("ping", json!([])) {
        Err(e) if format!("{e:#}").contains("HTTP 401") => Ok(()),
        other => bail!("ping with the manifest's password answered {other:?}, not 401"),
    };
    unreachable_agent(&agent, "status code: 401", agent_answers_401)
        .unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn an_agent_on_another_port_fails_naming_the_vm_and_delete_env_cleans_up() {
    let agent = format!("https://mbus:{MBUS_PASSWORD}@0.0.0.0:{}", MBUS_PORT + 1);
    let nothing_on_6868 = |env: &Env| match env.mbus()?.send("ping", json!([])) {
        Err(e) if format!("{e:#}").contains("onnect") => Ok(()),
        other => bail!("ping on {MBUS_PORT} answered {other:?}, not a refused connection"),
    };
    unreachable_agent(&agent, "connection refused", nothing_on_6868)
        .unwrap_or_else(|e| panic!("{e:#}"));
}
