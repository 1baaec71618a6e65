//! LXD's response envelope, the operation an async answer carries ([`Operation`]), and
//! how error answers map to [`LxdError`].
//!
//! Every answer of the LXD REST API (except raw file and log downloads) is an
//! envelope `{type: sync|async|error, status_code, error_code, error, metadata,
//! operation}`. `sync` carries the result in `metadata`; `async` carries an
//! operation in `metadata`; `error` carries `error_code` and `error`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::LxdError;

/// A decoded LXD response envelope.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Envelope {
    /// `sync`, `async` or `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Status code of a sync/async answer (200, 100).
    #[serde(default)]
    pub status_code: u16,
    /// HTTP-like code of an error answer (404, 409, 412, 500...).
    #[serde(default)]
    pub error_code: u16,
    /// LXD's error text.
    #[serde(default)]
    pub error: String,
    /// The result (sync) or the operation (async).
    #[serde(default)]
    pub metadata: Value,
    /// `/1.0/operations/<uuid>` for async answers.
    #[serde(default)]
    pub operation: String,
}

/// Decodes an envelope and maps error answers to [`LxdError`]. Pure, for unit tests.
pub(crate) fn decode_envelope(
    method: &str,
    path: &str,
    status: u16,
    body: &[u8],
) -> Result<Envelope, LxdError> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if status >= 400 => {
            // Not LXD's JSON (a proxy in front, a crash): keep the status and some text.
            let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
            return Err(LxdError::from_status(method, path, status, text.trim()));
        }
        Err(e) => {
            return Err(LxdError::decode(
                method,
                path,
                &format!("HTTP {status}, body is not an LXD envelope: {e}"),
            ));
        }
    };
    match envelope.kind.as_str() {
        "error" => {
            let code = if envelope.error_code != 0 {
                envelope.error_code
            } else {
                status
            };
            Err(LxdError::from_status(method, path, code, &envelope.error))
        }
        _ if status >= 400 => Err(LxdError::from_status(method, path, status, &envelope.error)),
        "sync" | "async" => Ok(envelope),
        other => Err(LxdError::decode(
            method,
            path,
            &format!("unknown envelope type {other:?}"),
        )),
    }
}

/// LXD's `api.Operation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Operation UUID.
    pub id: String,
    /// `task`, `websocket` or `token`.
    #[serde(default)]
    pub class: String,
    /// Human description (`Creating instance`).
    #[serde(default)]
    pub description: String,
    /// `Pending`, `Running`, `Success`, `Failure`, `Cancelled`...
    #[serde(default)]
    pub status: String,
    /// 105 pending, 103 running, 200 success, 400 failure, 401 cancelled.
    #[serde(default)]
    pub status_code: u16,
    /// Objects the operation touches (`{"instances": ["/1.0/instances/a"]}`).
    #[serde(default)]
    pub resources: Option<BTreeMap<String, Vec<String>>>,
    /// Operation-specific results (`fingerprint`, exec `output` and `return`...).
    #[serde(default)]
    pub metadata: Value,
    /// Whether `DELETE /1.0/operations/<id>` can cancel it.
    #[serde(default)]
    pub may_cancel: bool,
    /// Error text of a failed operation.
    #[serde(default)]
    pub err: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Operation {
    /// True once the operation has ended (success, failure or cancellation).
    pub fn is_done(&self) -> bool {
        self.status_code >= 200
            || matches!(self.status.as_str(), "Success" | "Failure" | "Cancelled")
    }

    /// True when it ended successfully.
    pub fn succeeded(&self) -> bool {
        self.status_code == 200 || self.status == "Success"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxd::LxdErrorKind;

    #[test]
    fn envelope_decoding() {
        let cases: [(&str, u16, &str, Result<&str, LxdErrorKind>); 10] = [
            (
                "sync",
                200,
                r#"{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":{"a":1}}"#,
                Ok("sync"),
            ),
            (
                "async",
                202,
                r#"{"type":"async","status":"Operation created","status_code":100,"operation":"/1.0/operations/x","metadata":{"id":"x"}}"#,
                Ok("async"),
            ),
            (
                "error 404",
                404,
                r#"{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"Instance not found","metadata":null}"#,
                Err(LxdErrorKind::NotFound),
            ),
            (
                "error 412",
                412,
                r#"{"type":"error","error_code":412,"error":"ETag doesn't match: a vs b"}"#,
                Err(LxdErrorKind::PreconditionFailed),
            ),
            (
                "error 409",
                409,
                r#"{"type":"error","error_code":409,"error":"Volume by that name already exists"}"#,
                Err(LxdErrorKind::AlreadyExists),
            ),
            (
                "error busy",
                500,
                r#"{"type":"error","error_code":500,"error":"Failed to create instance update operation: Instance is busy running a \"stop\" operation"}"#,
                Err(LxdErrorKind::Busy),
            ),
            (
                "error without error_code uses HTTP status",
                404,
                r#"{"type":"error","error":"not found"}"#,
                Err(LxdErrorKind::NotFound),
            ),
            (
                "non-json error",
                502,
                "Bad Gateway",
                Err(LxdErrorKind::Refused),
            ),
            ("non-json success", 200, "hello", Err(LxdErrorKind::Decode)),
            (
                "unknown type",
                200,
                r#"{"type":"weird"}"#,
                Err(LxdErrorKind::Decode),
            ),
        ];
        for (name, status, body, want) in cases {
            let got = decode_envelope("GET", "/1.0/x?project=p", status, body.as_bytes());
            match (got, want) {
                (Ok(env), Ok(kind)) => assert_eq!(env.kind, kind, "case {name}"),
                (Err(e), Err(kind)) => {
                    assert_eq!(e.kind(), &kind, "case {name}");
                    let shown = e.to_string();
                    assert!(
                        shown.contains("GET /1.0/x?project=p"),
                        "case {name}: {shown}"
                    );
                }
                (got, want) => panic!("case {name}: got {got:?}, want {want:?}"),
            }
        }
    }
}
