//! The request and response envelopes (BOSH's CPI RPC interface,
//! bosh.io/docs/cpi-api-rpc/): the raw `{method, arguments, context, api_version}` read
//! from stdin, the request context, and the `{result, error, log}` answer that always
//! carries all three keys.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::CpiError;
use crate::json::describe;

/// The request as it arrived, before the arguments are decoded for a method.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The CPI method name, e.g. `create_vm`.
    pub method: String,
    /// The positional arguments, still raw.
    pub arguments: Vec<Value>,
    /// The request context.
    pub context: RequestContext,
    /// The contract version the caller speaks; 1 when absent.
    pub api_version: u32,
}

impl Envelope {
    /// Parses the bytes read from stdin. Every failure (empty input, invalid UTF-8, bad
    /// JSON, missing or mistyped keys) is an error of the kind
    /// [`CpiErrorKind::InvalidRequest`](crate::rpc::CpiErrorKind::InvalidRequest); the
    /// input itself is never echoed.
    pub fn parse(input: &[u8]) -> Result<Self, CpiError> {
        let text = std::str::from_utf8(input).map_err(|e| {
            CpiError::invalid_request(format!(
                "request is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        if text.trim().is_empty() {
            return Err(CpiError::invalid_request(
                "request is empty: expected a JSON object on stdin",
            ));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| CpiError::invalid_request(format!("request is not valid JSON: {e}")))?;
        let Value::Object(mut top) = value else {
            return Err(CpiError::invalid_request(format!(
                "request must be a JSON object, got {}",
                describe(&value)
            )));
        };
        let method = match top.remove("method") {
            Some(Value::String(m)) if !m.is_empty() => m,
            Some(other) => return Err(bad_key("method", "a non-empty string", &other)),
            None => return Err(CpiError::invalid_request("request has no \"method\"")),
        };
        let arguments = match top.remove("arguments") {
            Some(Value::Array(args)) => args,
            Some(other) => return Err(bad_key("arguments", "an array", &other)),
            None => {
                return Err(CpiError::invalid_request(
                    "request has no \"arguments\" array",
                ));
            }
        };
        let context = match top.remove("context") {
            None | Some(Value::Null) => RequestContext::default(),
            Some(Value::Object(raw)) => RequestContext::from_raw(raw),
            Some(other) => return Err(bad_key("context", "an object", &other)),
        };
        let api_version = match top.remove("api_version") {
            None | Some(Value::Null) => 1,
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad_key("api_version", "a non-negative integer", &v))?,
        };
        for key in top.keys() {
            tracing::debug!(key = %key, "ignoring unknown top-level request key");
        }
        Ok(Self {
            method,
            arguments,
            context,
            api_version,
        })
    }
}

fn bad_key(key: &str, expected: &str, got: &Value) -> CpiError {
    CpiError::invalid_request(format!(
        "request key \"{key}\": expected {expected}, got {}",
        describe(got)
    ))
}

/// The request's `context`: the well-known keys decoded, and every key kept raw, because a
/// director cpi-config merges its properties (e.g. `lxd`, `agent` overrides) into it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    /// `director_uuid`, present in every call from the director and bosh-cli.
    pub director_uuid: Option<String>,
    /// `request_id` (`cpi-NNNNNN`), sent by the director only.
    pub request_id: Option<String>,
    /// `vm.stemcell.api_version`, when the stemcell's agent API version is known.
    pub stemcell_api_version: Option<u32>,
    /// The whole context object as received.
    pub raw: Map<String, Value>,
}

impl RequestContext {
    /// Decodes the well-known keys from a context object. A well-known key of the wrong type
    /// is logged and treated as absent: the context is metadata, not worth failing a call for.
    pub fn from_raw(raw: Map<String, Value>) -> Self {
        let director_uuid = string_key(&raw, "director_uuid");
        let request_id = string_key(&raw, "request_id");
        let stemcell_version = raw.get("vm").and_then(|vm| vm.get("stemcell"));
        let stemcell_api_version = match stemcell_version.and_then(|s| s.get("api_version")) {
            None | Some(Value::Null) => None,
            Some(v) => {
                let n = v.as_u64().and_then(|n| u32::try_from(n).ok());
                if n.is_none() {
                    tracing::warn!(got = %describe(v), "context vm.stemcell.api_version is not an integer; ignoring it");
                }
                n
            }
        };
        Self {
            director_uuid,
            request_id,
            stemcell_api_version,
            raw,
        }
    }
}

fn string_key(raw: &Map<String, Value>, key: &str) -> Option<String> {
    match raw.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            tracing::warn!(key, got = %describe(other), "context key is not a string; ignoring it");
            None
        }
    }
}

/// The error object of a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The director's error class, e.g. `Bosh::Clouds::CloudError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message.
    pub message: String,
    /// Whether the director may retry (read for retriable classes only).
    pub ok_to_retry: bool,
}

/// The one JSON document written to stdout: `result`, `error` and `log`, always all three.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// The method's return value; null when `error` is set.
    pub result: Value,
    /// Null on success.
    pub error: Option<ErrorBody>,
    /// Copied by the director into the task's CPI log; logs go to stderr, so it is empty.
    pub log: String,
}

impl Response {
    /// A successful answer.
    pub fn ok(result: Value) -> Self {
        Self {
            result,
            error: None,
            log: String::new(),
        }
    }

    /// A failed answer; the type string and retry flag come from [`CpiError::bosh_type`].
    pub fn error(err: &CpiError) -> Self {
        let error = ErrorBody {
            kind: err.bosh_type().to_owned(),
            message: err.to_string(),
            ok_to_retry: err.ok_to_retry(),
        };
        Self {
            result: Value::Null,
            error: Some(error),
            log: String::new(),
        }
    }

    /// The answer for a call's outcome.
    pub fn from_result(result: Result<Value, CpiError>) -> Self {
        match result {
            Ok(value) => Self::ok(value),
            Err(err) => Self::error(&err),
        }
    }

    /// The JSON text to write, with a trailing newline. Never fails: should serialization
    /// ever fail, a fixed `CloudError` document is returned instead.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        match serde_json::to_vec(self) {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                bytes
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot serialize the response");
                FALLBACK_RESPONSE.as_bytes().to_vec()
            }
        }
    }
}

/// Written when the real response cannot be serialized; a valid envelope on its own.
pub const FALLBACK_RESPONSE: &str = "{\"result\":null,\"error\":{\"type\":\"Bosh::Clouds::CloudError\",\
\"message\":\"the CPI could not serialize its response; see its stderr log\",\"ok_to_retry\":false},\
\"log\":\"\"}\n";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn envelope_defaults_and_context_keys() {
        let env = Envelope::parse(br#"{"method":"info","arguments":[]}"#).unwrap();
        assert_eq!((env.api_version, env.context.raw.len()), (1, 0));
        let env = Envelope::parse(
            br#"{"method":"has_vm","arguments":["vm-1"],"api_version":2,
                 "context":{"director_uuid":"d","request_id":"cpi-1","lxd":{"project":"p"},
                            "vm":{"stemcell":{"api_version":3}}}}"#,
        )
        .unwrap();
        assert_eq!(env.api_version, 2);
        assert_eq!(env.context.director_uuid.as_deref(), Some("d"));
        assert_eq!(env.context.request_id.as_deref(), Some("cpi-1"));
        assert_eq!(env.context.stemcell_api_version, Some(3));
        assert_eq!(env.context.raw["lxd"], json!({"project": "p"}));
    }

    #[test]
    fn responses_always_have_three_keys() {
        let ok = serde_json::to_value(Response::ok(json!(true))).unwrap();
        assert_eq!(ok, json!({"result": true, "error": null, "log": ""}));
        let err = serde_json::to_value(Response::error(&CpiError::vm_creation_failed("x", true)));
        let want = json!({"result": null, "log": "",
            "error": {"type": "Bosh::Clouds::VMCreationFailed", "message": "x", "ok_to_retry": true}});
        assert_eq!(err.unwrap(), want);
        let fallback: Value = serde_json::from_str(FALLBACK_RESPONSE).unwrap();
        assert_eq!(fallback["error"]["type"], "Bosh::Clouds::CloudError");
        assert!(Response::ok(Value::Null).to_json_bytes().ends_with(b"}\n"));
    }

    /// What the director reads on stdout for every error kind: its class, its message and
    /// its retry flag (each kind's class and flag are pinned in `error.rs`).
    #[test]
    fn every_error_kind_reaches_the_director_whole() {
        let errors = [
            CpiError::invalid_request("m"),
            CpiError::not_implemented("m"),
            CpiError::not_supported("m"),
            CpiError::cloud("m"),
            CpiError::cloud_retriable("m"),
            CpiError::vm_not_found("m"),
            CpiError::vm_creation_failed("m", true),
            CpiError::vm_creation_failed("m", false),
            CpiError::disk_not_found("m"),
            CpiError::disk_not_attached("m"),
            CpiError::no_disk_space("m", true),
        ];
        for err in errors {
            let bytes = Response::error(&err).to_json_bytes();
            let doc: Value = serde_json::from_slice(&bytes).expect("valid JSON");
            let want = json!({"result": null, "log": "", "error": {
                "type": err.bosh_type(), "message": "m", "ok_to_retry": err.ok_to_retry()}});
            assert_eq!(doc, want, "case {err:?}");
        }
    }
}
