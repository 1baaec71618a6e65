//! The CPI config file: defaults, the exact shape from `ARCHITECTURE.md` §3, errors that name
//! the field, validation, context overrides and secret redaction.

use std::io::Write as _;

use cpi::config::{Config, ConfigError, LogLevel, LxdEndpoint};
use serde_json::{Map, Value, json};

const MBUS: &str = "https://mbus:secret@0.0.0.0:6868";
const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn parse(value: &Value) -> Result<Config, ConfigError> {
    Config::from_json_str(&value.to_string(), "cpi.json")
}

#[test]
fn minimal_config_gets_every_default() {
    let config = parse(&json!({"agent": {"mbus": MBUS}})).expect("minimal config");
    assert_eq!(config.log_level, LogLevel::Info);
    let lxd = &config.lxd;
    assert_eq!(lxd.url, "unix:///var/lib/lxd/unix.socket");
    assert_eq!(
        lxd.endpoint(),
        Ok(LxdEndpoint::Unix("/var/lib/lxd/unix.socket".into()))
    );
    assert_eq!(
        (lxd.client_cert.as_deref(), lxd.client_key.as_deref()),
        (None, None)
    );
    assert_eq!(
        (lxd.server_cert.as_deref(), lxd.ca_cert.as_deref()),
        (None, None)
    );
    assert!(!lxd.insecure_skip_verify);
    assert_eq!(
        (
            lxd.project.as_str(),
            lxd.profile.as_str(),
            lxd.network.as_str(),
            lxd.storage_pool.as_str()
        ),
        ("bosh", "default", "boshbr0", "default")
    );
    assert_eq!(lxd.target, None);
    assert_eq!(config.agent.mbus, MBUS);
    assert!(config.agent.ntp.is_empty());
    assert!(config.agent.blobstore.is_none());
    assert!(config.warnings().is_empty());
}

#[test]
fn the_design_example_parses_as_written() {
    let example = json!({"log_level": "info",
        "lxd": {"url": "unix:///var/lib/lxd/unix.socket",
                "client_cert": null, "client_key": null, "server_cert": null, "ca_cert": null,
                "project": "bosh", "profile": "default", "network": "boshbr0",
                "storage_pool": "default", "target": null},
        "agent": {"mbus": MBUS, "ntp": [],
                  "blobstore": {"provider": "local",
                                "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"}}}});
    let config = parse(&example).expect("design example");
    let blobstore = config.agent.blobstore.expect("blobstore");
    assert_eq!(blobstore.provider, "local");
    assert_eq!(
        blobstore.options["blobstore_path"],
        "/var/vcap/micro_bosh/data/cache"
    );
}

#[test]
fn https_needs_a_client_certificate_and_warns_when_unverified() {
    let lxd = json!({"url": "https://lxd.example:8443", "client_cert": PEM, "client_key": PEM,
                     "ca_cert": PEM, "insecure_skip_verify": true, "target": "node1"});
    let config = parse(&json!({"lxd": lxd, "agent": {"mbus": MBUS}})).expect("https config");
    assert_eq!(
        config.lxd.endpoint(),
        Ok(LxdEndpoint::Https("lxd.example:8443".into()))
    );
    assert_eq!(config.lxd.target.as_deref(), Some("node1"));
    assert_eq!(
        config.warnings(),
        ["lxd.insecure_skip_verify is set: the LXD server is not verified"]
    );

    let unix = json!({"lxd": {"client_cert": PEM, "client_key": ""}, "agent": {"mbus": MBUS}});
    let config = parse(&unix).expect("unix with a PEM");
    assert_eq!(config.lxd.client_key, None, "an empty PEM counts as unset");
    assert_eq!(
        config.warnings(),
        ["lxd.client_cert is ignored: lxd.url is a unix socket"]
    );
}

#[test]
fn every_error_names_its_field() {
    let agent = json!({"mbus": MBUS});
    let cases = [
        (
            "unknown top-level key",
            json!({"agent": agent, "logging": "x"}),
            "logging",
            "unknown field",
        ),
        (
            "unknown lxd key",
            json!({"agent": agent, "lxd": {"socket": "/x"}}),
            "lxd.socket",
            "unknown field; expected one of url,",
        ),
        (
            "unknown agent key",
            json!({"agent": {"mbus": MBUS, "nats": "x"}}),
            "agent.nats",
            "unknown field",
        ),
        (
            "missing agent",
            json!({}),
            "agent.mbus",
            "required field is missing",
        ),
        (
            "missing mbus",
            json!({"agent": {"ntp": []}}),
            "agent.mbus",
            "required field is missing",
        ),
        (
            "empty mbus",
            json!({"agent": {"mbus": ""}}),
            "agent.mbus",
            "expected a non-empty string",
        ),
        (
            "mbus number",
            json!({"agent": {"mbus": 1}}),
            "agent.mbus",
            "expected a non-empty string, got integer 1",
        ),
        (
            "ntp string",
            json!({"agent": {"mbus": MBUS, "ntp": "pool"}}),
            "agent.ntp",
            "expected an array of strings",
        ),
        (
            "blobstore provider",
            json!({"agent": {"mbus": MBUS, "blobstore": {"options": {}}}}),
            "agent.blobstore.provider",
            "required field is missing",
        ),
        (
            "blobstore key",
            json!({"agent": {"mbus": MBUS, "blobstore": {"provider": "dav", "opts": {}}}}),
            "agent.blobstore.opts",
            "unknown field",
        ),
        (
            "agent not object",
            json!({"agent": []}),
            "agent",
            "expected an object, got an array",
        ),
        (
            "log level",
            json!({"agent": agent, "log_level": "verbose"}),
            "log_level",
            "expected error, warn, info, debug or trace",
        ),
        (
            "url type",
            json!({"agent": agent, "lxd": {"url": 8443}}),
            "lxd.url",
            "expected a string, got integer 8443",
        ),
        (
            "http url",
            json!({"agent": agent, "lxd": {"url": "http://lxd:8443"}}),
            "lxd.url",
            "expected unix:///PATH or https://HOST[:PORT], got \"http://lxd:8443\" \
             (LXD's network API is HTTPS only: did you mean https://lxd:8443?)",
        ),
        (
            "other scheme",
            json!({"agent": agent, "lxd": {"url": "tcp://lxd:8443"}}),
            "lxd.url",
            "expected unix:///PATH or https://HOST[:PORT], got \"tcp://lxd:8443\"",
        ),
        (
            "unix without path",
            json!({"agent": agent, "lxd": {"url": "unix://"}}),
            "lxd.url",
            "expected unix:///PATH",
        ),
        (
            "https with path",
            json!({"agent": agent, "lxd": {"url": "https://h/1.0"}}),
            "lxd.url",
            "expected unix:///PATH",
        ),
        (
            "https without cert",
            json!({"agent": agent, "lxd": {"url": "https://h:8443", "client_key": PEM}}),
            "lxd.client_cert",
            "required when lxd.url is https://",
        ),
        (
            "https without key",
            json!({"agent": agent, "lxd": {"url": "https://h:8443", "client_cert": PEM}}),
            "lxd.client_key",
            "required when lxd.url is https://",
        ),
        (
            "https not pem",
            json!({"agent": agent, "lxd": {"url": "https://h", "client_cert": PEM, "client_key": "/etc/key.pem"}}),
            "lxd.client_key",
            "expected PEM text",
        ),
        (
            "insecure not bool",
            json!({"agent": agent, "lxd": {"insecure_skip_verify": "yes"}}),
            "lxd.insecure_skip_verify",
            "expected a boolean",
        ),
        (
            "empty project",
            json!({"agent": agent, "lxd": {"project": ""}}),
            "lxd.project",
            "must not be empty",
        ),
        (
            "empty pool",
            json!({"agent": agent, "lxd": {"storage_pool": " "}}),
            "lxd.storage_pool",
            "must not be empty",
        ),
        (
            "network type",
            json!({"agent": agent, "lxd": {"network": ["a"]}}),
            "lxd.network",
            "expected a string, got an array",
        ),
        (
            "top level array",
            json!([]),
            "(top level)",
            "expected an object",
        ),
    ];
    for (name, value, field, text) in cases {
        let err = parse(&value).expect_err(name);
        assert_eq!(err.field(), Some(field), "case {name}: {err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("CPI config cpi.json: {field}: ")),
            "case {name}: {message}"
        );
        assert!(message.contains(text), "case {name}: {message}");
    }
}

#[test]
fn load_names_the_file_in_every_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cpi.json");
    let missing = Config::load(&path).expect_err("missing file");
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    assert!(
        missing.to_string().contains(&path.display().to_string()),
        "{missing}"
    );

    let mut file = std::fs::File::create(&path).expect("create");
    file.write_all(br#"{"agent": {"mbus": "#).expect("write");
    let syntax = Config::load(&path).expect_err("truncated file");
    assert!(matches!(syntax, ConfigError::Syntax { .. }), "{syntax}");
    assert!(
        syntax
            .to_string()
            .contains(&format!("{} is not valid JSON", path.display())),
        "{syntax}"
    );

    std::fs::write(
        &path,
        json!({"agent": {"mbus": MBUS}, "lxd": {"poool": "x"}}).to_string(),
    )
    .expect("write");
    let unknown = Config::load(&path).expect_err("unknown key");
    assert_eq!(
        unknown.to_string(),
        format!(
            "CPI config {}: lxd.poool: unknown field; expected one of url, client_cert, client_key, \
         server_cert, ca_cert, insecure_skip_verify, project, profile, network, storage_pool, target",
            path.display()
        )
    );
    std::fs::write(&path, json!({"agent": {"mbus": MBUS}}).to_string()).expect("write");
    assert!(Config::load(&path).is_ok());
}

fn context(value: Value) -> Map<String, Value> {
    value
        .as_object()
        .cloned()
        .unwrap_or_else(|| panic!("a context must be an object"))
}

#[test]
fn context_overrides_apply_key_by_key_and_are_validated() {
    let base = parse(&json!({"lxd": {"project": "p1", "network": "br1"},
                             "agent": {"mbus": MBUS, "ntp": ["a"]}}))
    .expect("base");
    assert_eq!(
        base.with_context_overrides(&context(json!({"director_uuid": "d"})))
            .expect("no-op"),
        base
    );

    let merged = base
        .with_context_overrides(&context(json!({"lxd": {"project": "p2", "target": "n2"},
                                                 "agent": {"mbus": "nats://n:4222"}})))
        .expect("override");
    assert_eq!(
        (merged.lxd.project.as_str(), merged.lxd.network.as_str()),
        ("p2", "br1")
    );
    assert_eq!(merged.lxd.target.as_deref(), Some("n2"));
    assert_eq!(
        (merged.agent.mbus.as_str(), merged.agent.ntp.as_slice()),
        ("nats://n:4222", ["a".to_owned()].as_slice())
    );

    let cases = [
        ("bad url", json!({"lxd": {"url": "tcp://x"}}), "lxd.url"),
        (
            "https needs certs",
            json!({"lxd": {"url": "https://h:8443"}}),
            "lxd.client_cert",
        ),
        ("unknown key", json!({"lxd": {"bridge": "x"}}), "lxd.bridge"),
        ("wrong type", json!({"agent": {"ntp": "x"}}), "agent.ntp"),
        ("not an object", json!({"lxd": 1}), "lxd"),
        ("empty name", json!({"lxd": {"profile": ""}}), "lxd.profile"),
    ];
    for (name, ctx, field) in cases {
        let err = base.with_context_overrides(&context(ctx)).expect_err(name);
        assert_eq!(err.field(), Some(field), "case {name}: {err}");
        assert!(
            err.to_string().starts_with("CPI config request context: "),
            "case {name}: {err}"
        );
    }
}

#[test]
fn an_override_for_another_host_keeps_the_files_certificates_unless_it_clears_them() {
    let pem = |name: &str| PEM.replace("MIIB", name);
    let base = parse(&json!({"lxd": {"url": "https://192.0.2.10:8443",
        "client_cert": pem("CERT-A"), "client_key": pem("KEY-A"),
        "server_cert": pem("SERVER-A"), "ca_cert": pem("CA-A")},
        "agent": {"mbus": MBUS}}))
    .expect("base");

    // Only the URL and the server certificate: the file's client pair and CA carry over.
    let host_b = json!({"url": "https://192.0.2.11:8443", "server_cert": pem("SERVER-B")});
    let merged = base
        .with_context_overrides(&context(json!({"lxd": host_b})))
        .expect("override");
    assert_eq!(merged.lxd.url, "https://192.0.2.11:8443");
    assert_eq!(merged.lxd.server_cert, Some(pem("SERVER-B")));
    assert_eq!(merged.lxd.client_cert, Some(pem("CERT-A")), "carried over");
    assert_eq!(merged.lxd.ca_cert, Some(pem("CA-A")), "carried over");

    // null or "" clears a key of the file.
    for clear in [Value::Null, json!("")] {
        let ctx = json!({"lxd": {"url": "https://192.0.2.11:8443", "ca_cert": clear}});
        let merged = base
            .with_context_overrides(&context(ctx))
            .expect("override");
        assert_eq!(merged.lxd.ca_cert, None, "cleared by {clear}");
        assert_eq!(
            merged.lxd.server_cert,
            Some(pem("SERVER-A")),
            "carried over"
        );
    }
}

#[test]
fn debug_output_hides_secrets() {
    let config = parse(&json!({"lxd": {"url": "https://h", "client_cert": PEM,
                                       "client_key": "-----BEGIN PRIVATE KEY-----\nSECRETKEY"},
                               "agent": {"mbus": MBUS, "blobstore": {"provider": "dav",
                                          "options": {"password": "SECRETPW"}}}}))
    .expect("config");
    let debug = format!("{config:?}");
    for secret in ["SECRETKEY", "secret@", "SECRETPW", "MIIB"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
}
