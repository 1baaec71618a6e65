//! `cpi`: the BOSH CPI executable for LXD and Incus.
//!
//! The director runs it once per call with one JSON request on stdin and reads exactly one
//! JSON response from stdout (`docs/design.md` §3). This file only reads, calls
//! [`cpi::run::handle`] and writes: whatever goes wrong, one response is written and the
//! process exits 0, because bosh-cli drops the response of a failed process.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use cpi::config::{Config, LogLevel};
use cpi::rpc::{CpiError, Response};

/// Requests are small (paths and CIDs, never images); anything bigger is refused unread.
const MAX_REQUEST_BYTES: u64 = 64 * 1024 * 1024;

/// Set once a response has gone to stdout, so that the panic hook never writes a second one.
static RESPONDED: AtomicBool = AtomicBool::new(false);

/// Command line of the CPI: everything else comes from the config file.
#[derive(Debug, Parser)]
#[command(name = "cpi", version, about = "BOSH CPI for LXD and Incus")]
struct Args {
    /// The CPI config file (JSON), rendered by the lxd_cpi job.
    #[arg(long)]
    config: PathBuf,
}

fn main() -> ExitCode {
    install_panic_hook();
    let args = match Args::try_parse() {
        Ok(args) => Ok(args),
        // --help and --version: a person is at the terminal, not the director.
        Err(err) if !err.use_stderr() => {
            return if err.print().is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Err(err) => Err(err
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()),
    };
    let input = read_request(io::stdin().lock());
    let response = match args {
        Ok(args) => respond(&args, input),
        Err(message) => {
            init_tracing(LogLevel::Info);
            tracing::error!("bad command line: {message}");
            Response::error(&CpiError::invalid_request(format!(
                "cpi command line: {message}"
            )))
        }
    };
    write_response(&response.to_json_bytes())
}

/// Loads the config, sets up logging at its level and answers the request.
fn respond(args: &Args, input: io::Result<Vec<u8>>) -> Response {
    let config = Config::load(&args.config);
    init_tracing(config.as_ref().map_or(LogLevel::Info, |c| c.log_level));
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

/// Logs go to stderr only, without colours (the director stores them in task logs).
fn init_tracing(level: LogLevel) {
    let installed = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(level.to_tracing())
        .try_init();
    if installed.is_err() {
        // A subscriber is already installed; keep it.
    }
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
