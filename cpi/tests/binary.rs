//! The built `cpi` binary, without LXD: whatever the config or the input, stdout holds exactly
//! one JSON response, logs go to stderr, and the exit code is 0. A bad command line is
//! answered before stdin is read, with clap's whole error on stderr, a response naming every
//! offending argument, and exit code 2; stdin at a terminal gets a hint and exit code 1.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

/// The socket names a path no daemon listens on, so LXD-backed methods fail without LXD.
const CONFIG: &str = r#"{"log_level": "debug",
    "lxd": {"url": "unix:///nonexistent/bosh-lxd-test/unix.socket"},
    "agent": {"mbus": "https://mbus:pw@0.0.0.0:6868"}}"#;

/// Starts the binary with `args`, an empty environment and piped stdin, stdout and stderr.
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cpi"))
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn cpi: {e}"))
}

/// Runs the binary with `args`, feeds `stdin`, and returns its output.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut pipe = child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("no stdin pipe"));
    let input = stdin.to_vec();
    // Feed stdin from a thread so that a large input cannot deadlock against stdout.
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for cpi: {e}"));
    match writer.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("write stdin: {e}"),
        Err(_) => panic!("stdin writer panicked"),
    }
    output
}

/// Asserts exit 0 and exactly one JSON document on stdout, and returns it.
fn single_response(name: &str, output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "case {name}: exit status");
    let mut docs = serde_json::Deserializer::from_slice(&output.stdout).into_iter::<Value>();
    let first = docs
        .next()
        .unwrap_or_else(|| panic!("case {name}: empty stdout"))
        .unwrap_or_else(|e| panic!("case {name}: stdout is not JSON: {e}"));
    assert!(
        docs.next().is_none(),
        "case {name}: more than one document on stdout"
    );
    assert!(
        output.stdout.ends_with(b"}\n"),
        "case {name}: stdout ends with one newline"
    );
    assert_eq!(first["log"], "", "case {name}: log");
    first
}

fn config_file(dir: &Path) -> String {
    let path = dir.join("cpi.json");
    std::fs::write(&path, CONFIG).unwrap_or_else(|e| panic!("write config: {e}"));
    path.display().to_string()
}

/// Name, command-line arguments, stdin, expected error type (none: success), message text.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<u8>, Option<&'a str>, &'a str);

#[test]
fn answers_with_one_document_and_exit_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());
    let missing = dir.path().join("absent.json").display().to_string();
    let info = br#"{"method":"info","arguments":[],"context":{"director_uuid":"d"}}"#;
    let cases: Vec<Case> = vec![
        ("info", vec!["--config", &config], info.to_vec(), None, ""),
        (
            "has_vm without lxd",
            vec!["--config", &config],
            br#"{"method":"has_vm","arguments":["vm-1"]}"#.to_vec(),
            Some("Bosh::Clouds::CloudError"),
            "looking up VM vm-1: LXD GET /1.0/instances/vm-1?project=bosh: transport error",
        ),
        (
            "garbage",
            vec!["--config", &config],
            b"\xff\xfe garbage".to_vec(),
            Some("Bosh::Clouds::CpiError"),
            "not valid UTF-8",
        ),
        (
            "empty stdin",
            vec!["--config", &config],
            Vec::new(),
            Some("Bosh::Clouds::CpiError"),
            "request is empty",
        ),
        (
            "missing config file",
            vec!["--config", &missing],
            info.to_vec(),
            Some("Bosh::Clouds::CloudError"),
            "cannot read CPI config",
        ),
    ];
    for (name, args, stdin, error_type, text) in cases {
        let output = run(&args, &stdin);
        let response = single_response(name, &output);
        match error_type {
            None => {
                assert_eq!(response["error"], Value::Null, "case {name}: {response}");
                assert_eq!(response["result"]["api_version"], 2, "case {name}");
            }
            Some(kind) => {
                assert_eq!(response["error"]["type"], kind, "case {name}: {response}");
                let message = response["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains(text), "case {name}: {message}");
            }
        }
    }
}

#[test]
fn missing_config_names_the_path_and_logs_to_stderr() {
    let output = run(&["--config", "/nonexistent/cpi.json"], b"{}");
    let response = single_response("missing config", &output);
    let message = response["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("cannot read CPI config /nonexistent/cpi.json")
            && message.contains("with --config"),
        "{message}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read CPI config"),
        "stderr: {stderr}"
    );
}

#[test]
fn big_garbage_input_is_drained_and_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());
    let output = run(&["--config", &config], &vec![b'{'; 10 * 1024 * 1024]);
    let response = single_response("10 MB of braces", &output);
    assert_eq!(
        response["error"]["type"], "Bosh::Clouds::CpiError",
        "{response}"
    );
}

#[test]
fn logs_go_to_stderr_at_the_configured_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());
    let request =
        json!({"method": "info", "arguments": [], "context": {"request_id": "cpi-424242"}});
    let output = run(&["--config", &config], request.to_string().as_bytes());
    single_response("info", &output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cpi-424242"),
        "the request id tags the log: {stderr}"
    );
    assert!(
        stderr.contains("DEBUG"),
        "debug level from the config: {stderr}"
    );
}

#[test]
fn help_is_for_people() {
    let output = run(&["--help"], b"");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("--config"));
}

/// Starts the binary with `args` and a stdin pipe that stays open (never written, never
/// closed) until the process has answered: it must answer without reading stdin.
fn run_with_open_stdin(args: &[&str]) -> Output {
    let mut child = spawn(args);
    // Held here, so wait_with_output cannot close it.
    let stdin = child.stdin.take();
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for cpi: {e}"));
    drop(stdin);
    output
}

#[test]
fn a_bad_command_line_is_answered_before_stdin_is_read_and_names_every_argument() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());
    let cases: [(&str, Vec<&str>, &str); 4] = [
        ("no --config", vec![], "--config <FILE>"),
        (
            "unknown flag",
            vec!["--config", &config, "--verbose"],
            "unexpected argument '--verbose'",
        ),
        ("doctor without --config", vec!["doctor"], "--config <FILE>"),
        ("unknown subcommand", vec!["docter"], "'docter'"),
    ];
    for (name, args, text) in cases {
        let output = run_with_open_stdin(&args);
        assert_eq!(output.status.code(), Some(2), "case {name}: exit status");
        let response: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("case {name}: stdout is not JSON: {e}"));
        assert_eq!(
            response["error"]["type"], "Bosh::Clouds::CpiError",
            "case {name}"
        );
        let message = response["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("cpi command line: ") && message.contains(text),
            "case {name}: {message}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(text) && stderr.contains("Usage: cpi"),
            "case {name}: clap's whole error on stderr: {stderr}"
        );
    }
}

#[test]
fn stdin_at_a_terminal_gets_a_hint_instead_of_a_hang() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_cpi"))
        .args(["--config", &config])
        .env_clear()
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run cpi");
    // The pty's master side stays open until here: the CPI saw a live terminal.
    drop(pty.master);
    assert_eq!(output.status.code(), Some(1), "exit status");
    assert!(output.stdout.is_empty(), "no response for a person");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expects one JSON request on stdin") && stderr.contains("cpi doctor"),
        "{stderr}"
    );
}

#[test]
fn help_states_the_exit_status_rule() {
    let output = run(&["--help"], b"");
    let help = String::from_utf8_lossy(&output.stdout);
    for text in [
        "Exit status:",
        "error responses",
        "cpi doctor --config FILE",
        "2: clap's error",
    ] {
        assert!(help.contains(text), "{text}: {help}");
    }
}
