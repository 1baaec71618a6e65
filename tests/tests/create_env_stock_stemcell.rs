//! `bosh create-env` with a stock stemcell that never went through `repack-stemcell` (the
//! real-agent fixture as `build-stemcell --real-agent` makes it): `create_stemcell`
//! accepts it, `create_vm` refuses it naming the stemcell and the repack command, no
//! instance or volume is left, and `delete-env` removes the uploaded stemcell.

#![allow(clippy::expect_used)] // a failed step stops the test with its message

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::built::script_path;
use bosh_lxd_tests::create_env::Env;
use bosh_lxd_tests::create_env::inputs::inputs;
use bosh_lxd_tests::project::lock;
use serde_json::json;

/// The stock real-agent fixture stemcell (built or taken from the fixture cache).
fn stock_stemcell() -> Result<String> {
    let _lock = lock("real-agent-build")?;
    let path = script_path("tests/fixtures/build-stemcell", &["--real-agent"])?;
    Ok(path.to_string_lossy().into_owned())
}

/// The cid of the one stemcell in the CLI's state.
fn uploaded_stemcell(env: &Env) -> Result<String> {
    let state = env.state()?;
    state["stemcells"][0]["cid"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no stemcell in the CLI's state: {state}"))
}

fn refused() -> Result<()> {
    let inputs = inputs()?;
    let mut env = Env::new(&inputs, None)?;
    env.set_var("stemcell_path", json!(stock_stemcell()?));
    let outcome = env.cli("create-env")?;
    let output = &outcome.run.output;
    if outcome.success {
        bail!("create-env with a stock stemcell succeeded:\n{output}");
    }
    let stemcell = uploaded_stemcell(&env)?;
    for line in output.lines().filter(|l| l.contains("repack-stemcell")) {
        eprintln!("create-env said: {}", line.trim());
    }
    if !output.contains(&format!("stemcell {stemcell} has no bosh-lxd guest helper"))
        || !output.contains("repack-stemcell")
    {
        bail!(
            "the create-env error does not name stemcell {stemcell} and repack-stemcell:\n{output}"
        );
    }
    env.expect_cleaned_up_after("a refused create_vm")
}

#[test]
fn a_stock_stemcell_is_refused_naming_it_and_repack_and_nothing_is_left() {
    refused().unwrap_or_else(|e| panic!("{e:#}"));
}
