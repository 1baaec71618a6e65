//! A container from the repacked fixture stemcell: `repack-stemcell` (release build) adds
//! the static helper from `scripts/build-helper` and the overlay; the image is imported as
//! an LXD split image into the run's project. At boot the helper's
//! `bosh-lxd-helper-boot.service` has run before runit starts the stand-in agent, the
//! mount/umount shims point at the helper, and every overlay path is in the guest.

#![allow(clippy::expect_used)] // a failed step should stop the test with its message

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bosh_lxd_tests::project::fixture_stemcell;
use bosh_lxd_tests::{Project, wait_for, workspace_root};

/// The guest's helper, log files and boot unit.
const HELPER: &str = "/var/vcap/bosh/bin/bosh-lxd-helper";
const HELPER_LOG: &str = "/var/vcap/bosh/log/bosh-lxd-helper.log";
const AGENT_LOG: &str = "/var/vcap/bosh/log/stand-in-agent.log";
const UNIT: &str = "bosh-lxd-helper-boot";

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("bosh-lxd-repack-{}", &id[..12]));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not remove {}: {e}", self.0.display());
        }
    }
}

/// Runs a command in the workspace root; its stdout, or an error with its stderr.
fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The static helper, built (or found up to date) by `scripts/build-helper`.
fn helper_binary() -> Result<PathBuf> {
    let out = run("scripts/build-helper", &[])?;
    let last = out.lines().last().context("build-helper printed nothing")?;
    Ok(PathBuf::from(last.trim()))
}

/// The release `repack-stemcell`, built on demand (a debug build deflates ten times slower).
fn repack_binary() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = run(
        &cargo,
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "repack-stemcell",
            "--message-format",
            "json-render-diagnostics",
        ],
    )?;
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "repack-stemcell")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo reported no repack-stemcell executable")
}

/// Repacks the fixture into `dir` and imports its image as a split image; returns the
/// alias (named after the repacked version, so a changed helper or overlay re-imports).
fn import_repacked(project: &Project, dir: &Path) -> Result<String> {
    let out = dir.join("repacked.tgz");
    let (stock, helper, repack) = (fixture_stemcell()?, helper_binary()?, repack_binary()?);
    let (s, o, h) = (stock.display(), out.display(), helper.display());
    run(
        &repack.to_string_lossy(),
        &[&s.to_string(), &o.to_string(), "--helper", &h.to_string()],
    )?;
    let d = dir.to_string_lossy();
    run(
        "tar",
        &["-xzf", &o.to_string(), "-C", &d, "image", "stemcell.MF"],
    )?;
    let manifest = std::fs::read_to_string(dir.join("stemcell.MF"))?;
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version: "))
        .context("no version in the repacked stemcell.MF")?;
    let id = version
        .rsplit_once("-lxd.")
        .map(|(_, id)| id.to_string())
        .context("the repacked version has no -lxd.<id> suffix")?;
    let alias = format!("fixture-repacked-{id}");
    if project.lxc(&["image", "show", &alias])?.success() {
        return Ok(alias);
    }
    let meta = "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: debian\n";
    std::fs::write(dir.join("metadata.yaml"), meta)?;
    let meta_tar = dir.join("meta.tar.gz").to_string_lossy().into_owned();
    run("tar", &["-czf", &meta_tar, "-C", &d, "metadata.yaml"])?;
    let image = dir.join("image").to_string_lossy().into_owned();
    project.lxc_ok(&["image", "import", &meta_tar, &image, "--alias", &alias])?;
    Ok(alias)
}

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
    let scratch = Scratch::new().expect("scratch dir");
    let alias = import_repacked(&project, &scratch.0).expect("repack and import");
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
