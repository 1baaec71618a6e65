//! The `cpi` command line: the director's form `cpi --config FILE` (one JSON request on
//! stdin) and the operator's `cpi doctor --config FILE`, the exit-status rule shown by
//! `--help`, and a bad command line turned into one line that names every offending
//! argument (for the JSON error response; clap's full text goes to stderr).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Shown after `--help`: the exit status of each form.
pub const EXIT_STATUS: &str = "\
Exit status:
  cpi --config FILE         0 once it has written its one JSON response, error responses
                            included (bosh-cli drops the response of a process that exits
                            non-zero); 1 when stdin is a terminal (it expects one JSON
                            request on stdin, as the director sends it) or stdout cannot
                            be written.
  cpi doctor --config FILE  0 when no check failed (warnings allowed), 1 when one failed.
  a bad command line        2: clap's error on stderr, and a Bosh::Clouds::CpiError
                            response naming every missing or unknown argument on stdout.";

/// Command line of the CPI: everything else comes from the config file.
#[derive(Debug, Parser)]
#[command(
    name = "cpi",
    version,
    about = "BOSH CPI for LXD and Incus: one JSON request on stdin, one JSON response on stdout",
    after_help = EXIT_STATUS,
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The CPI config file (JSON), rendered by the lxd_cpi job.
    #[arg(long, value_name = "FILE", required = true)]
    pub config: Option<PathBuf>,
    /// An operator's command instead of a director's request.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The operator's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Checks the daemon and the objects the config names, one line per check; only reads.
    #[command(
        after_help = "Exit status: 0 when no check failed (warnings allowed), 1 when one \
                            failed, 2 on a bad command line."
    )]
    Doctor {
        /// The CPI config file (JSON), as the lxd_cpi job renders it
        /// (/var/vcap/jobs/lxd_cpi/config/cpi.json on the director).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// What the process was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answer one director request with this config.
    Request(PathBuf),
    /// Run `cpi doctor` with this config.
    Doctor(PathBuf),
}

impl Cli {
    /// The mode the parsed arguments select.
    pub fn mode(self) -> Mode {
        match (self.command, self.config) {
            (Some(Command::Doctor { config }), _) => Mode::Doctor(config),
            // clap requires --config when no subcommand is given.
            (None, config) => Mode::Request(config.unwrap_or_default()),
        }
    }
}

/// clap's error text on one line, without the usage and help hints: for a missing
/// argument `the following required arguments were not provided: --config <FILE>`,
/// every argument named.
pub fn one_line(error: &clap::Error) -> String {
    let text = error.to_string();
    let parts: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = parts.join(" ");
    joined.strip_prefix("error: ").unwrap_or(&joined).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Mode, String> {
        Cli::try_parse_from(std::iter::once("cpi").chain(args.iter().copied()))
            .map(Cli::mode)
            .map_err(|e| one_line(&e))
    }

    #[test]
    fn the_director_form_and_doctor_parse() {
        assert_eq!(
            parse(&["--config", "/c.json"]),
            Ok(Mode::Request("/c.json".into()))
        );
        assert_eq!(
            parse(&["doctor", "--config", "/c.json"]),
            Ok(Mode::Doctor("/c.json".into()))
        );
    }

    #[test]
    fn errors_name_every_argument_on_one_line() {
        let cases: [(&[&str], &str); 4] = [
            (
                &[],
                "the following required arguments were not provided: --config <FILE>",
            ),
            (
                &["doctor"],
                "the following required arguments were not provided: --config <FILE>",
            ),
            (&["--config", "/c", "--verbose"], "'--verbose'"),
            (&["--config", "/c", "doctor"], "doctor"),
        ];
        for (args, want) in cases {
            let err = parse(args).expect_err("a bad command line");
            assert!(err.contains(want), "{args:?}: {err}");
            assert!(!err.contains('\n') && !err.contains("Usage"), "{err}");
        }
    }
}
