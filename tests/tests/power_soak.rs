//! Soak, not a test (ignored by default; run it with `scripts/soak-power-cut`): repeated
//! power cuts of a host running a BOSH VM with a persistent disk. Each round writes a
//! marker to `/var/vcap/store` (synced), then cuts power the way a host loses it, without
//! anyone recording a stop: the daemon is killed with SIGKILL, then the container's init
//! (so every process in it dies mid-flight). The daemon comes back
//! (`scripts/setup-host`) and starts the container again by itself, as after a host's
//! reboot (its recorded power state is still running). After each round the disk must be
//! on `/var/vcap/store` before the stand-in agent starts and every marker written so far
//! must be there. Runs against the daemon `BOSH_LXD_DAEMON` names (LXD by default).

#![allow(clippy::expect_used)] // a failed step should stop the soak with its message
#![allow(clippy::print_stdout)] // progress is the output

use std::time::{Duration, Instant};

use bosh_lxd_tests::daemon::kill;
use bosh_lxd_tests::helper::Guest;
use bosh_lxd_tests::helper::disks::store_bound_from;
use bosh_lxd_tests::{Project, daemon, is_running, wait_for};

#[test]
#[ignore = "soak: run scripts/soak-power-cut"]
fn the_disk_and_its_data_survive_repeated_power_cuts() {
    let rounds: u32 = std::env::var("SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let project = Project::for_run().expect("test project");
    let cid = "soak-d1";
    let g = Guest::launch_repacked(&project, "soak-power").expect("launch");
    g.attach_and_mount(cid).expect("attach + mount_disk");
    let started = Instant::now();
    for round in 1..=rounds {
        let t0 = Instant::now();
        g.sh(&format!(
            "echo round-{round} > /var/vcap/store/round-{round} && sync"
        ))
        .expect("write the round's marker");
        let before = g.booted_count().expect("count");
        let state = project
            .instance(&format!("{}/state", g.name))
            .expect("state");
        let init = state["pid"].as_i64().expect("init pid").to_string();
        daemon().stop("KILL").expect("crash the daemon");
        kill("KILL", &init).expect("kill the container's init");
        wait_for("the container to die", Duration::from_secs(60), || {
            Ok((!std::path::Path::new(&format!("/proc/{init}")).exists()).then_some(()))
        })
        .expect("container dead");
        daemon().start().expect("start the daemon again");
        wait_for(
            "the daemon to start the container again",
            Duration::from_secs(120),
            || {
                let state = project.instance(&format!("{}/state", g.name))?;
                Ok(is_running(&state["status"]).then_some(()))
            },
        )
        .expect("autostart");
        let boot = g
            .wait_agent_booted(before, &format!("after power cut {round}"))
            .expect("agent boot");
        assert!(
            boot.contains(&store_bound_from(cid)),
            "round {round}: the disk should be on the store when the agent starts: {boot}\n{}",
            g.logs()
        );
        let markers = g
            .sh("cat /var/vcap/store/round-* | sort -t- -k2 -n | tr '\\n' ' '")
            .expect("read the markers");
        let want: Vec<String> = (1..=round).map(|r| format!("round-{r}")).collect();
        assert_eq!(
            markers.split_whitespace().collect::<Vec<_>>(),
            want,
            "round {round}: every marker written so far"
        );
        println!(
            "power cut {round}/{rounds} ({}): disk back before the agent, {round} markers, {:.1} s",
            daemon().name(),
            t0.elapsed().as_secs_f64()
        );
    }
    println!(
        "{rounds} power cuts in {:.0} s, no data lost",
        started.elapsed().as_secs_f64()
    );
    g.delete_with_volumes(&[cid]).expect("delete");
}
