//! The guest side of `detach_disk`: `/var/vcap/bosh/bin/bosh-lxd-helper release <cid>`, run
//! through LXD's exec API with recorded output and a deadline. The agent's `unmount_disk`
//! leaves `/var/vcap/store` bound to the volume (`docs/decisions.md` §9), and LXD
//! removes a busy device anyway (lazily), so without this step the VM would keep writing
//! to a volume LXD reports as unused.
//!
//! The helper answers on stdout with `bosh-lxd-contract`'s `ReleaseResult` (released, not
//! mounted, busy with the mounts and their holders, or an error), and exits with the code
//! that goes with it. The CPI never reads the helper's log for meaning. A helper from
//! before that result (a stemcell repacked by an older `repack-stemcell`) prints nothing
//! on stdout: then the exit code alone decides (0 released, 2 busy, anything else failed)
//! and its log is quoted whole. 127 means the helper is not there: `create_vm` refuses
//! stemcells without it, so that is an error, except on a VM without the
//! `user.bosh.helper-version` key (made by the old CPI), where it is logged and skipped.

use std::time::Duration;

use bosh_lxd_contract::release::{EXIT_BUSY, EXIT_RELEASED, ReleaseResult};

use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, ExecOutput, InstanceExecPost};
use crate::rpc::CpiError;

use super::errors::disk_error;
use super::names::HELPER_VERSION_KEY;

/// The helper in the guest.
pub use bosh_lxd_contract::paths::HELPER as HELPER_PATH;
/// How long `release` may take (it never unmounts lazily, so it does not hang on a busy disk).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(60);
/// The exit code LXD reports when the command does not exist.
const EXIT_NOT_FOUND: i64 = 127;

/// How the release ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The helper ran; what it did, one line.
    Done(String),
    /// No helper on a VM made without one; nothing was unmounted.
    NoHelper,
}

/// Runs the helper's `release` for `disk` in running VM `vm`. `has_helper_key`: whether
/// the instance carries [`HELPER_VERSION_KEY`].
pub async fn release(
    client: &Client,
    vm: &VmCid,
    disk: &DiskCid,
    has_helper_key: bool,
) -> Result<Released, CpiError> {
    let req = InstanceExecPost::new([HELPER_PATH, "release", disk.as_str()]);
    let out = client
        .exec(vm.as_str(), &req, RELEASE_TIMEOUT)
        .await
        .map_err(|e| disk_error(disk, Some(vm), "releasing (bosh-lxd-helper release)", e))?;
    judge(vm, disk, has_helper_key, &out)
}

/// Turns the helper's answer into the outcome or the error.
fn judge(
    vm: &VmCid,
    disk: &DiskCid,
    has_helper_key: bool,
    out: &ExecOutput,
) -> Result<Released, CpiError> {
    let failed = |why: String| {
        CpiError::cloud(format!(
            "detaching disk {disk} from VM {vm}: {why}; the disk was left attached"
        ))
    };
    if out.exit_code == EXIT_NOT_FOUND {
        return no_helper(vm, disk, has_helper_key, out);
    }
    let result = match ReleaseResult::from_stdout(&out.stdout) {
        Ok(Some(result)) => result,
        Ok(None) => return judge_exit_code(vm, disk, out),
        Err(e) => {
            let code = out.exit_code;
            return Err(failed(format!(
                "bosh-lxd-helper release exited {code}, and {e}"
            )));
        }
    };
    if i64::from(result.exit_code()) != out.exit_code {
        return Err(failed(format!(
            "bosh-lxd-helper release exited {} but its result says: {result}",
            out.exit_code
        )));
    }
    match result {
        ReleaseResult::Released { .. } | ReleaseResult::NotMounted => {
            Ok(Released::Done(result.to_string()))
        }
        ReleaseResult::Busy { .. } => Err(busy(vm, disk, &result.to_string())),
        ReleaseResult::Error { message } => {
            Err(failed(format!("bosh-lxd-helper release failed: {message}")))
        }
    }
}

/// Old-helper fallback: a VM from a stemcell repacked before the helper printed a
/// `ReleaseResult` has a helper whose stdout is empty. Its exit codes meant what they mean
/// now, so they decide; its log (stderr) is quoted whole for the operator, never parsed.
fn judge_exit_code(vm: &VmCid, disk: &DiskCid, out: &ExecOutput) -> Result<Released, CpiError> {
    tracing::warn!(
        "VM {vm}: bosh-lxd-helper printed no release result (its stemcell was repacked by an \
         older repack-stemcell); judging the release of disk {disk} by its exit code"
    );
    let log = one_line(&out.stderr_text());
    match out.exit_code {
        code if code == i64::from(EXIT_RELEASED) => Ok(Released::Done(log)),
        code if code == i64::from(EXIT_BUSY) => Err(busy(vm, disk, &log)),
        code => Err(CpiError::cloud(format!(
            "detaching disk {disk} from VM {vm}: bosh-lxd-helper release exited {code}; the disk \
             was left attached: {log}"
        ))),
    }
}

/// A mount stays busy: worth a retry once what holds it is stopped.
fn busy(vm: &VmCid, disk: &DiskCid, details: &str) -> CpiError {
    CpiError::cloud_retriable(format!(
        "detaching disk {disk} from VM {vm}: the disk is still in use in the guest, so it was \
         left attached: {details}. Stop what holds it, then retry"
    ))
}

/// Exit code 127: no helper in the guest.
fn no_helper(
    vm: &VmCid,
    disk: &DiskCid,
    has_helper_key: bool,
    out: &ExecOutput,
) -> Result<Released, CpiError> {
    if has_helper_key {
        return Err(CpiError::cloud(format!(
            "detaching disk {disk} from VM {vm}: {HELPER_PATH} is missing in the guest although \
             the VM records a helper version; the disk was left attached: {}",
            one_line(&out.stderr_text())
        )));
    }
    tracing::warn!(
        "VM {vm} has no bosh-lxd-helper (no {HELPER_VERSION_KEY}: made by another CPI), \
         so nothing unmounts disk {disk} in the guest before it is detached; if \
         /var/vcap/store is still bound to it, the VM keeps writing to a volume LXD reports \
         as unused"
    );
    Ok(Released::NoHelper)
}

fn one_line(text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if joined.is_empty() {
        "(no output)".to_owned()
    } else {
        joined
    }
}

#[cfg(test)]
#[path = "disk_release_tests.rs"]
mod tests;
