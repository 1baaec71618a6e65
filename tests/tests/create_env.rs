//! `bosh create-env` end to end with the real CLI, the CPI release, the test release
//! (`tests/create-env-release`) and the repacked real-agent stemcell, on the daemon
//! `BOSH_LXD_DAEMON` names, each environment in a project of its own. Over the unix
//! socket: deploy, deploy again unchanged, grow the persistent disk, change the
//! stemcell, restart the container, delete; over HTTPS: deploy, unchanged, delete. Each
//! step is checked through the agent (mbus certificates from the vars-store) and in LXD.
//! Wall times and per-call CPI times are printed (`create-env timing` lines) for
//! BENCHMARKS.md. The daemon-restart step is in `create_env_daemon_restart.rs` (serial).

#![allow(clippy::expect_used)] // a failed step stops the test with its message

use anyhow::{Result, bail};
use bosh_lxd_tests::create_env::check::Snapshot;
use bosh_lxd_tests::create_env::inputs::inputs;
use bosh_lxd_tests::create_env::timing::summary;
use bosh_lxd_tests::create_env::{Env, Run};
use bosh_lxd_tests::https::{ClientCert, Trust, https_listener, https_lxd_section};
use serde_json::json;

/// Prints the run's timing line and returns it.
fn timed(label: &str, run: Run) -> Run {
    eprintln!("{}", summary(label, run.wall, &run.calls));
    run
}

/// Deploys from nothing: the job runs and wrote its data on a 1 GiB disk.
fn deploy(env: &mut Env, label: &str) -> Result<Snapshot> {
    let run = timed(&format!("{label}: deploy"), env.create_env()?);
    for want in ["create_stemcell", "create_vm", "create_disk", "attach_disk"] {
        if !run.methods().contains(&want) {
            bail!(
                "the first create-env never called {want}: {:?}",
                run.methods()
            );
        }
    }
    let snap = env.snapshot()?;
    let size = env.volume_size(&snap.disk)?;
    if size != "1024MiB" {
        bail!("the persistent disk's volume has size {size}, not 1024MiB");
    }
    Ok(snap)
}

/// create-env again with nothing changed: no deploy, nothing recreated.
fn unchanged(env: &mut Env, before: &Snapshot, label: &str) -> Result<()> {
    let run = timed(&format!("{label}: unchanged"), env.create_env()?);
    if !run.skipped_deploy() {
        bail!("an unchanged create-env deployed:\n{}", run.output);
    }
    for m in ["create_vm", "delete_vm", "create_disk", "delete_disk"] {
        if run.methods().contains(&m) {
            bail!("an unchanged create-env called {m}: {:?}", run.methods());
        }
    }
    let after = env.snapshot()?;
    if &after != before {
        bail!("an unchanged create-env changed the deployment: {before:?} -> {after:?}");
    }
    Ok(())
}

/// delete-env: nothing of the deployment left in the project.
fn delete(env: &mut Env, label: &str) -> Result<()> {
    timed(&format!("{label}: delete-env"), env.delete_env()?);
    env.expect_empty()
}

/// The disk grows to 2 GiB: a new disk with the data, the old one deleted.
fn grow_disk(env: &mut Env, before: &Snapshot) -> Result<Snapshot> {
    env.set_var("persistent_disk_mb", json!(2048));
    let run = timed("unix socket: disk 1 GiB -> 2 GiB", env.create_env()?);
    let after = env.snapshot()?;
    if after.disk == before.disk || after.sum != before.sum {
        bail!("after the disk change: {before:?} -> {after:?}");
    }
    if env.volume_size(&after.disk)? != "2048MiB" {
        bail!("the new disk's volume is not 2048MiB: {after:?}");
    }
    if after.volumes.contains(&before.disk) {
        bail!(
            "the old disk {} is still in LXD: {:?}",
            before.disk,
            after.volumes
        );
    }
    if !run.methods().contains(&"delete_disk") {
        bail!(
            "the disk change never called delete_disk: {:?}",
            run.methods()
        );
    }
    Ok(after)
}

/// A second stemcell: the VM recreated from it, the same disk attached, data kept, the
/// old image deleted.
fn change_stemcell(env: &mut Env, before: &Snapshot, stemcell2: &str) -> Result<Snapshot> {
    env.set_var("stemcell_path", json!(stemcell2));
    timed("unix socket: stemcell changed", env.create_env()?);
    let after = env.snapshot()?;
    let same_disk = after.disk == before.disk && after.sum == before.sum;
    if after.vm == before.vm || after.stemcell == before.stemcell || !same_disk {
        bail!("after the stemcell change: {before:?} -> {after:?}");
    }
    Ok(after)
}

/// The container restarted: healthy again with its data, and create-env recreates nothing.
fn restart_container(env: &mut Env, before: &Snapshot) -> Result<()> {
    env.project.lxc_ok(&["restart", &before.vm])?;
    unchanged(env, before, "unix socket, container restarted")
}

#[test]
fn create_env_over_the_unix_socket_deploys_updates_and_deletes() {
    let inputs = inputs().expect("create-env inputs");
    let mut env = Env::new(&inputs, None).expect("create-env environment");
    let stemcell2 = inputs.stemcell2.to_string_lossy().into_owned();
    let steps = |env: &mut Env| -> Result<()> {
        let first = deploy(env, "unix socket")?;
        unchanged(env, &first, "unix socket")?;
        let grown = grow_disk(env, &first)?;
        let changed = change_stemcell(env, &grown, &stemcell2)?;
        restart_container(env, &changed)?;
        delete(env, "unix socket")
    };
    if let Err(e) = steps(&mut env) {
        panic!("{e:#}");
    }
}

#[test]
fn create_env_over_https_deploys_and_deletes() {
    let inputs = inputs().expect("create-env inputs");
    let address = https_listener().expect("the daemon's HTTPS listener");
    let certs = tempfile::tempdir().expect("tempdir");
    let cert = ClientCert::generate(certs.path(), "create-env").expect("client certificate");
    let project = bosh_lxd_tests::Project::extra("ce").expect("project");
    let name = format!("bosh-lxd-test-create-env-{}", std::process::id());
    let _trust = Trust::restricted(&cert, &name, &[project.name()]).expect("trust");
    let lxd = https_lxd_section(&address, &cert, project.name()).expect("lxd section");
    let mut env = Env::in_project(project, &inputs, Some(lxd)).expect("environment");
    let steps = |env: &mut Env| -> Result<()> {
        let first = deploy(env, "https")?;
        unchanged(env, &first, "https")?;
        delete(env, "https")
    };
    if let Err(e) = steps(&mut env) {
        panic!("{e:#}");
    }
}
