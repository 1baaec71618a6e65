//! `cpi`: the BOSH CPI executable for LXD and Incus.
//!
//! The director runs it once per call with one JSON request on stdin and reads exactly one
//! JSON response from stdout (`ARCHITECTURE.md` §3). This file checks the command line
//! first (`cli.rs`), then reads, calls [`cpi::run::handle`] and writes: whatever goes
//! wrong with a request, one response is written and the process exits 0, because
//! bosh-cli drops the response of a failed process. `cpi doctor` is for an operator
//! instead (`doctor/`). The exit-status rule is [`cpi::cli::EXIT_STATUS`].

use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use cpi::cli::{Cli, Mode};
use cpi::config::{Config, LogLevel};
use cpi::rpc::{CpiError, Response};

/// Requests are small (paths and CIDs, never images); anything bigger is refused unread.
const MAX_REQUEST_BYTES: u64 = 64 * 1024 * 1024;

/// Set once a response has gone to stdout, so that the panic hook never writes a second one.
static RESPONDED: AtomicBool = AtomicBool::new(false);

/// What a person who typed `cpi --config FILE` at a terminal is told instead of a hang.
const TERMINAL_HINT: &str = "cpi: stdin is a terminal, but the CPI expects one JSON request \
on stdin, as the BOSH director sends it, e.g.
  echo '{\"method\":\"info\",\"arguments\":[]}' | cpi --config FILE
To check the daemon and the objects the config names, run `cpi doctor --config FILE`.";

fn main() -> ExitCode {
    // The command line is checked before stdin is read: a bad one answers at once.
    let mode = match Cli::try_parse() {
        Ok(cli) => cli.mode(),
        Err(err) => return bad_command_line(&err),
    };
    match mode {
        Mode::Doctor(config) => cpi::doctor::run(&config),
        Mode::Request(_) if io::stdin().is_terminal() => {
            eprintln!("{TERMINAL_HINT}");
            ExitCode::FAILURE
        }
        Mode::Request(config) => {
            install_panic_hook();
            let input = read_request(io::stdin().lock());
            let response = respond(&config, input);
            write_response(&response.to_json_bytes())
        }
    }
}

/// `--help` and `--version` go to stdout (exit 0). Any other error: clap's full text to
/// stderr, one `CpiError` response naming every offending argument to stdout, exit 2.
fn bad_command_line(err: &clap::Error) -> ExitCode {
    if !err.use_stderr() {
        return if err.print().is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if let Err(e) = err.print() {
        cpi::logging::init(LogLevel::Info.to_tracing());
        tracing::error!("cannot print the command-line error: {e}");
    }
    let message = format!(
        "cpi command line: {} (see cpi --help)",
        cpi::cli::one_line(err)
    );
    let response = Response::error(&CpiError::invalid_request(message));
    write_response(&response.to_json_bytes());
    ExitCode::from(2)
}

/// Loads the config, sets up logging at its level and answers the request.
fn respond(config: &Path, input: io::Result<Vec<u8>>) -> Response {
    let config = Config::load(config);
    cpi::logging::init(
        config
            .as_ref()
            .map_or(LogLevel::Info, |c| c.log_level)
            .to_tracing(),
    );
    match &config {
        Ok(config) => config.warnings().iter().for_each(|w| tracing::warn!("{w}")),
        Err(err) => tracing::error!("{err}"),
    }
    match input {
        Ok(bytes) => cpi::run::handle(&bytes, config),
        Err(err) => Response::error(&CpiError::invalid_request(format!(
            "cannot read the request from stdin: {err}"
        ))),
    }
}

/// Reads stdin to EOF. Past [`MAX_REQUEST_BYTES`] the rest is drained and discarded, so the
/// writer never blocks, and an error is returned.
fn read_request(mut stdin: impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    stdin
        .by_ref()
        .take(MAX_REQUEST_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_REQUEST_BYTES {
        io::copy(&mut stdin, &mut io::sink())?;
        return Err(io::Error::other(format!(
            "request is larger than {MAX_REQUEST_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// Writes the response in one write and flushes: the only stdout output of the process.
fn write_response(bytes: &[u8]) -> ExitCode {
    if RESPONDED.swap(true, Ordering::SeqCst) {
        return ExitCode::SUCCESS;
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("cannot write the response to stdout: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A panic is a bug, but the director still gets a well-formed `CloudError`, and the process
/// exits 0 right after it (the release profile would abort, and bosh-cli drops the response
/// of a process that did not exit 0). When stdout cannot be written the panic goes on.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("panic: {info}");
        let err = CpiError::cloud(format!("the CPI panicked: {info}"));
        if write_response(&Response::error(&err).to_json_bytes()) == ExitCode::SUCCESS {
            std::process::exit(0);
        }
    }));
}
