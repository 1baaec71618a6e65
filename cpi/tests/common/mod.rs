//! Helpers shared by the dispatcher table tests: run a request through `cpi::run::handle`
//! with a fixed config, check the response envelope, compare with what a case expects.
//! Each test binary uses a subset of them.
#![allow(dead_code)]

use cpi::config::Config;
use cpi::run::handle;
use serde_json::{Value, json};

pub const CPI_ERROR: &str = "Bosh::Clouds::CpiError";
pub const NOT_IMPLEMENTED: &str = "Bosh::Clouds::NotImplemented";
pub const CLOUD_ERROR: &str = "Bosh::Clouds::CloudError";
pub const VM_CREATION_FAILED: &str = "Bosh::Clouds::VMCreationFailed";
/// A socket no daemon listens on: LXD-backed methods fail there with a transport error.
pub const NO_LXD_SOCKET: &str = "/nonexistent/bosh-lxd-test/unix.socket";

/// What a case expects back.
pub enum Want {
    /// Success with exactly this result.
    Ok(Value),
    /// An error of this type whose message contains this text.
    Err(&'static str, &'static str),
}

pub fn config() -> Config {
    Config::from_json_str(
        &format!(
            r#"{{"lxd": {{"url": "unix://{NO_LXD_SOCKET}"}},
                "agent": {{"mbus": "https://mbus:pw@0.0.0.0:6868"}}}}"#
        ),
        "test",
    )
    .unwrap_or_else(|e| panic!("test config: {e}"))
}

/// Runs one request and checks the envelope shape the director insists on.
pub fn call(name: &str, input: &[u8]) -> Value {
    let bytes = handle(input, Ok(config())).to_json_bytes();
    let response: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("case {name}: {e}"));
    let obj = response
        .as_object()
        .unwrap_or_else(|| panic!("case {name}: not an object"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["error", "log", "result"], "case {name}: keys");
    assert_eq!(obj["log"], "", "case {name}: log");
    if let Some(err) = obj["error"].as_object() {
        assert!(
            err["type"].is_string() && err["message"].is_string(),
            "case {name}: {err:?}"
        );
        assert!(err["ok_to_retry"].is_boolean(), "case {name}: ok_to_retry");
        assert_eq!(obj["result"], Value::Null, "case {name}: result with error");
    }
    response
}

pub fn check(name: &str, input: &[u8], want: &Want) {
    let response = call(name, input);
    match want {
        Want::Ok(result) => {
            assert_eq!(
                response["error"],
                Value::Null,
                "case {name}: unexpected error"
            );
            assert_eq!(&response["result"], result, "case {name}: result");
        }
        Want::Err(kind, text) => {
            let err = &response["error"];
            assert_eq!(err["type"], *kind, "case {name}: type; error was {err}");
            let message = err["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(text),
                "case {name}: message {message:?} lacks {text:?}"
            );
        }
    }
}

pub fn request(method: &str, arguments: Value) -> Vec<u8> {
    let req = json!({"method": method, "arguments": arguments,
        "context": {"director_uuid": "d-1", "request_id": "cpi-123456"}, "api_version": 2});
    serde_json::to_vec(&req).unwrap_or_else(|e| panic!("request: {e}"))
}

pub fn create_vm_args() -> Value {
    json!(["agent-1", "stemcell-1", {"instance_type": "c2-m4"},
        {"default": {"type": "manual", "ip": "10.0.0.10", "netmask": "255.255.255.0",
                     "gateway": "10.0.0.1", "dns": ["10.0.0.2"], "default": ["dns", "gateway"],
                     "cloud_properties": {}}},
        ["disk-1"], {"bosh": {"group": "g"}}])
}

/// `args` with argument `index` replaced, or appended when `index` is one past the end.
pub fn with_arg(mut args: Value, index: usize, value: Value) -> Value {
    let list = args
        .as_array_mut()
        .unwrap_or_else(|| panic!("arguments must be an array"));
    if index == list.len() {
        list.push(value);
    } else {
        list[index] = value;
    }
    args
}
