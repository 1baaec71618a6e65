//! `LxdError`: every failure of the LXD client, classified so that callers can branch on it.
//!
//! LXD reports failures in two places: directly in the HTTP answer (an `error`
//! envelope with `error_code`), and inside an asynchronous operation that was
//! accepted with 202 and failed later (`metadata.status == "Failure"`,
//! `metadata.err`). Both end up here, classified by status code and, where LXD
//! gives no distinct code, by its message text.

use std::time::Duration;

/// A failure talking to LXD. Every message names the HTTP method, the path and
/// LXD's own error text.
#[derive(Debug, thiserror::Error)]
pub enum LxdError {
    /// 404: the object (instance, volume, image, alias, operation...) does not exist.
    #[error("LXD {method} {path}: not found: {message}")]
    NotFound {
        /// HTTP method of the failed request.
        method: String,
        /// Path (with query) of the failed request.
        path: String,
        /// LXD's error text.
        message: String,
    },
    /// 409 Conflict, or an operation that failed because the name is taken
    /// (`This "instances" entry already exists`, `Image with same fingerprint already exists`).
    #[error("LXD {method} {path}: already exists: {message}")]
    AlreadyExists {
        /// HTTP method of the failed request.
        method: String,
        /// Path (with query) of the failed request.
        path: String,
        /// LXD's error text.
        message: String,
    },
    /// LXD is busy with another operation on the same object
    /// (`Instance is busy running a "stop" operation`, 503, a locked database). Retryable.
    #[error("LXD {method} {path}: busy: {message}")]
    Busy {
        /// HTTP method of the failed request.
        method: String,
        /// Path (with query) of the failed request.
        path: String,
        /// LXD's error text.
        message: String,
    },
    /// 412: the `If-Match` ETag is stale; someone changed the object since it was read.
    #[error("LXD {method} {path}: precondition failed (stale ETag): {message}")]
    PreconditionFailed {
        /// HTTP method of the failed request.
        method: String,
        /// Path (with query) of the failed request.
        path: String,
        /// LXD's error text (`ETag doesn't match: <current> vs <sent>`).
        message: String,
    },
    /// An asynchronous operation ended in `Failure` (or `Cancelled`) for another reason.
    #[error("LXD {method} {path}: operation {id} failed: {err}")]
    Operation {
        /// HTTP method of the request that created the operation.
        method: String,
        /// Path of the request that created the operation.
        path: String,
        /// Operation UUID.
        id: String,
        /// `metadata.err` of the operation.
        err: String,
    },
    /// Any other error answer from LXD (400, 403, 500...).
    #[error("LXD {method} {path}: HTTP {status}: {message}")]
    Api {
        /// HTTP method of the failed request.
        method: String,
        /// Path (with query) of the failed request.
        path: String,
        /// HTTP status (LXD's `error_code`).
        status: u16,
        /// LXD's error text.
        message: String,
    },
    /// An operation (or an exec) was still running when the caller's deadline passed.
    #[error("LXD {method} {path}: operation {id} still running after {waited:?}")]
    Timeout {
        /// HTTP method of the request that created the operation.
        method: String,
        /// Path of the request that created the operation.
        path: String,
        /// Operation UUID.
        id: String,
        /// How long the client waited.
        waited: Duration,
    },
    /// The request never got an answer: socket missing, connection refused or reset.
    #[error("LXD {method} {path}: transport error: {message}")]
    Transport {
        /// HTTP method of the failed request.
        method: String,
        /// Path (with query) of the failed request.
        path: String,
        /// The transport's error chain, flattened.
        message: String,
    },
    /// LXD answered something this client cannot decode (not the documented envelope or type).
    #[error("LXD {method} {path}: unexpected answer: {message}")]
    Protocol {
        /// HTTP method of the request.
        method: String,
        /// Path (with query) of the request.
        path: String,
        /// What did not fit.
        message: String,
    },
    /// The client was asked for something it cannot send (bad URL, a PATCH that would
    /// have to remove a device, an unreadable upload file...). Nothing was sent.
    #[error("LXD client: {0}")]
    InvalidRequest(String),
}

impl LxdError {
    /// True for a 404 answer: callers treat not-found as data (`has_vm` = false).
    pub fn is_not_found(&self) -> bool {
        matches!(self, LxdError::NotFound { .. })
    }

    /// True when the object already exists (409 or the in-operation duplicate error).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, LxdError::AlreadyExists { .. })
    }

    /// True for answers worth retrying after a fresh GET: stale ETag or busy.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(
            self,
            LxdError::PreconditionFailed { .. } | LxdError::Busy { .. }
        )
    }

    /// Classifies a direct error answer (`type: error` or a non-2xx status).
    pub(crate) fn from_status(method: &str, path: &str, status: u16, message: &str) -> Self {
        let (method, path, message) = (method.to_owned(), path.to_owned(), message.to_owned());
        match status {
            404 => LxdError::NotFound {
                method,
                path,
                message,
            },
            409 => LxdError::AlreadyExists {
                method,
                path,
                message,
            },
            412 => LxdError::PreconditionFailed {
                method,
                path,
                message,
            },
            // A duplicate profile is refused with 500 `... The profile already exists`.
            _ if message.contains("already exists") => LxdError::AlreadyExists {
                method,
                path,
                message,
            },
            503 => LxdError::Busy {
                method,
                path,
                message,
            },
            // LXD has no status code of its own for "another operation holds the
            // instance lock": it answers 500 with this text (verified on 5.0.2 with a
            // PATCH during a stop). Same for sqlite contention in the database.
            _ if is_busy_text(&message) => LxdError::Busy {
                method,
                path,
                message,
            },
            _ => LxdError::Api {
                method,
                path,
                status,
                message,
            },
        }
    }

    /// Classifies the failure of an asynchronous operation from its `err` text.
    pub(crate) fn from_operation(method: &str, path: &str, id: &str, err: &str) -> Self {
        let (method, path) = (method.to_owned(), path.to_owned());
        // A duplicate instance name is not refused with 409: POST /1.0/instances is
        // accepted (202) and the operation fails with `... This "instances" entry
        // already exists`. A second upload of the same image fails the same way with
        // `Image with same fingerprint already exists`.
        if err.contains("already exists") {
            return LxdError::AlreadyExists {
                method,
                path,
                message: err.to_owned(),
            };
        }
        if is_busy_text(err) {
            return LxdError::Busy {
                method,
                path,
                message: err.to_owned(),
            };
        }
        LxdError::Operation {
            method,
            path,
            id: id.to_owned(),
            err: err.to_owned(),
        }
    }
}

/// LXD's wordings for "try again later" where no status code says so. Writes to one
/// instance are serialised by a per-instance operation lock; a write that finds it
/// taken fails with `Failed to create instance update operation: <why>`, where
/// `<why>` is `Instance is busy running a "stop" operation` or, for two concurrent
/// updates, `A matching non-reusable operation has now succeeded` (seen on 5.0.2).
fn is_busy_text(message: &str) -> bool {
    const BUSY: [&str; 5] = [
        "is busy running",
        "failed to create instance update operation",
        "non-reusable operation",
        "database is locked",
        "database is busy",
    ];
    let lower = message.to_ascii_lowercase();
    BUSY.iter().any(|needle| lower.contains(needle))
}

/// Turns a not-found error into `Ok(None)`: not-found is data for finders.
pub trait NotFoundExt<T> {
    /// `Ok(v)` → `Ok(Some(v))`, `NotFound` → `Ok(None)`, other errors unchanged.
    fn optional(self) -> Result<Option<T>, LxdError>;
}

impl<T> NotFoundExt<T> for Result<T, LxdError> {
    fn optional(self) -> Result<Option<T>, LxdError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        struct Case {
            name: &'static str,
            status: u16,
            message: &'static str,
            want: &'static str,
        }
        let cases = [
            Case {
                name: "404",
                status: 404,
                message: "Instance not found",
                want: "NotFound",
            },
            Case {
                name: "409",
                status: 409,
                message: "Alias \"bb\" already exists",
                want: "AlreadyExists",
            },
            Case {
                name: "412",
                status: 412,
                message: "ETag doesn't match: a vs b",
                want: "PreconditionFailed",
            },
            Case {
                name: "503",
                status: 503,
                message: "Service unavailable",
                want: "Busy",
            },
            Case {
                name: "500 busy",
                status: 500,
                message: "Failed to create instance update operation: Instance is busy running a \"stop\" operation",
                want: "Busy",
            },
            Case {
                name: "500 db locked",
                status: 500,
                message: "database is locked",
                want: "Busy",
            },
            Case {
                name: "500 duplicate profile",
                status: 500,
                message: "Error inserting \"p\" into database: The profile already exists",
                want: "AlreadyExists",
            },
            Case {
                name: "400 running",
                status: 400,
                message: "Instance is running",
                want: "Api",
            },
            Case {
                name: "500 other",
                status: 500,
                message: "Missing device type in config",
                want: "Api",
            },
        ];
        for c in cases {
            let e =
                LxdError::from_status("PATCH", "/1.0/instances/a?project=p", c.status, c.message);
            let got = format!("{e:?}");
            assert!(got.starts_with(c.want), "case {}: got {got}", c.name);
            let shown = e.to_string();
            assert!(
                shown.contains("PATCH /1.0/instances/a?project=p"),
                "case {}: {shown}",
                c.name
            );
            assert!(shown.contains(c.message), "case {}: {shown}", c.name);
        }
    }

    #[test]
    fn operation_classification() {
        let cases = [
            (
                "duplicate instance",
                "Failed creating instance record: Add instance info to the database: This \"instances\" entry already exists",
                "AlreadyExists",
            ),
            (
                "duplicate image",
                "Image with same fingerprint already exists",
                "AlreadyExists",
            ),
            (
                "busy",
                "Instance is busy running a \"start\" operation",
                "Busy",
            ),
            (
                "already running",
                "The instance is already running",
                "Operation",
            ),
            (
                "volatile",
                "Volatile idmap keys can't be deleted by the user",
                "Operation",
            ),
        ];
        for (name, err, want) in cases {
            let e = LxdError::from_operation("POST", "/1.0/instances?project=p", "op-1", err);
            let got = format!("{e:?}");
            assert!(got.starts_with(want), "case {name}: got {got}");
            assert!(e.to_string().contains(err), "case {name}: {e}");
        }
    }

    #[test]
    fn optional_maps_only_not_found() {
        let nf: Result<u8, LxdError> = Err(LxdError::from_status("GET", "/x", 404, "not found"));
        assert!(matches!(nf.optional(), Ok(None)), "not found → None");
        let other: Result<u8, LxdError> = Err(LxdError::from_status("GET", "/x", 500, "boom"));
        assert!(other.optional().is_err(), "500 stays an error");
        assert!(
            matches!(Ok::<u8, LxdError>(3).optional(), Ok(Some(3))),
            "ok → Some"
        );
    }
}
