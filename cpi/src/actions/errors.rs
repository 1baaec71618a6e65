//! How failures of the LXD client become BOSH errors. A plain [`LxdError`] is a
//! `CloudError` carrying LXD's own message (method, path, LXD's text); the helpers here
//! add what the CPI was doing and to which object, keep not-found distinct (a missing VM
//! is `VMNotFound`), and mark the failures worth a retry of `create_vm`. This file is the
//! one place where an [`LxdError`]'s kind chooses the BOSH error kind.

use std::fmt::Display;

use super::disk_properties::show_bytes;
use crate::ids::{DiskCid, VmCid};
use crate::lxd::LxdError;
use crate::rpc::CpiError;

/// A step inside an action failed: the agent settings file, the disk keys, a lock, an
/// edit the CPI refused, or an instance that did not come up. The action turns it into a
/// [`CpiError`] of the kind it calls for, with the VM or disk it was working on.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The agent settings file could not be read from the instance.
    #[error("reading the agent settings {path}: {source}")]
    SettingsRead {
        /// The file in the guest.
        path: &'static str,
        /// LXD's failure.
        source: LxdError,
    },
    /// The agent settings file is not the JSON the agent reads.
    #[error("the agent settings {path} are not valid: {source}")]
    SettingsInvalid {
        /// The file in the guest.
        path: &'static str,
        /// The decoder's error.
        source: serde_json::Error,
    },
    /// The agent settings could not be encoded.
    #[error("encoding the agent settings: {0}")]
    SettingsEncode(serde_json::Error),
    /// The agent settings file (or its parent directory) could not be written.
    #[error("writing the agent settings {path}: {source}")]
    SettingsWrite {
        /// The file in the guest.
        path: &'static str,
        /// LXD's failure.
        source: LxdError,
    },
    /// The instance's disk keys could not be read.
    #[error("reading the disk keys: {0}")]
    DiskKeysRead(LxdError),
    /// The instance's lock could not be taken.
    #[error("locking instance {vm}: {source}")]
    Lock {
        /// The instance.
        vm: String,
        /// LXD's failure.
        source: LxdError,
    },
    /// The instance vanished while the CPI waited for it to run.
    #[error("instance {name} disappeared")]
    Disappeared {
        /// The instance.
        name: String,
    },
    /// The instance did not reach `Running` in time.
    #[error("instance {name} is not running after {}s: {last}", waited.as_secs())]
    NotRunning {
        /// The instance.
        name: String,
        /// How long the CPI waited.
        waited: std::time::Duration,
        /// The last state seen, or the last error reading it.
        last: String,
    },
    /// The disk cannot be attached as the design wants: another device is in the way.
    #[error("{why}")]
    AttachConflict {
        /// The disk's CID (its device name).
        disk: String,
        /// Which device conflicts and how.
        why: String,
    },
    /// Taking a half-done edit back failed (the BOSH error of that step).
    #[error(transparent)]
    Undo(CpiError),
    /// The new size is smaller than the volume's: only growing is supported.
    #[error(
        "cannot shrink it from {} to {}: only growing in place is supported",
        show_bytes(*from),
        show_bytes(*to)
    )]
    Shrink {
        /// The current size in bytes.
        from: u64,
        /// The requested size in bytes.
        to: u64,
    },
}

/// Any LXD failure without more context: a `CloudError` with LXD's message.
impl From<LxdError> for CpiError {
    fn from(err: LxdError) -> Self {
        CpiError::cloud(err.to_string())
    }
}

/// A failure while `doing` something to VM `cid`: `VMNotFound` when LXD says the
/// instance does not exist, `CloudError` otherwise; the message names both.
pub fn vm_error(cid: &VmCid, doing: &str, err: LxdError) -> CpiError {
    let message = format!("{doing} VM {cid}: {err}");
    if err.is_not_found() {
        CpiError::vm_not_found(message)
    } else {
        CpiError::cloud(message)
    }
}

/// A `create_vm` step failed: `VMCreationFailed` with `ok_to_retry` when the failure is
/// transient (the director then repeats the identical call), `CloudError` otherwise.
pub fn creation_error(step: impl Display, err: LxdError) -> CpiError {
    let message = format!("{step}: {err}");
    if err.is_transient() {
        CpiError::vm_creation_failed(message, true)
    } else {
        CpiError::cloud(message)
    }
}

/// Context for any other step: `CloudError` naming the step, `doing: <LXD message>`.
pub fn cloud_error(doing: impl Display, err: LxdError) -> CpiError {
    CpiError::cloud(format!("{doing}: {err}"))
}

/// ` on VM <vm>` or nothing.
pub fn on_vm(vm: Option<&VmCid>) -> String {
    vm.map(|v| format!(" on VM {v}")).unwrap_or_default()
}

/// A failed LXD call while `doing` something with disk `cid` (on VM `vm`): `VMNotFound`
/// when the instance is missing, `CloudError` otherwise; the message names both CIDs.
pub fn disk_error(cid: &DiskCid, vm: Option<&VmCid>, doing: &str, err: LxdError) -> CpiError {
    let message = format!("{doing} disk {cid}{}: {err}", on_vm(vm));
    let instance_gone = vm.is_some_and(|v| err.is_missing_instance(v.as_str()));
    if instance_gone {
        CpiError::vm_not_found(message)
    } else {
        CpiError::cloud(message)
    }
}

/// A `CloudError` for disk `cid` (on VM `vm`) with a message of the CPI's own.
pub fn disk_failure(cid: &DiskCid, vm: Option<&VmCid>, what: impl Display) -> CpiError {
    CpiError::cloud(format!("disk {cid}{}: {what}", on_vm(vm)))
}

/// The error of an instance or volume edit: LXD's, or the edit's own refusal.
#[derive(Debug)]
pub enum EditError {
    /// LXD failed.
    Lxd(LxdError),
    /// The edit refused, saying why.
    Refused(StepError),
}

impl From<LxdError> for EditError {
    fn from(err: LxdError) -> Self {
        EditError::Lxd(err)
    }
}

impl EditError {
    /// As a BOSH error naming the disk and the VM: LXD's failures through [`disk_error`],
    /// refusals as `CloudError`s.
    pub fn into_cpi(self, cid: &DiskCid, vm: Option<&VmCid>, doing: &str) -> CpiError {
        match self {
            EditError::Lxd(e) => disk_error(cid, vm, doing, e),
            EditError::Refused(why) => {
                CpiError::cloud(format!("{doing} disk {cid}{}: {why}", on_vm(vm)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found() -> LxdError {
        LxdError::from_status("GET", "/1.0/instances/vm-1", 404, "Instance not found")
    }

    fn busy() -> LxdError {
        let text = "Instance is busy running a \"stop\" operation";
        LxdError::from_status("PUT", "/1.0/instances/vm-1", 500, text)
    }

    #[test]
    fn not_found_stays_distinct_and_names_the_vm() {
        let cid = VmCid::new("vm-1").unwrap();
        let err = vm_error(&cid, "rebooting", not_found());
        assert_eq!(err.bosh_type(), "Bosh::Clouds::VMNotFound");
        assert_eq!(
            err.to_string(),
            "rebooting VM vm-1: LXD GET /1.0/instances/vm-1: not found: Instance not found"
        );
        let err = vm_error(&cid, "rebooting", busy());
        assert_eq!(err.bosh_type(), "Bosh::Clouds::CloudError");
        assert_eq!(
            CpiError::from(not_found()).bosh_type(),
            "Bosh::Clouds::CloudError"
        );
    }

    #[test]
    fn only_transient_creation_failures_are_retried() {
        let cases = [
            ("busy", busy(), "Bosh::Clouds::VMCreationFailed", true),
            ("not found", not_found(), "Bosh::Clouds::CloudError", false),
            (
                "transport",
                LxdError::transport("GET", "/1.0", "connection refused"),
                "Bosh::Clouds::VMCreationFailed",
                true,
            ),
            (
                "operation",
                LxdError::from_operation(
                    "PUT",
                    "/1.0/instances/vm-1/state",
                    "op",
                    "Failed to start device \"x\"",
                ),
                "Bosh::Clouds::CloudError",
                false,
            ),
        ];
        for (name, lxd, kind, retry) in cases {
            let shown = lxd.to_string();
            let err = creation_error("starting vm-1", lxd);
            assert_eq!(
                (err.bosh_type(), err.ok_to_retry()),
                (kind, retry),
                "case {name}"
            );
            assert_eq!(
                err.to_string(),
                format!("starting vm-1: {shown}"),
                "case {name}"
            );
        }
    }

    #[test]
    fn errors_name_disk_and_vm() {
        let disk = DiskCid::new("disk-1").unwrap();
        let vm = VmCid::new("vm-1").unwrap();
        let gone = LxdError::from_status(
            "GET",
            "/1.0/instances/vm-1?project=p",
            404,
            "Instance not found",
        );
        let err = disk_error(&disk, Some(&vm), "attaching", gone);
        assert_eq!(err.bosh_type(), "Bosh::Clouds::VMNotFound");
        assert!(
            err.to_string()
                .starts_with("attaching disk disk-1 on VM vm-1: LXD GET"),
            "{err}"
        );
        let file_gone = LxdError::from_status(
            "GET",
            "/1.0/instances/vm-1/files?path=%2Fx&project=p",
            404,
            "not found",
        );
        let err = disk_error(&disk, Some(&vm), "attaching", file_gone);
        assert_eq!(
            err.bosh_type(),
            "Bosh::Clouds::CloudError",
            "a file, not the VM"
        );
        let vol_gone = LxdError::from_status(
            "GET",
            "/1.0/storage-pools/p/volumes/custom/disk-1",
            404,
            "Storage pool volume not found",
        );
        let err = disk_error(&disk, Some(&vm), "attaching", vol_gone);
        assert_eq!(err.bosh_type(), "Bosh::Clouds::CloudError");
        assert_eq!(disk_failure(&disk, None, "x").to_string(), "disk disk-1: x");
    }
}
