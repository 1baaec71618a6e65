//! `cpi`: the BOSH CPI executable for LXD and Incus.
//!
//! The director runs it once per call with one JSON request on stdin and reads
//! exactly one JSON response from stdout (`docs/design.md` §3).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command line of the CPI: everything else comes from the config file.
#[derive(Debug, Parser)]
#[command(name = "cpi", version, about = "BOSH CPI for LXD and Incus")]
struct Args {
    /// The CPI config file (JSON), rendered by the lxd_cpi job.
    #[arg(long)]
    config: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    eprintln!(
        "cpi: config {} (protocol not built yet)",
        args.config.display()
    );
    ExitCode::FAILURE
}
