//! Daemon-disruptive (run serially, like `daemon_restart.rs`; `scripts/test` skips it
//! with BOSH_LXD_SKIP_DISRUPTIVE=1): a create-env deployment across a restart of the
//! daemon `BOSH_LXD_DAEMON` names. Afterwards the agent answers, the job runs with its
//! data intact, create-env again recreates nothing, and delete-env leaves the project empty.

#![allow(clippy::expect_used)] // a failed step stops the test with its message

use anyhow::{Result, bail};
use bosh_lxd_tests::create_env::Env;
use bosh_lxd_tests::create_env::inputs::inputs;
use bosh_lxd_tests::create_env::timing::summary;
use bosh_lxd_tests::daemon;

fn steps(env: &mut Env) -> Result<()> {
    let run = env.create_env()?;
    eprintln!(
        "{}",
        summary("daemon restart: deploy", run.wall, &run.calls)
    );
    let before = env.snapshot()?;
    daemon().restart("TERM")?;
    let run = env.create_env()?;
    if !run.skipped_deploy() {
        bail!(
            "create-env after the daemon restart deployed:\n{}",
            run.output
        );
    }
    let after = env.snapshot()?;
    if after != before {
        bail!("the daemon restart changed the deployment: {before:?} -> {after:?}");
    }
    env.delete_env()?;
    env.expect_empty()
}

#[test]
fn a_create_env_deployment_is_healthy_and_unchanged_after_a_daemon_restart() {
    let inputs = inputs().expect("create-env inputs");
    let mut env = Env::new(&inputs, None).expect("create-env environment");
    steps(&mut env).unwrap_or_else(|e| panic!("{e:#}"));
}
