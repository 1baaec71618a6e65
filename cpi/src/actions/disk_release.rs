//! The guest side of `detach_disk`: `/var/vcap/bosh/bin/bosh-lxd-helper release <cid>`, run
//! through LXD's exec API with recorded output and a deadline. The agent's `unmount_disk`
//! leaves `/var/vcap/store` bound to the volume (`bosh-agent-in-lxd.md` §B, §F), and LXD
//! removes a busy device anyway (lazily), so without this step the VM would keep writing
//! to a volume LXD reports as unused.
//!
//! Exit codes: 0 released (or nothing was mounted), 2 a mount is busy (the holders are on
//! stderr), anything else a failure. 127 means the helper is not there: `create_vm` refuses
//! stemcells without it, so that is an error, except on a VM without the
//! `user.bosh.helper-version` key (made by the old CPI), where it is logged and skipped.

use std::time::Duration;

use crate::ids::{DiskCid, VmCid};
use crate::lxd::{Client, ExecOutput, InstanceExecPost};
use crate::rpc::CpiError;

use super::disk_lookup::disk_error;

/// The helper in the guest.
pub const HELPER_PATH: &str = "/var/vcap/bosh/bin/bosh-lxd-helper";
/// How long `release` may take (it never unmounts lazily, so it does not hang on a busy disk).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(60);
/// The helper's exit code when a mount stays busy.
const EXIT_BUSY: i64 = 2;
/// The exit code LXD reports when the command does not exist.
const EXIT_NOT_FOUND: i64 = 127;

/// How the release ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The helper ran; what it did, one line (timestamps dropped).
    Done(String),
    /// No helper on a VM made without one; nothing was unmounted.
    NoHelper,
}

/// Runs the helper's `release` for `disk` in running VM `vm`. `has_helper_key`: whether
/// the instance carries `user.bosh.helper-version`.
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
    let log = out.stderr_text();
    match out.exit_code {
        0 => Ok(Released::Done(summary(&log))),
        EXIT_BUSY => Err(CpiError::cloud_retriable(format!(
            "detaching disk {disk} from VM {vm}: the disk is still in use in the guest, so it \
             was left attached: {}. Stop what holds it, then retry",
            busy_details(&log)
        ))),
        EXIT_NOT_FOUND if !has_helper_key => {
            tracing::warn!(
                "VM {vm} has no bosh-lxd-helper (no user.bosh.helper-version: made by another \
                 CPI), so nothing unmounts disk {disk} in the guest before it is detached; if \
                 /var/vcap/store is still bound to it, the VM keeps writing to a volume LXD \
                 reports as unused"
            );
            Ok(Released::NoHelper)
        }
        EXIT_NOT_FOUND => Err(CpiError::cloud(format!(
            "detaching disk {disk} from VM {vm}: {HELPER_PATH} is missing in the guest although \
             the VM records a helper version; the disk was left attached: {}",
            one_line(&log)
        ))),
        code => Err(CpiError::cloud(format!(
            "detaching disk {disk} from VM {vm}: bosh-lxd-helper release exited {code}; the disk \
             was left attached: {}",
            one_line(&log)
        ))),
    }
}

/// The helper's log lines joined, each from its `release ` on (no timestamp or level).
fn summary(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(|l| l.find("release ").map_or(l.trim(), |i| &l[i..]))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "(no output)".to_owned()
    } else {
        lines.join("; ")
    }
}

/// The lines of the helper's log that say what stays mounted and who holds it, without
/// their timestamps; the whole log when it has none of those.
fn busy_details(log: &str) -> String {
    let picked: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("held by") || l.contains("stays mounted") || l.contains("no process found")
        })
        .map(|l| l.find("release ").map_or(l, |i| &l[i..]))
        .collect();
    if picked.is_empty() {
        one_line(log)
    } else {
        picked.join("; ")
    }
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
mod tests {
    use bytes::Bytes;

    use super::*;

    fn out(code: i64, stderr: &str) -> ExecOutput {
        ExecOutput {
            exit_code: code,
            stdout: Bytes::new(),
            stderr: Bytes::from(stderr.to_owned()),
        }
    }

    #[test]
    fn exit_codes() {
        let vm = VmCid::new("vm-1").unwrap();
        let disk = DiskCid::new("disk-1").unwrap();
        let busy = "2026-11-25T15:19:24.950780Z  INFO release disk-1: volume 0:44 /custom/p_disk-1\n\
            2026-11-25T15:19:24.953612Z ERROR release disk-1: /var/vcap/store stays mounted (namespace own): Device or resource busy\n\
            2026-11-25T15:19:24.953639Z ERROR release disk-1: held by pid 274 (sleep): cwd /var/vcap/store\n";
        let cases = [
            (
                "released",
                out(0, "done"),
                true,
                Ok(Released::Done("done".into())),
            ),
            (
                "no helper, old VM",
                out(127, ""),
                false,
                Ok(Released::NoHelper),
            ),
            (
                "busy",
                out(2, busy),
                true,
                Err((
                    "Bosh::Clouds::CloudError",
                    true,
                    "held by pid 274 (sleep): cwd /var/vcap/store",
                )),
            ),
            (
                "no helper, our VM",
                out(127, "exec: not found"),
                true,
                Err(("Bosh::Clouds::CloudError", false, "is missing in the guest")),
            ),
            (
                "other failure",
                out(1, "bad cid"),
                true,
                Err(("Bosh::Clouds::CloudError", false, "exited 1")),
            ),
        ];
        for (name, o, key, want) in cases {
            match (judge(&vm, &disk, key, &o), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "case {name}"),
                (Err(e), Err((kind, retry, text))) => {
                    assert_eq!(
                        (e.bosh_type(), e.ok_to_retry()),
                        (kind, retry),
                        "case {name}"
                    );
                    let m = e.to_string();
                    assert!(m.contains(text), "case {name}: {m}");
                    assert!(m.contains("disk disk-1 from VM vm-1"), "case {name}: {m}");
                }
                (got, _) => panic!("case {name}: {got:?}"),
            }
        }
    }

    #[test]
    fn busy_details_drop_timestamps() {
        let log = "T ERROR release d: /var/vcap/store stays mounted (namespace own): busy\nT ERROR release d: held by pid 9 (sh): fd 3 /var/vcap/store/f\n";
        assert_eq!(
            busy_details(log),
            "release d: /var/vcap/store stays mounted (namespace own): busy; release d: held by pid 9 (sh): fd 3 /var/vcap/store/f"
        );
        assert_eq!(busy_details(""), "(no output)");
    }
}
