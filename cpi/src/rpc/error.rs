//! The CPI's error type and its one mapping onto the director's error classes
//! (cloudfoundry/bosh `src/bosh-director/lib/clouds/errors.rb`): every failure a call can
//! end in is a [`CpiError`], a [`CpiErrorKind`] and a message. [`CpiErrorKind::bosh_type`] and
//! [`CpiErrorKind::ok_to_retry`] are the only place that knows the `Bosh::Clouds::*`
//! strings and the retry flag; nothing decides them from a message's text.

use crate::json::FieldError;

/// What kind of failure a CPI call ended in: one director error class each, and whether
/// the same call may succeed when made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpiErrorKind {
    /// The request itself is unusable: bad JSON, missing or mistyped arguments
    /// (`Bosh::Clouds::CpiError`).
    InvalidRequest,
    /// The method is unknown or not built (`Bosh::Clouds::NotImplemented`).
    NotImplemented,
    /// A known method this CPI deliberately does not support; the director falls back
    /// where it can, e.g. for `resize_disk` (`Bosh::Clouds::NotSupported`).
    NotSupported,
    /// Any other failure talking to LXD or doing the work (`Bosh::Clouds::CloudError`).
    Cloud,
    /// A `CloudError` that goes away when the same call is made again later (a disk busy
    /// in the guest); answered with `ok_to_retry` true. The director reads the flag only for
    /// its `RetriableCloudError` classes, not this one, but an operator and bosh-cli's log see it.
    CloudRetriable,
    /// The named VM does not exist (`Bosh::Clouds::VMNotFound`).
    VmNotFound,
    /// `create_vm` failed; when `transient`, the director repeats the identical call
    /// (`Bosh::Clouds::VMCreationFailed`).
    VmCreationFailed {
        /// Whether the same call may succeed later (`ok_to_retry`).
        transient: bool,
    },
    /// The named disk does not exist (`Bosh::Clouds::DiskNotFound`).
    DiskNotFound,
    /// The disk is not attached to the VM (`Bosh::Clouds::DiskNotAttached`).
    DiskNotAttached,
    /// No space for the disk (`Bosh::Clouds::NoDiskSpace`).
    NoDiskSpace {
        /// Whether the same call may succeed later (`ok_to_retry`).
        transient: bool,
    },
}

impl CpiErrorKind {
    /// The director's fully qualified error class for this kind: the one mapping.
    pub fn bosh_type(self) -> &'static str {
        match self {
            Self::InvalidRequest => "Bosh::Clouds::CpiError",
            Self::NotImplemented => "Bosh::Clouds::NotImplemented",
            Self::NotSupported => "Bosh::Clouds::NotSupported",
            Self::Cloud | Self::CloudRetriable => "Bosh::Clouds::CloudError",
            Self::VmNotFound => "Bosh::Clouds::VMNotFound",
            Self::VmCreationFailed { .. } => "Bosh::Clouds::VMCreationFailed",
            Self::DiskNotFound => "Bosh::Clouds::DiskNotFound",
            Self::DiskNotAttached => "Bosh::Clouds::DiskNotAttached",
            Self::NoDiskSpace { .. } => "Bosh::Clouds::NoDiskSpace",
        }
    }

    /// The `ok_to_retry` flag; the director reads it only for the retriable classes.
    pub fn ok_to_retry(self) -> bool {
        match self {
            Self::VmCreationFailed { transient } | Self::NoDiskSpace { transient } => transient,
            Self::CloudRetriable => true,
            Self::InvalidRequest
            | Self::NotImplemented
            | Self::NotSupported
            | Self::Cloud
            | Self::VmNotFound
            | Self::DiskNotFound
            | Self::DiskNotAttached => false,
        }
    }
}

/// Everything a CPI call can fail with: what kind of failure, and what to tell the
/// operator. Shown as the message alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CpiError {
    kind: CpiErrorKind,
    message: String,
}

/// The name action code uses for its errors; the same type as [`CpiError`].
pub type ActionError = CpiError;

impl CpiError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: CpiErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> CpiErrorKind {
        self.kind
    }

    /// The director's error class (see [`CpiErrorKind::bosh_type`]).
    pub fn bosh_type(&self) -> &'static str {
        self.kind.bosh_type()
    }

    /// The `ok_to_retry` flag (see [`CpiErrorKind::ok_to_retry`]).
    pub fn ok_to_retry(&self) -> bool {
        self.kind.ok_to_retry()
    }

    /// The same kind of error with another message (used to add context).
    pub fn with_message(&self, message: impl Into<String>) -> Self {
        Self::new(self.kind, message)
    }

    /// Prefixes the message with `context: `, keeping the kind.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        let message = format!("{context}: {}", self.message);
        Self::new(self.kind, message)
    }

    /// `Bosh::Clouds::CpiError`: the request is malformed.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::InvalidRequest, message)
    }

    /// `Bosh::Clouds::NotImplemented`.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::NotImplemented, message)
    }

    /// `Bosh::Clouds::NotSupported`.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::NotSupported, message)
    }

    /// `Bosh::Clouds::CloudError`.
    pub fn cloud(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::Cloud, message)
    }

    /// `Bosh::Clouds::CloudError` with `ok_to_retry` true: the same call may succeed later.
    pub fn cloud_retriable(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::CloudRetriable, message)
    }

    /// `Bosh::Clouds::VMNotFound`.
    pub fn vm_not_found(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::VmNotFound, message)
    }

    /// `Bosh::Clouds::VMCreationFailed`; `transient` for failures worth the same call again.
    pub fn vm_creation_failed(message: impl Into<String>, transient: bool) -> Self {
        Self::new(CpiErrorKind::VmCreationFailed { transient }, message)
    }

    /// `Bosh::Clouds::DiskNotFound` (not retriable).
    pub fn disk_not_found(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::DiskNotFound, message)
    }

    /// `Bosh::Clouds::DiskNotAttached` (not retriable).
    pub fn disk_not_attached(message: impl Into<String>) -> Self {
        Self::new(CpiErrorKind::DiskNotAttached, message)
    }

    /// `Bosh::Clouds::NoDiskSpace`; `transient` for failures worth the same call again.
    pub fn no_disk_space(message: impl Into<String>, transient: bool) -> Self {
        Self::new(CpiErrorKind::NoDiskSpace { transient }, message)
    }
}

/// A malformed field inside a cloud-properties object is a `CloudError` naming the field.
impl From<FieldError> for CpiError {
    fn from(err: FieldError) -> Self {
        Self::cloud(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_director_class() {
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
            // the envelope the director reads is checked in `envelope.rs`
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
