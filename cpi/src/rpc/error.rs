//! The CPI's error type and its one mapping onto the director's error classes
//! (`bosh-cpi-contract.md` §1.5): every failure a call can end in is a [`CpiError`], and
//! [`CpiError::bosh_type`] / [`CpiError::ok_to_retry`] are the only place that knows the
//! `Bosh::Clouds::*` strings.

use crate::json::FieldError;

/// Everything a CPI call can fail with. Each variant is one director error class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpiError {
    /// The request itself is unusable: bad JSON, missing or mistyped arguments
    /// (`Bosh::Clouds::CpiError`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The method is unknown or not built (`Bosh::Clouds::NotImplemented`).
    #[error("{0}")]
    NotImplemented(String),
    /// A known method this CPI deliberately does not support; the director falls back
    /// where it can, e.g. for `resize_disk` (`Bosh::Clouds::NotSupported`).
    #[error("{0}")]
    NotSupported(String),
    /// Any other failure talking to LXD or doing the work (`Bosh::Clouds::CloudError`).
    #[error("{0}")]
    Cloud(String),
    /// A `CloudError` that goes away when the same call is made again later (a disk busy
    /// in the guest); answered with `ok_to_retry` true. The director does not read the flag
    /// for this class (contract §1.5), but an operator and bosh-cli's log see it.
    #[error("{0}")]
    CloudRetriable(String),
    /// The named VM does not exist (`Bosh::Clouds::VMNotFound`).
    #[error("{0}")]
    VmNotFound(String),
    /// `create_vm` failed; with `ok_to_retry` the director repeats the identical call
    /// (`Bosh::Clouds::VMCreationFailed`).
    #[error("{message}")]
    VmCreationFailed {
        /// What failed.
        message: String,
        /// Whether the director may retry the same call.
        ok_to_retry: bool,
    },
    /// The named disk does not exist (`Bosh::Clouds::DiskNotFound`).
    #[error("{message}")]
    DiskNotFound {
        /// What failed.
        message: String,
        /// Whether the director may retry.
        ok_to_retry: bool,
    },
    /// The disk is not attached to the VM (`Bosh::Clouds::DiskNotAttached`).
    #[error("{message}")]
    DiskNotAttached {
        /// What failed.
        message: String,
        /// Whether the director may retry.
        ok_to_retry: bool,
    },
    /// No space for the disk (`Bosh::Clouds::NoDiskSpace`).
    #[error("{message}")]
    NoDiskSpace {
        /// What failed.
        message: String,
        /// Whether the director may retry.
        ok_to_retry: bool,
    },
}

/// The name action code uses for its errors; the same type as [`CpiError`].
pub type ActionError = CpiError;

impl CpiError {
    /// The director's fully qualified error class for this error: the one mapping.
    pub fn bosh_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "Bosh::Clouds::CpiError",
            Self::NotImplemented(_) => "Bosh::Clouds::NotImplemented",
            Self::NotSupported(_) => "Bosh::Clouds::NotSupported",
            Self::Cloud(_) | Self::CloudRetriable(_) => "Bosh::Clouds::CloudError",
            Self::VmNotFound(_) => "Bosh::Clouds::VMNotFound",
            Self::VmCreationFailed { .. } => "Bosh::Clouds::VMCreationFailed",
            Self::DiskNotFound { .. } => "Bosh::Clouds::DiskNotFound",
            Self::DiskNotAttached { .. } => "Bosh::Clouds::DiskNotAttached",
            Self::NoDiskSpace { .. } => "Bosh::Clouds::NoDiskSpace",
        }
    }

    /// The `ok_to_retry` flag; the director reads it only for the retriable classes.
    pub fn ok_to_retry(&self) -> bool {
        match self {
            Self::VmCreationFailed { ok_to_retry, .. }
            | Self::DiskNotFound { ok_to_retry, .. }
            | Self::DiskNotAttached { ok_to_retry, .. }
            | Self::NoDiskSpace { ok_to_retry, .. } => *ok_to_retry,
            Self::CloudRetriable(_) => true,
            Self::InvalidRequest(_)
            | Self::NotImplemented(_)
            | Self::NotSupported(_)
            | Self::Cloud(_)
            | Self::VmNotFound(_) => false,
        }
    }

    /// The same kind of error with another message (used to add context).
    pub fn with_message(&self, message: impl Into<String>) -> Self {
        let message = message.into();
        match *self {
            Self::InvalidRequest(_) => Self::InvalidRequest(message),
            Self::NotImplemented(_) => Self::NotImplemented(message),
            Self::NotSupported(_) => Self::NotSupported(message),
            Self::Cloud(_) => Self::Cloud(message),
            Self::CloudRetriable(_) => Self::CloudRetriable(message),
            Self::VmNotFound(_) => Self::VmNotFound(message),
            Self::VmCreationFailed { ok_to_retry, .. } => Self::VmCreationFailed {
                message,
                ok_to_retry,
            },
            Self::DiskNotFound { ok_to_retry, .. } => Self::DiskNotFound {
                message,
                ok_to_retry,
            },
            Self::DiskNotAttached { ok_to_retry, .. } => Self::DiskNotAttached {
                message,
                ok_to_retry,
            },
            Self::NoDiskSpace { ok_to_retry, .. } => Self::NoDiskSpace {
                message,
                ok_to_retry,
            },
        }
    }

    /// Prefixes the message with `context: `, keeping the kind.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        let message = format!("{context}: {self}");
        self.with_message(message)
    }

    /// `Bosh::Clouds::CpiError`: the request is malformed.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    /// `Bosh::Clouds::NotImplemented`.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::NotImplemented(message.into())
    }

    /// `Bosh::Clouds::NotSupported`.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::NotSupported(message.into())
    }

    /// `Bosh::Clouds::CloudError`.
    pub fn cloud(message: impl Into<String>) -> Self {
        Self::Cloud(message.into())
    }

    /// `Bosh::Clouds::CloudError` with `ok_to_retry` true: the same call may succeed later.
    pub fn cloud_retriable(message: impl Into<String>) -> Self {
        Self::CloudRetriable(message.into())
    }

    /// `Bosh::Clouds::VMNotFound`.
    pub fn vm_not_found(message: impl Into<String>) -> Self {
        Self::VmNotFound(message.into())
    }

    /// `Bosh::Clouds::VMCreationFailed`; `ok_to_retry` for transient failures.
    pub fn vm_creation_failed(message: impl Into<String>, ok_to_retry: bool) -> Self {
        Self::VmCreationFailed {
            message: message.into(),
            ok_to_retry,
        }
    }

    /// `Bosh::Clouds::DiskNotFound` (not retriable).
    pub fn disk_not_found(message: impl Into<String>) -> Self {
        Self::DiskNotFound {
            message: message.into(),
            ok_to_retry: false,
        }
    }

    /// `Bosh::Clouds::DiskNotAttached` (not retriable).
    pub fn disk_not_attached(message: impl Into<String>) -> Self {
        Self::DiskNotAttached {
            message: message.into(),
            ok_to_retry: false,
        }
    }

    /// `Bosh::Clouds::NoDiskSpace`.
    pub fn no_disk_space(message: impl Into<String>, ok_to_retry: bool) -> Self {
        Self::NoDiskSpace {
            message: message.into(),
            ok_to_retry,
        }
    }
}

/// A malformed field inside a cloud-properties object is a `CloudError` naming the field.
impl From<FieldError> for CpiError {
    fn from(err: FieldError) -> Self {
        Self::Cloud(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_director_class_and_envelope() {
        let cases = [
            (
                CpiError::invalid_request("m"),
                "Bosh::Clouds::CpiError",
                false,
            ),
            (
                CpiError::not_implemented("m"),
                "Bosh::Clouds::NotImplemented",
                false,
            ),
            (
                CpiError::not_supported("m"),
                "Bosh::Clouds::NotSupported",
                false,
            ),
            (CpiError::cloud("m"), "Bosh::Clouds::CloudError", false),
            (
                CpiError::cloud_retriable("m"),
                "Bosh::Clouds::CloudError",
                true,
            ),
            (
                CpiError::vm_not_found("m"),
                "Bosh::Clouds::VMNotFound",
                false,
            ),
            (
                CpiError::vm_creation_failed("m", true),
                "Bosh::Clouds::VMCreationFailed",
                true,
            ),
            (
                CpiError::vm_creation_failed("m", false),
                "Bosh::Clouds::VMCreationFailed",
                false,
            ),
            (
                CpiError::disk_not_found("m"),
                "Bosh::Clouds::DiskNotFound",
                false,
            ),
            (
                CpiError::disk_not_attached("m"),
                "Bosh::Clouds::DiskNotAttached",
                false,
            ),
            (
                CpiError::no_disk_space("m", true),
                "Bosh::Clouds::NoDiskSpace",
                true,
            ),
        ];
        for (err, bosh_type, retry) in cases {
            assert_eq!(err.bosh_type(), bosh_type, "case {err:?}");
            assert_eq!(err.ok_to_retry(), retry, "case {err:?}");
            assert_eq!(err.to_string(), "m", "case {err:?}");
            // what the director reads: the whole envelope on stdout
            let bytes = crate::rpc::Response::error(&err).to_json_bytes();
            let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
            assert_eq!(
                doc,
                serde_json::json!({"result": null, "log": "",
                    "error": {"type": bosh_type, "message": "m", "ok_to_retry": retry}}),
                "case {err:?}"
            );
            let renamed = err.with_message("n");
            assert_eq!(
                (renamed.bosh_type(), renamed.ok_to_retry()),
                (bosh_type, retry)
            );
        }
    }

    #[test]
    fn context_keeps_the_kind_and_the_retry_flag() {
        let cpi = CpiError::vm_creation_failed("image busy", true).context("creating vm-2");
        assert_eq!(
            cpi,
            CpiError::vm_creation_failed("creating vm-2: image busy", true)
        );
        let ctx = CpiError::vm_not_found("no vm-3").context("deleting");
        assert_eq!(ctx, CpiError::vm_not_found("deleting: no vm-3"));
    }
}
