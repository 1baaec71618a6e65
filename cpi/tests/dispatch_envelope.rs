//! Dispatcher table tests, JSON in and JSON out with no LXD: broken envelopes (bad bytes,
//! bad JSON, missing keys) and config problems each give one well-formed error response.

#[cfg(test)]
mod common;

use common::{CLOUD_ERROR, CPI_ERROR, Want, call, check, request};
use cpi::config::Config;
use cpi::run::handle;
use serde_json::json;

/// 10 MB of bytes from a small deterministic generator: mostly not UTF-8.
fn garbage(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn broken_envelopes_get_one_well_formed_cpi_error() {
    let ten_mb = 10 * 1024 * 1024;
    let bad = |m: &'static str| Want::Err(CPI_ERROR, m);
    let cases: Vec<(&str, Vec<u8>, Want)> = vec![
        ("empty input", Vec::new(), bad("request is empty")),
        ("whitespace", b"  \n".to_vec(), bad("request is empty")),
        (
            "truncated json",
            br#"{"method":"info","argum"#.to_vec(),
            bad("request is not valid JSON: EOF while parsing"),
        ),
        (
            "invalid utf-8",
            b"{\"method\":\"inf\xff\xfe\",\"arguments\":[]}".to_vec(),
            bad("not valid UTF-8 (first bad byte at offset 14)"),
        ),
        ("10 MB of garbage", garbage(ten_mb), bad("not valid UTF-8")),
        (
            "10 MB of brackets",
            vec![b'['; ten_mb],
            bad("request is not valid JSON: recursion limit exceeded"),
        ),
        (
            "10 MB of text",
            vec![b'x'; ten_mb],
            bad("request is not valid JSON: expected value"),
        ),
        (
            "trailing junk",
            br#"{"method":"info","arguments":[]} x"#.to_vec(),
            bad("request is not valid JSON: trailing characters"),
        ),
        (
            "top-level array",
            br#"[1]"#.to_vec(),
            bad("request must be a JSON object, got an array"),
        ),
        (
            "missing method",
            br#"{"arguments":[]}"#.to_vec(),
            bad("request has no \"method\""),
        ),
        (
            "method number",
            br#"{"method":1,"arguments":[]}"#.to_vec(),
            bad("request key \"method\": expected a non-empty string, got integer 1"),
        ),
        (
            "missing arguments",
            br#"{"method":"info"}"#.to_vec(),
            bad("request has no \"arguments\" array"),
        ),
        (
            "arguments object",
            br#"{"method":"info","arguments":{}}"#.to_vec(),
            bad("request key \"arguments\": expected an array, got an object"),
        ),
        (
            "arguments null",
            br#"{"method":"info","arguments":null}"#.to_vec(),
            bad("request key \"arguments\": expected an array, got null"),
        ),
        (
            "context string",
            br#"{"method":"info","arguments":[],"context":"c"}"#.to_vec(),
            bad("request key \"context\": expected an object"),
        ),
        (
            "api_version string",
            br#"{"method":"info","arguments":[],"api_version":"2"}"#.to_vec(),
            bad("request key \"api_version\": expected a non-negative integer"),
        ),
        (
            "unknown method without arguments",
            br#"{"method":"ping"}"#.to_vec(),
            bad("request has no \"arguments\" array"),
        ),
        (
            "minimal info",
            br#"{"method":"info","arguments":[]}"#.to_vec(),
            Want::Ok(json!({"api_version": 2, "stemcell_formats": ["warden-tar", "general-tar"]})),
        ),
        (
            "unknown top-level key",
            br#"{"method":"info","arguments":[],"x":1,"context":null,"api_version":null}"#.to_vec(),
            Want::Ok(json!({"api_version": 2, "stemcell_formats": ["warden-tar", "general-tar"]})),
        ),
    ];
    for (name, input, want) in &cases {
        check(name, input, want);
    }
}

#[test]
fn config_problems_become_cloud_errors_naming_the_field() {
    let config_err =
        Config::from_json_str(r#"{"agent": {}}"#, "/etc/cpi.json").expect_err("missing mbus");
    let response = handle(&request("info", json!([])), Err(config_err));
    let err = response.error.expect("an error");
    assert_eq!(err.kind, CLOUD_ERROR);
    assert_eq!(
        err.message,
        "CPI config /etc/cpi.json: agent.mbus: required field is missing"
    );

    let cases = [
        (
            "bad override url",
            json!({"lxd": {"url": "http://x"}}),
            Some(
                "CPI config request context: lxd.url: expected unix:///PATH or https://HOST[:PORT]",
            ),
        ),
        (
            "unknown override key",
            json!({"lxd": {"projekt": "p"}}),
            Some("CPI config request context: lxd.projekt: unknown field"),
        ),
        (
            "override not an object",
            json!({"agent": "a"}),
            Some("CPI config request context: agent: expected an object"),
        ),
        (
            "good override",
            json!({"lxd": {"project": "other"}, "agent": {"ntp": ["ntp.example"]}}),
            None,
        ),
        (
            "unrelated context keys",
            json!({"anything": {"else": 1}}),
            None,
        ),
    ];
    for (name, context, want) in cases {
        let req = json!({"method": "has_vm", "arguments": ["vm-1"], "context": context});
        let response = call(name, &serde_json::to_vec(&req).expect("request"));
        match want {
            Some(text) => {
                assert_eq!(response["error"]["type"], CLOUD_ERROR, "case {name}");
                let message = response["error"]["message"].as_str().unwrap_or_default();
                assert!(message.starts_with(text), "case {name}: {message}");
            }
            // A good config reaches LXD: here the missing test socket.
            None => {
                let message = response["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("transport error"),
                    "case {name}: {message}"
                );
            }
        }
    }
}
