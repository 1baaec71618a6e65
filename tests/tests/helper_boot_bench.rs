//! Benchmark, not a test (ignored by default; run it with `scripts/bench-helper-boot`):
//! the time the guest helper's `boot` adds between container start and the start of the
//! BOSH agent's supervisor, with two persistent disks attached (one last mounted on
//! `/var/vcap/store`, one more listed: the migration shape), against the same container
//! with the boot unit disabled. Prints a Markdown table of medians.
//!
//! Both sides read systemd's own monotonic timestamps in the guest, so no host-side
//! latency is in the numbers: from the manager's start (`UserspaceTimestampMonotonic`)
//! to runit's start (`ExecMainStartTimestampMonotonic` of `runit.service`, which starts
//! the agent). The helper side also reports the boot unit's own run time. The sides
//! alternate in ABBA order; each start follows a `stop --force` (not timed).

#![allow(clippy::expect_used)] // a failed step should stop the benchmark with its message
#![allow(clippy::print_stdout)] // the table is the output

use std::ops::Not;
use std::time::Duration;

use anyhow::{Context, Result};
use bosh_lxd_tests::helper::Guest;
use bosh_lxd_tests::{Project, wait_for};

const UNIT: &str = "bosh-lxd-helper-boot.service";

/// A systemd timestamp in µs: `prop` of `unit`, or of the manager when `unit` is empty.
fn stamp(g: &Guest, unit: &str, prop: &str) -> Result<u64> {
    let out = g.sh(&format!("systemctl show -p {prop} --value {unit}"))?;
    out.trim()
        .parse()
        .with_context(|| format!("{unit} {prop} = {out:?}"))
}

/// One timed start: (manager start → runit start, boot unit run time if it ran), in ms.
/// Without the helper the agent boot-loops on the unmounted disk (the failure the helper
/// exists for), so the wait is for runit's start, not for the agent's boot.
fn timed_start(g: &Guest) -> Result<(f64, Option<f64>)> {
    g.project.lxc_ok(&["stop", "--force", &g.name])?;
    g.project.lxc_ok(&["start", &g.name])?;
    wait_for("runit to start", Duration::from_secs(60), || {
        let started =
            g.sh_any("systemctl show -p ExecMainStartTimestampMonotonic --value runit.service")?;
        Ok(matches!(started.stdout.trim(), "" | "0")
            .not()
            .then_some(()))
    })?;
    let manager = stamp(g, "", "UserspaceTimestampMonotonic")?;
    let runit = stamp(g, "runit.service", "ExecMainStartTimestampMonotonic")?;
    let ran = g.sh_any(&format!("systemctl is-active {UNIT}"))?;
    let unit = if ran.stdout.trim() == "active" {
        let start = stamp(g, UNIT, "ExecMainStartTimestampMonotonic")?;
        let exit = stamp(g, UNIT, "ExecMainExitTimestampMonotonic")?;
        Some(exit.saturating_sub(start) as f64 / 1000.0)
    } else {
        None
    };
    Ok((runit.saturating_sub(manager) as f64 / 1000.0, unit))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p90(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

#[test]
#[ignore = "benchmark: run scripts/bench-helper-boot"]
fn boot_with_two_disks_against_no_helper() {
    let runs: usize = std::env::var("BENCH_BOOT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let project = Project::for_run().expect("project");
    let g = Guest::launch_repacked(&project, "hb-bench").expect("launch");
    let (d1, d2) = ("hb-bench-d1", "hb-bench-d2");
    g.attach_and_mount(d1)
        .expect("first disk, mounted by the agent");
    g.attach_disk(bosh_lxd_tests::TEST_POOL, d2, d2)
        .expect("second disk");
    g.write_settings(&[d1, d2]).expect("settings with both");

    let (mut with, mut without, mut unit) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs * 2 {
        let helper_side = matches!(i % 4, 0 | 3);
        let verb = if helper_side { "enable" } else { "disable" };
        g.sh(&format!("systemctl {verb} --quiet {UNIT}"))
            .expect("toggle the boot unit");
        let (to_runit, ran) = timed_start(&g).expect("timed start");
        assert_eq!(
            ran.is_some(),
            helper_side,
            "the boot unit ran only when enabled"
        );
        if helper_side {
            with.push(to_runit);
            unit.extend(ran);
            // the mount happens before runit, so it is there now
            let store = g.mounts_on("/var/vcap/store").expect("mounts");
            assert_eq!(store, 1, "boot put the disk back\n{}", g.logs());
        } else {
            without.push(to_runit);
        }
    }
    g.sh(&format!("systemctl enable --quiet {UNIT}"))
        .expect("enable again");

    let (mw, mo, mu) = (median(&mut with), median(&mut without), median(&mut unit));
    println!("| side | n | container start → runit start, median (p90), ms |");
    println!("|---|---|---|");
    println!(
        "| boot unit enabled | {} | {mw:.1} ({:.1}) |",
        with.len(),
        p90(&mut with)
    );
    println!(
        "| boot unit disabled | {} | {mo:.1} ({:.1}) |",
        without.len(),
        p90(&mut without)
    );
    println!("| extra time (difference of medians) | | {:.1} |", mw - mo);
    println!(
        "| the boot unit's own run time | {} | {mu:.1} ({:.1}) |",
        unit.len(),
        p90(&mut unit)
    );
    g.delete_with_volumes(&[d1, d2]).expect("delete");
}
