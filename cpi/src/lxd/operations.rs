//! LXD background operations (`/1.0/operations/<uuid>`) and waiting for them with a deadline.
//!
//! `GET /1.0/operations/<id>/wait?timeout=N` blocks on the server for at most N
//! seconds and then answers 200 with the operation as it is, possibly still
//! `Running` (verified on LXD 5.0.2). So a long wait is a loop of bounded waits
//! until the operation ends or the caller's deadline passes. Finished operations
//! are kept by LXD for a few seconds only, so the wait starts right after the
//! request that created the operation. The operation object itself ([`Operation`]) is in
//! `envelope.rs`: an async answer carries it.

use std::time::{Duration, Instant};

use hyper::Method;
use serde::Serialize;
use serde_json::Value;

use super::client::{Client, Started};
use super::envelope::Operation;
use super::error::{LxdError, LxdErrorKind};
use super::paths::encode_component;

/// The longest single server-side wait; the loop re-asks after it.
const MAX_WAIT_SLICE: Duration = Duration::from_secs(30);

/// The `timeout` to ask the server for, or `None` when the deadline has passed.
fn wait_slice(deadline: Instant, now: Instant) -> Option<u64> {
    let left = deadline.checked_duration_since(now)?;
    if left.is_zero() {
        return None;
    }
    // Whole seconds, rounded up so that a sub-second remainder still waits.
    let left = left.min(MAX_WAIT_SLICE);
    Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

impl Client {
    /// Waits until operation `id` ends or `deadline` passes, and returns it as it
    /// ended: a `Failure` is returned as it is, not turned into an error.
    pub async fn wait_operation(&self, id: &str, deadline: Instant) -> Result<Operation, LxdError> {
        let started = Instant::now();
        loop {
            let Some(secs) = wait_slice(deadline, Instant::now()) else {
                return Err(LxdError::timeout(
                    "GET",
                    &format!("/1.0/operations/{id}/wait"),
                    id,
                    started.elapsed(),
                ));
            };
            let path = format!(
                "/1.0/operations/{}/wait?timeout={secs}",
                encode_component(id)
            );
            let op: Operation = self.get(&path).await?;
            if op.is_done() {
                return Ok(op);
            }
            tracing::debug!(operation = id, status = %op.status, "operation still running");
        }
    }

    /// Waits for `op` (created by `method path`) and returns its `metadata`;
    /// a failed or cancelled operation becomes an error naming that request.
    pub(crate) async fn finish(
        &self,
        method: &str,
        path: &str,
        op: Operation,
        deadline: Instant,
    ) -> Result<Value, LxdError> {
        let done = self
            .wait_operation(&op.id, deadline)
            .await
            .map_err(|e| match e.kind() {
                LxdErrorKind::Timeout { .. } => e.for_request(method, path),
                _ => e,
            })?;
        if done.succeeded() {
            return Ok(done.metadata);
        }
        let err = if done.err.is_empty() {
            done.status.clone()
        } else {
            done.err.clone()
        };
        Err(LxdError::from_operation(method, path, &done.id, &err))
    }

    /// Sends a request that may answer sync or async, waiting up to `deadline`.
    pub(crate) async fn write_until<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        deadline: Instant,
    ) -> Result<Value, LxdError> {
        match self.start(method.clone(), path, body, None).await? {
            Started::Done(metadata) => Ok(metadata),
            Started::Operation(op) => self.finish(method.as_str(), path, op, deadline).await,
        }
    }

    /// Asks LXD to cancel an operation (only those with `may_cancel`).
    pub async fn cancel_operation(&self, id: &str) -> Result<(), LxdError> {
        let path = format!("/1.0/operations/{}", encode_component(id));
        self.write::<()>(Method::DELETE, &path, None, None)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_slices() {
        let now = Instant::now();
        let cases = [
            ("past", now.checked_sub(Duration::from_secs(1)), None),
            ("now", Some(now), None),
            (
                "sub-second rounds up",
                Some(now + Duration::from_millis(200)),
                Some(1),
            ),
            ("2.5 s", Some(now + Duration::from_millis(2500)), Some(3)),
            ("capped", Some(now + Duration::from_secs(600)), Some(30)),
        ];
        for (name, deadline, want) in cases {
            let Some(deadline) = deadline else { continue };
            assert_eq!(wait_slice(deadline, now), want, "case {name}");
        }
    }

    #[test]
    fn operation_states() {
        let cases = [
            (
                "running",
                r#"{"id":"a","status":"Running","status_code":103}"#,
                false,
                false,
            ),
            (
                "success",
                r#"{"id":"a","status":"Success","status_code":200}"#,
                true,
                true,
            ),
            (
                "failure",
                r#"{"id":"a","status":"Failure","status_code":400,"err":"x"}"#,
                true,
                false,
            ),
            (
                "cancelled",
                r#"{"id":"a","status":"Cancelled","status_code":401}"#,
                true,
                false,
            ),
        ];
        for (name, json, done, ok) in cases {
            let op: Operation = match serde_json::from_str(json) {
                Ok(op) => op,
                Err(e) => panic!("case {name}: {e}"),
            };
            assert_eq!((op.is_done(), op.succeeded()), (done, ok), "case {name}");
        }
    }
}
