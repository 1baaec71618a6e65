//! `release <cid>`: unmount every mount of a disk's volume in every mount namespace of
//! the container, before the CPI removes the LXD device (`ARCHITECTURE.md` §4; the
//! agent's `unmount_disk` leaves `/var/vcap/store` bound, `docs/decisions.md` §9).
//! Never lazily: a busy mount is reported with the processes that hold it. The result goes
//! to stdout as `bosh-lxd-contract`'s `ReleaseResult` (one JSON line), which the CPI reads;
//! the log says the same for people.
//!
//! The helper's own namespace goes first; unmounts there propagate to slave namespaces
//! (monit's), so the others are read again afterwards and only what is left there is
//! unmounted, by a child that joins that namespace with setns(2).

pub mod holders;
pub mod matching;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use bosh_lxd_contract::release::{MountPoint, ReleaseResult, StuckMount};
use nix::mount::{MntFlags, umount2};
use nix::sched::{CloneFlags, setns};

use crate::mountinfo::{MountTable, VolumeId};
use crate::paths::{GuestRoot, SELF_MOUNTINFO};
use crate::settings::check_cid;

/// Release the volume of `cid`: released, not mounted, or busy; an error when the release
/// could not be tried.
pub fn run(root: &GuestRoot, cid: &str) -> Result<ReleaseResult> {
    if let Err(why) = check_cid(cid) {
        bail!("{cid:?} is not a disk cid: {why}");
    }
    let own_table = MountTable::read(&root.host(SELF_MOUNTINFO))?;
    let device = matching::device_volume(cid, &own_table);
    tracing::info!("release {cid}: volume {}", describe(device.as_ref()));
    let mut failed = Vec::new();
    let mut removed = Vec::new();
    // newest first, and stop at the first refusal: what stays mounted is then the
    // older part of the stack (at least LXD's device mount), so the disk still shows
    // as mounted to the agent and a retry finds the same picture
    for target in matching::targets(cid, device.as_ref(), &own_table) {
        match umount2(&target, MntFlags::empty()) {
            Ok(()) => {
                removed.push(unmounted("own", &target));
                tracing::info!("release {cid}: unmounted {}", target.display());
            }
            Err(e) => {
                failed.push(stuck("own", &target, e.desc()));
                break;
            }
        }
    }
    let own_ns = mount_ns(root, "self").context("reading the helper's mount namespace")?;
    let others = if failed.is_empty() {
        other_namespaces(root, &own_ns)
    } else {
        BTreeMap::new()
    };
    for (ns, pid) in others {
        let table = match MountTable::read(&root.proc_entry(pid, "mountinfo")) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("release {cid}: namespace {ns}: {e:#}; skipped (process gone?)");
                continue;
            }
        };
        let targets = matching::targets(cid, device.as_ref(), &table);
        if targets.is_empty() {
            continue;
        }
        let (done, errors) = unmount_in_namespace(pid, &targets)?;
        tracing::info!(
            "release {cid}: namespace {ns} (pid {pid}): unmounted {done} of {}",
            targets.len()
        );
        removed.extend(targets[..done].iter().map(|t| unmounted(&ns, t)));
        failed.extend(errors.iter().map(|(t, e)| stuck(&ns, t, e)));
    }
    if failed.is_empty() {
        return Ok(if removed.is_empty() {
            ReleaseResult::NotMounted
        } else {
            ReleaseResult::Released { unmounted: removed }
        });
    }
    let points: Vec<PathBuf> = failed.iter().map(|m| PathBuf::from(&m.path)).collect();
    let holders = holders::find(root, &points, std::process::id());
    Ok(ReleaseResult::Busy {
        paths: failed,
        holders,
    })
}

fn unmounted(namespace: &str, path: &std::path::Path) -> MountPoint {
    MountPoint {
        path: path.display().to_string(),
        namespace: namespace.to_owned(),
    }
}

fn stuck(namespace: &str, path: &std::path::Path, error: &str) -> StuckMount {
    StuckMount {
        path: path.display().to_string(),
        namespace: namespace.to_owned(),
        error: error.to_owned(),
    }
}

/// Ends `release <cid>`: logs how `result` went, prints it on `out` (stdout) as one JSON
/// line for the CPI, and gives the exit code that goes with it.
pub fn report(cid: &str, result: Result<ReleaseResult>, out: &mut impl Write) -> ExitCode {
    let result = result.unwrap_or_else(|e| ReleaseResult::Error {
        message: format!("{e:#}"),
    });
    match &result {
        ReleaseResult::Released { .. } | ReleaseResult::NotMounted => {
            tracing::info!("release {cid}: done, {result}");
        }
        ReleaseResult::Busy { paths, holders } => {
            for mount in paths {
                tracing::error!("release {cid}: {mount}");
            }
            if holders.is_empty() {
                tracing::error!("release {cid}: no process found holding the mounts");
            }
            for holder in holders {
                tracing::error!("release {cid}: held by {holder}");
            }
        }
        ReleaseResult::Error { message } => tracing::error!("release {cid}: {message}"),
    }
    let printed = result
        .to_line()
        .map_err(std::io::Error::from)
        .and_then(|line| out.write_all(line.as_bytes()).and_then(|()| out.flush()));
    match printed {
        Ok(()) => ExitCode::from(result.exit_code()),
        Err(e) => {
            tracing::error!("release {cid}: writing the result to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The mount namespace link of `pid` (`"self"` for the helper).
fn mount_ns(root: &GuestRoot, pid: &str) -> Result<String> {
    let link = root.host(format!("/proc/{pid}/ns/mnt"));
    let target =
        std::fs::read_link(&link).with_context(|| format!("reading {}", link.display()))?;
    Ok(target.to_string_lossy().into_owned())
}

/// One process per mount namespace other than `own`.
fn other_namespaces(root: &GuestRoot, own: &str) -> BTreeMap<String, u32> {
    let mut found = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(root.host("/proc")) else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        match mount_ns(root, &pid.to_string()) {
            Ok(ns) if ns != own => {
                found.entry(ns).or_insert(pid);
            }
            _ => {}
        }
    }
    found
}

/// Run `umount-in-ns` as a child (setns needs a single-threaded process, and the
/// helper's own namespace must stay as it is). Returns the count unmounted and the
/// failures the child reported.
fn unmount_in_namespace(pid: u32, targets: &[PathBuf]) -> Result<(usize, Vec<(PathBuf, String)>)> {
    let output = Command::new("/proc/self/exe")
        .arg("umount-in-ns")
        .arg(pid.to_string())
        .args(targets)
        .output()
        .context("running the helper in another mount namespace")?;
    let mut failures = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((point, why)) = line
            .strip_prefix("failed\t")
            .and_then(|l| l.split_once('\t'))
        {
            failures.push((PathBuf::from(point), why.to_string()));
        }
    }
    if !output.status.success() && failures.is_empty() {
        bail!(
            "umount-in-ns {pid} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // the child stops at its first failure: count what it reported done
    let done = match failures.first() {
        None => targets.len(),
        Some((point, _)) => targets.iter().position(|t| t == point).unwrap_or(0),
    };
    Ok((done, failures))
}

/// The child side: join the mount namespace of `pid`, unmount each target, and print
/// `failed\t<path>\t<why>` for the first that stays, and stops there.
pub fn umount_in_ns(pid: u32, targets: &[PathBuf]) -> Result<bool> {
    let path = format!("/proc/{pid}/ns/mnt");
    let ns = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
    setns(&ns, CloneFlags::CLONE_NEWNS).with_context(|| format!("setns {path}"))?;
    let mut all = true;
    let mut out = String::new();
    for target in targets {
        if let Err(e) = umount2(target, MntFlags::empty()) {
            all = false;
            out.push_str(&format!("failed\t{}\t{}\n", target.display(), e.desc()));
            break;
        }
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())
        .context("writing the result")?;
    Ok(all)
}

/// For the log: what identifies the volume.
pub fn describe(device: Option<&VolumeId>) -> String {
    device.map_or_else(
        || "no device mount; matching roots by name".to_string(),
        |d| format!("{}:{} {}", d.major, d.minor, d.root.display()),
    )
}

#[cfg(test)]
mod tests;
