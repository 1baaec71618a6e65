//! `LxdError`: every failure of the LXD client, one struct (the request, what kind of
//! failure, where LXD said it, LXD's text), classified so that callers branch on the kind.
//!
//! LXD reports failures in two places: directly in the HTTP answer (an `error`
//! envelope with `error_code`), and inside an asynchronous operation that was
//! accepted with 202 and failed later (`metadata.status == "Failure"`,
//! `metadata.err`). Both end up here, classified by status code and, where LXD
//! gives no distinct code, by its message text: this file is the only place that
//! reads LXD's wording.

use std::time::Duration;

use super::paths::instance_path;

/// What went wrong, as far as a caller needs to know to decide what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LxdErrorKind {
    /// 404: the object (instance, volume, image, alias, operation...) does not exist.
    NotFound,
    /// 409 Conflict, or an operation that failed because the name is taken
    /// (`This "instances" entry already exists`, `Image with same fingerprint already exists`).
    AlreadyExists,
    /// 412: the `If-Match` ETag is stale; someone changed the object since it was read.
    PreconditionFailed,
    /// LXD is busy with another operation on the same object (`Instance is busy running
    /// a "stop" operation`, 503, a locked database), or a lock stayed taken. Retryable.
    Busy,
    /// The instance already is in the state asked for (`The instance is already stopped`).
    AlreadyInState,
    /// LXD refuses because the instance runs (400 `Instance is running`, e.g. a delete).
    InstanceRunning,
    /// An exec's command does not exist in the guest (Incus answers the wait with a bare
    /// 400 `Command not found`).
    CommandNotFound,
    /// Any other error answer from LXD (400, 403, 500...): see [`LxdError::status`].
    Refused,
    /// An asynchronous operation ended in `Failure` (or `Cancelled`) for another reason.
    OperationFailed,
    /// An operation (or an exec) was still running when the caller's deadline passed.
    Timeout {
        /// How long the client waited.
        waited: Duration,
    },
    /// The request never got an answer: socket missing, connection refused or reset.
    Transport,
    /// LXD answered something this client cannot decode (not the documented envelope or type).
    Decode,
    /// The client was asked for something it cannot send (bad URL, a PATCH that would
    /// have to remove a device, an unreadable upload file...). Nothing was sent.
    InvalidRequest,
}

/// Where LXD gave its answer, when it gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// No answer from LXD (transport, decode, client-side and lock failures).
    None,
    /// The HTTP answer's status (LXD's `error_code`).
    Status(u16),
    /// The asynchronous operation with this UUID.
    Operation(String),
}

/// The request a failure is about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    /// HTTP method.
    method: String,
    /// Path with query.
    path: String,
}

/// A failure talking to LXD. Every message names the HTTP method, the path and
/// LXD's own error text. Boxed: it travels in every `Result` of the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.render())]
pub struct LxdError(Box<Failure>);

/// What an [`LxdError`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    /// The request; `None` when nothing was sent.
    request: Option<Request>,
    /// What went wrong.
    kind: LxdErrorKind,
    /// Where LXD said so.
    answer: Answer,
    /// LXD's error text (or the client's, when LXD said nothing).
    message: String,
}

impl LxdError {
    fn new(method: &str, path: &str, kind: LxdErrorKind, answer: Answer, message: &str) -> Self {
        LxdError(Box::new(Failure {
            request: Some(Request {
                method: method.to_owned(),
                path: path.to_owned(),
            }),
            kind,
            answer,
            message: message.to_owned(),
        }))
    }

    /// The client refused to send a request: nothing reached LXD.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        LxdError(Box::new(Failure {
            request: None,
            kind: LxdErrorKind::InvalidRequest,
            answer: Answer::None,
            message: message.into(),
        }))
    }

    /// `method path` got no answer: the transport's error chain, flattened.
    pub(crate) fn transport(method: &str, path: &str, message: &str) -> Self {
        Self::new(method, path, LxdErrorKind::Transport, Answer::None, message)
    }

    /// LXD's answer to `method path` does not decode: what did not fit.
    pub(crate) fn decode(method: &str, path: &str, message: &str) -> Self {
        Self::new(method, path, LxdErrorKind::Decode, Answer::None, message)
    }

    /// `method path` could not go ahead because another writer holds the object.
    pub(crate) fn busy(method: &str, path: &str, message: &str) -> Self {
        Self::new(method, path, LxdErrorKind::Busy, Answer::None, message)
    }

    /// Operation `id`, created by `method path`, was still running after `waited`.
    pub(crate) fn timeout(method: &str, path: &str, id: &str, waited: Duration) -> Self {
        let kind = LxdErrorKind::Timeout { waited };
        Self::new(method, path, kind, Answer::Operation(id.to_owned()), "")
    }

    /// An error answer whose status says what it is (no wording looked at).
    pub(crate) fn refused(method: &str, path: &str, status: u16, message: &str) -> Self {
        let answer = Answer::Status(status);
        Self::new(method, path, LxdErrorKind::Refused, answer, message)
    }

    /// The same failure, blamed on `method path` (an operation's wait timing out is
    /// about the request that started it).
    pub(crate) fn for_request(mut self, method: &str, path: &str) -> Self {
        self.0.request = Some(Request {
            method: method.to_owned(),
            path: path.to_owned(),
        });
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &LxdErrorKind {
        &self.0.kind
    }

    /// LXD's error text (empty for a timeout).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The HTTP status of LXD's error answer, if the failure was one.
    pub fn status(&self) -> Option<u16> {
        match self.0.answer {
            Answer::Status(status) => Some(status),
            _ => None,
        }
    }

    /// The failed request's path without its query, if a request was sent.
    pub fn path_without_query(&self) -> Option<&str> {
        let path = &self.0.request.as_ref()?.path;
        Some(path.split_once('?').map_or(path.as_str(), |(p, _)| p))
    }

    /// True when the failure is LXD saying that instance `name` does not exist (not a
    /// file or volume of it).
    pub fn is_missing_instance(&self, name: &str) -> bool {
        self.is_not_found() && self.path_without_query() == Some(&instance_path(name))
    }

    /// True for a 404 answer: callers treat not-found as data (`has_vm` = false).
    pub fn is_not_found(&self) -> bool {
        self.0.kind == LxdErrorKind::NotFound
    }

    /// True when the object already exists (409 or the in-operation duplicate error).
    pub fn is_already_exists(&self) -> bool {
        self.0.kind == LxdErrorKind::AlreadyExists
    }

    /// True for answers worth retrying after a fresh GET: stale ETag or busy.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(
            self.0.kind,
            LxdErrorKind::PreconditionFailed | LxdErrorKind::Busy
        )
    }

    /// True for failures that may go away when the same call is made again: LXD was
    /// busy with the object, another writer got there first, the daemon did not answer,
    /// or an operation outlived its deadline.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.0.kind,
            LxdErrorKind::Busy
                | LxdErrorKind::PreconditionFailed
                | LxdErrorKind::Transport
                | LxdErrorKind::Timeout { .. }
        )
    }

    /// Classifies a direct error answer (`type: error` or a non-2xx status).
    pub(crate) fn from_status(method: &str, path: &str, status: u16, message: &str) -> Self {
        let kind = match status {
            404 => LxdErrorKind::NotFound,
            409 => LxdErrorKind::AlreadyExists,
            412 => LxdErrorKind::PreconditionFailed,
            // A duplicate profile is refused with 500 `... The profile already exists`.
            _ if says(message, &ALREADY_EXISTS) => LxdErrorKind::AlreadyExists,
            503 => LxdErrorKind::Busy,
            // LXD has no status code of its own for "another operation holds the
            // instance lock": it answers 500 with this text (verified on 5.0.2 with a
            // PATCH during a stop). Same for sqlite contention in the database.
            _ if says(message, &BUSY) => LxdErrorKind::Busy,
            _ if says(message, &ALREADY_IN_STATE) => LxdErrorKind::AlreadyInState,
            400 if says(message, &INSTANCE_RUNNING) => LxdErrorKind::InstanceRunning,
            400 if message == COMMAND_NOT_FOUND => LxdErrorKind::CommandNotFound,
            _ => LxdErrorKind::Refused,
        };
        Self::new(method, path, kind, Answer::Status(status), message)
    }

    /// Classifies the failure of an asynchronous operation from its `err` text.
    pub(crate) fn from_operation(method: &str, path: &str, id: &str, err: &str) -> Self {
        // A duplicate instance name is not refused with 409: POST /1.0/instances is
        // accepted (202) and the operation fails with `... This "instances" entry
        // already exists`. A second upload of the same image fails the same way with
        // `Image with same fingerprint already exists`.
        let kind = if says(err, &ALREADY_EXISTS) {
            LxdErrorKind::AlreadyExists
        } else if says(err, &BUSY) {
            LxdErrorKind::Busy
        } else if says(err, &ALREADY_IN_STATE) {
            LxdErrorKind::AlreadyInState
        } else {
            LxdErrorKind::OperationFailed
        };
        Self::new(method, path, kind, Answer::Operation(id.to_owned()), err)
    }
}

impl Failure {
    /// The message: `LXD <method> <path>: <what>: <LXD's text>`.
    fn render(&self) -> String {
        let Some(request) = &self.request else {
            return format!("LXD client: {}", self.message);
        };
        let what = match (&self.kind, &self.answer) {
            (LxdErrorKind::Timeout { waited }, Answer::Operation(id)) => {
                return format!(
                    "LXD {} {}: operation {id} still running after {waited:?}",
                    request.method, request.path
                );
            }
            (LxdErrorKind::NotFound, _) => "not found".to_owned(),
            (LxdErrorKind::AlreadyExists, _) => "already exists".to_owned(),
            (LxdErrorKind::Busy, _) => "busy".to_owned(),
            (LxdErrorKind::PreconditionFailed, _) => "precondition failed (stale ETag)".to_owned(),
            (LxdErrorKind::Transport, _) => "transport error".to_owned(),
            (LxdErrorKind::Decode, _) => "unexpected answer".to_owned(),
            (_, Answer::Operation(id)) => format!("operation {id} failed"),
            (_, Answer::Status(status)) => format!("HTTP {status}"),
            (_, Answer::None) => "failed".to_owned(),
        };
        format!(
            "LXD {} {}: {what}: {}",
            request.method, request.path, self.message
        )
    }
}

/// LXD's wording for a taken name where no status code says so.
const ALREADY_EXISTS: [&str; 1] = ["already exists"];

/// LXD's wordings for "try again later" where no status code says so. Writes to one
/// instance are serialised by a per-instance operation lock; a write that finds it
/// taken fails with `Failed to create instance update operation: <why>`, where
/// `<why>` is `Instance is busy running a "stop" operation` or, for two concurrent
/// updates, `A matching non-reusable operation has now succeeded` (seen on 5.0.2).
const BUSY: [&str; 5] = [
    "is busy running",
    "failed to create instance update operation",
    "non-reusable operation",
    "database is locked",
    "database is busy",
];

/// A start of a running or a stop of a stopped instance: `The instance is already
/// running` / `The instance is already stopped` (LXD 5.0 and Incus 6.0, inside the
/// operation).
const ALREADY_IN_STATE: [&str; 2] = ["is already running", "is already stopped"];

/// A delete of a running instance: 400 `Instance is running` (LXD 5.0, Incus 6.0).
const INSTANCE_RUNNING: [&str; 1] = ["is running"];

/// Incus' whole answer to the wait of an exec whose command it could not start.
pub(crate) const COMMAND_NOT_FOUND: &str = "Command not found";

/// True when LXD's `message` contains one of `wordings` (ASCII case ignored).
fn says(message: &str, wordings: &[&str]) -> bool {
    let lower = message.to_ascii_lowercase();
    wordings.iter().any(|needle| lower.contains(needle))
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
#[path = "error_tests.rs"]
mod tests;
