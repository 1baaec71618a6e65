//! Logging: `tracing` lines with UTC timestamps to stderr and appended to the helper's
//! log file. The shim logs to the file only, so that a passed-through `mount` keeps
//! exactly the stderr of the real one.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

use crate::paths::{GuestRoot, HELPER_LOG};

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// stderr and the log file (subcommands).
    StderrAndFile,
    /// The log file only (the shim).
    FileOnly,
}

/// Install the global subscriber. A log file that cannot be opened is reported once on
/// stderr (not by the shim) and then skipped.
pub fn init(root: &GuestRoot, sink: Sink) {
    let path = root.host(HELPER_LOG);
    let file = OpenOptions::new().create(true).append(true).open(&path);
    let writer = match (file, sink) {
        (Ok(file), Sink::StderrAndFile) => {
            BoxMakeWriter::new(std::io::stderr.and(Mutex::new(file)))
        }
        (Ok(file), Sink::FileOnly) => BoxMakeWriter::new(Mutex::new(file)),
        (Err(e), Sink::StderrAndFile) => {
            eprintln!(
                "bosh-lxd-helper: cannot append to {}: {e}; logging to stderr only",
                path.display()
            );
            BoxMakeWriter::new(std::io::stderr)
        }
        (Err(_), Sink::FileOnly) => BoxMakeWriter::new(std::io::sink),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("bosh-lxd-helper: a logger was already installed");
    }
}
