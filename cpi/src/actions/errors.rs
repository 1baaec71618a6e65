//! How failures of the LXD client become BOSH errors. A plain [`LxdError`] is a
//! `CloudError` carrying LXD's own message (method, path, LXD's text); the helpers here
//! add what the CPI was doing and to which object, keep not-found distinct (a missing VM
//! is `VMNotFound`), and mark the failures worth a retry of `create_vm`.

use std::fmt::Display;

use super::disk_properties::show_bytes;
use crate::ids::VmCid;
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
}
