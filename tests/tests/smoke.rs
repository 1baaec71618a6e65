//! Smoke test: a container from the fixture stemcell boots in the run's project and runs commands.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use bosh_lxd_tests::{Project, is_running, wait_for};
use std::time::Duration;

#[test]
fn fixture_container_boots_runs_a_command_and_is_deleted() {
    let project = Project::for_run().expect("test project");
    let name = "smoke-1";
    project.delete_instance(name).expect("clean slate");
    project
        .launch_fixture(name)
        .expect("launch from the fixture stemcell");

    let os = project
        .exec(name, &["cat", "/etc/os-release"])
        .expect("exec");
    assert!(os.success(), "cat /etc/os-release failed: {os:?}");
    assert!(
        os.stdout.contains("bookworm"),
        "not the Debian fixture: {}",
        os.stdout
    );

    let fail = project.exec(name, &["sh", "-c", "exit 7"]).expect("exec");
    assert_eq!(
        fail.code, 7,
        "the exit code of a command in the container is reported"
    );

    // The stand-in agent is started by runit, at the real agent's place.
    wait_for(
        "runit to start the stand-in agent",
        Duration::from_secs(60),
        || {
            let pids = project.exec(name, &["pgrep", "-f", "/var/vcap/bosh/bin/bosh-agent"])?;
            Ok(pids.success().then_some(()))
        },
    )
    .expect("stand-in agent running");

    let inst = project.instance(name).expect("instance");
    assert!(is_running(&inst["status"]), "instance state: {inst}");

    project.delete_instance(name).expect("delete");
    assert!(
        !project.has_instance(name).expect("lookup"),
        "{name} still exists after delete"
    );
}
