//! `bosh create-env` with a manifest naming a storage pool or a network the daemon does
//! not have: the CLI fails with the CPI's error naming it, no instance or volume is left
//! in the project, and `delete-env` then leaves it empty (the stemcell the CLI uploaded
//! before the failure is in its state, so delete-env removes it).

#![allow(clippy::expect_used)] // a failed step stops the test with its message

use anyhow::{Result, bail};
use bosh_lxd_tests::create_env::Env;
use bosh_lxd_tests::create_env::inputs::inputs;
use serde_json::json;

/// create-env with `var` set to a name nothing has: fails naming it, leaves nothing.
fn refused(var: &str, what: &str) -> Result<()> {
    let inputs = inputs()?;
    let mut env = Env::new(&inputs, None)?;
    let missing = format!("no-such-{what}-{}", std::process::id());
    env.set_var(var, json!(missing));
    let outcome = env.cli("create-env")?;
    if outcome.success {
        bail!("create-env with {var} = {missing} succeeded");
    }
    let output = &outcome.run.output;
    if !output.contains(&missing) {
        bail!("the create-env error does not name the missing {what} {missing}:\n{output}");
    }
    for line in output.lines().filter(|l| l.contains(&missing)) {
        eprintln!("create-env said: {}", line.trim());
    }
    env.expect_cleaned_up_after("a failed create-env")
}

#[test]
fn a_missing_storage_pool_is_named_and_nothing_is_left() {
    refused("storage_pool_name", "pool").unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn a_missing_network_is_named_and_nothing_is_left() {
    refused("network_name", "network").unwrap_or_else(|e| panic!("{e:#}"));
}
