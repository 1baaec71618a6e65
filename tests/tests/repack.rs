//! A container from the repacked fixture stemcell: the self-contained `repack-stemcell` of
//! `scripts/build-repack` adds the static helper from `scripts/build-helper` and the
//! overlay, both built into it (`scripts/test` repacks once per run; see
//! `bosh_lxd_tests::repacked`); the image is imported as an LXD split image into the
//! run's project. At boot the helper's
//! `bosh-lxd-helper-boot.service` has run before runit starts the stand-in agent, the
//! mount/umount shims point at the helper, and every overlay path is in the guest.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bosh_lxd_contract::paths::{HELPER, HELPER_LOG};
use bosh_lxd_tests::repacked::{build_helper, repacked_image};
use bosh_lxd_tests::{Project, wait_for, workspace_root};

/// The guest's helper, log files and boot unit.
const AGENT_LOG: &str = "/var/vcap/bosh/log/stand-in-agent.log";
const UNIT: &str = "bosh-lxd-helper-boot";

/// A systemd property of a unit in `name`.
fn unit_property(project: &Project, name: &str, unit: &str, property: &str) -> Result<String> {
    let r = project.exec(
        name,
        &["systemctl", "show", "-p", property, "--value", unit],
    )?;
    Ok(r.ok(&format!("systemctl show {unit}"))?.trim().to_string())
}

fn monotonic(project: &Project, name: &str, unit: &str, property: &str) -> Result<u64> {
    let text = unit_property(project, name, unit, property)?;
    text.parse()
        .with_context(|| format!("{unit} {property}={text:?}"))
}

/// Overlay paths (files, links, `.keep` directories) as guest paths.
fn overlay_paths() -> Vec<String> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(items) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for item in items.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            match name.as_str() {
                "README.md" if rel.is_empty() => {}
                ".keep" => out.push(format!("/{rel}")),
                _ if item.path().is_dir() && !item.path().is_symlink() => {
                    walk(root, &format!("{rel}{name}/"), out);
                }
                _ => out.push(format!("/{rel}{name}")),
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &workspace_root().join("stemcell-patches/overlay"),
        "",
        &mut out,
    );
    out.push(HELPER.to_string());
    out
}

#[test]
fn a_repacked_container_runs_the_helper_boot_before_the_agent() {
    let project = Project::for_run().expect("project");
    let alias = repacked_image(&project).expect("repack and import");
    let name = "repack-boot";
    project.delete_instance(name).expect("clean slate");
    project.lxc_ok(&["launch", &alias, name]).expect("launch");
    let result = check_guest(&project, name);
    if result.is_err() {
        let journal = project.exec(name, &["journalctl", "-b", "--no-pager", "-n", "60"]);
        eprintln!("journal: {}", journal.map(|r| r.stdout).unwrap_or_default());
    }
    project.delete_instance(name).expect("delete the container");
    result.expect("guest checks");
}

fn check_guest(project: &Project, name: &str) -> Result<()> {
    project.wait_booted(name)?;
    let state = unit_property(project, name, UNIT, "ActiveState")?;
    let result = unit_property(project, name, UNIT, "Result")?;
    if (state.as_str(), result.as_str()) != ("active", "success") {
        bail!("{UNIT}: ActiveState={state} Result={result}");
    }
    let enabled = project.exec(name, &["systemctl", "is-enabled", UNIT])?;
    if enabled.stdout.trim() != "enabled" {
        bail!("{UNIT} is {:?}, not enabled", enabled.stdout.trim());
    }
    // boot finished (oneshot: active) before runit, which starts the agent, was started
    let helper_done = monotonic(project, name, UNIT, "ActiveEnterTimestampMonotonic")?;
    let runit_start = monotonic(project, name, "runit", "ExecMainStartTimestampMonotonic")?;
    if helper_done == 0 || runit_start == 0 || helper_done > runit_start {
        bail!("{UNIT} active at {helper_done} µs, runit started at {runit_start} µs");
    }
    let log = wait_for(
        "the stand-in agent's first boot",
        Duration::from_secs(60),
        || {
            let r = project.exec(name, &["cat", AGENT_LOG])?;
            Ok(r.stdout.contains("BOOT").then_some(r.stdout))
        },
    )?;
    let helper_log = project
        .exec(name, &["cat", HELPER_LOG])?
        .ok("cat the helper's log")?;
    if helper_log.trim().is_empty() {
        bail!("{HELPER_LOG} is empty");
    }
    eprintln!(
        "helper log:\n{helper_log}\nagent log (start):\n{}",
        head(&log, 5)
    );
    // and by the logs: the helper's boot was done before the agent's first boot line
    let stamp = |text: &str, needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .and_then(|l| l.get(..23))
            .map(str::to_string)
            .with_context(|| format!("no {needle:?} line in:\n{text}"))
    };
    let (done, boot) = (stamp(&helper_log, "boot done")?, stamp(&log, "BOOT")?);
    if done > boot {
        bail!("the helper's boot was done at {done}, after the agent's first boot at {boot}");
    }
    check_files(project, name)
}

fn check_files(project: &Project, name: &str) -> Result<()> {
    let sh =
        |script: &str| -> Result<String> { project.exec(name, &["sh", "-c", script])?.ok(script) };
    let links = sh("readlink /var/vcap/bosh/bin/mount /var/vcap/bosh/bin/umount")?;
    if links.split_whitespace().collect::<Vec<_>>() != ["bosh-lxd-helper", "bosh-lxd-helper"] {
        bail!("shim links point at {links:?}");
    }
    let helper = sh(&format!("stat -c '%u:%g %a %F' {HELPER}"))?;
    if helper.trim() != "0:0 755 regular file" {
        bail!("{HELPER}: {helper:?}");
    }
    // the helper built into repack-stemcell is the one scripts/build-helper built
    let built = build_helper()?;
    let out = std::process::Command::new("sha256sum")
        .arg(&built)
        .output()?;
    let want = String::from_utf8_lossy(&out.stdout);
    let got = sh(&format!("sha256sum {HELPER}"))?;
    let (want, got) = (
        want.split_whitespace().next(),
        got.split_whitespace().next(),
    );
    if want.is_none() || want != got {
        bail!(
            "{HELPER} in the guest has SHA-256 {got:?}, {} {want:?}",
            built.display()
        );
    }
    // the shim passes a plain `mount` (list) through to /bin/mount
    let mounts = sh("/var/vcap/bosh/bin/mount")?;
    if !mounts.contains(" on / ") {
        bail!("mount through the shim listed {mounts:?}");
    }
    let bosh = sh("stat -c %a /var/vcap/bosh")?;
    if bosh.trim() != "700" {
        bail!("/var/vcap/bosh is {bosh:?}: the stock directory's mode should stay");
    }
    for path in overlay_paths() {
        sh(&format!("test -e '{path}' || test -L '{path}'"))
            .with_context(|| format!("{path} is missing in the guest"))?;
    }
    Ok(())
}

fn head(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}
