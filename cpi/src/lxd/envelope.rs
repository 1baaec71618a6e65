//! LXD's response envelope and how error answers map to [`LxdError`].
//!
//! Every answer of the LXD REST API (except raw file and log downloads) is an
//! envelope `{type: sync|async|error, status_code, error_code, error, metadata,
//! operation}`. `sync` carries the result in `metadata`; `async` carries an
//! operation in `metadata`; `error` carries `error_code` and `error`.

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxd::LxdErrorKind;

    #[test]
    fn envelope_decoding() {
        struct Case {
            name: &'static str,
            status: u16,
            body: &'static str,
            want: Result<&'static str, LxdErrorKind>,
        }
        let cases = [
            Case {
                name: "sync",
                status: 200,
                body: r#"{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":{"a":1}}"#,
                want: Ok("sync"),
            },
            Case {
                name: "async",
                status: 202,
                body: r#"{"type":"async","status":"Operation created","status_code":100,"operation":"/1.0/operations/x","metadata":{"id":"x"}}"#,
                want: Ok("async"),
            },
            Case {
                name: "error 404",
                status: 404,
                body: r#"{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"Instance not found","metadata":null}"#,
                want: Err(LxdErrorKind::NotFound),
            },
            Case {
                name: "error 412",
                status: 412,
                body: r#"{"type":"error","error_code":412,"error":"ETag doesn't match: a vs b"}"#,
                want: Err(LxdErrorKind::PreconditionFailed),
            },
            Case {
                name: "error 409",
                status: 409,
                body: r#"{"type":"error","error_code":409,"error":"Volume by that name already exists"}"#,
                want: Err(LxdErrorKind::AlreadyExists),
            },
            Case {
                name: "error busy",
                status: 500,
                body: r#"{"type":"error","error_code":500,"error":"Failed to create instance update operation: Instance is busy running a \"stop\" operation"}"#,
                want: Err(LxdErrorKind::Busy),
            },
            Case {
                name: "error without error_code uses HTTP status",
                status: 404,
                body: r#"{"type":"error","error":"not found"}"#,
                want: Err(LxdErrorKind::NotFound),
            },
            Case {
                name: "non-json error",
                status: 502,
                body: "Bad Gateway",
                want: Err(LxdErrorKind::Refused),
            },
            Case {
                name: "non-json success",
                status: 200,
                body: "hello",
                want: Err(LxdErrorKind::Decode),
            },
            Case {
                name: "unknown type",
                status: 200,
                body: r#"{"type":"weird"}"#,
                want: Err(LxdErrorKind::Decode),
            },
        ];
        for c in cases {
            let got = decode_envelope("GET", "/1.0/x?project=p", c.status, c.body.as_bytes());
            match (got, c.want) {
                (Ok(env), Ok(kind)) => assert_eq!(env.kind, kind, "case {}", c.name),
                (Err(e), Err(kind)) => {
                    assert_eq!(e.kind(), &kind, "case {}", c.name);
                    assert!(
                        e.to_string().contains("GET /1.0/x?project=p"),
                        "case {}: {e}",
                        c.name
                    );
                }
                (got, want) => panic!("case {}: got {got:?}, want {want:?}", c.name),
            }
        }
    }
}
