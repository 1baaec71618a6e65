//! `build-release`: builds the bosh-lxd BOSH release tarball without the bosh CLI, and
//! verifies a release tarball the way the director would, where the CLI does not.
//!
//! `build` turns `jobs/` and `packages/` of the release directory, plus the static CPI
//! binary, into a tarball whose bytes depend only on that content; `verify` re-reads one
//! and applies the director's checks (jobs, packages, their `sha1`s) that
//! `bosh inspect-local-release` and `bosh sha2ify-release` do not make
//! (`scripts/build-release` runs all three).

mod assemble;
mod fingerprint;
mod glob;
mod manifest;
mod output;
mod rules;
mod sources;
mod spec;
mod tgz;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Command line of the release tool.
#[derive(Debug, Parser)]
#[command(
    name = "build-release",
    disable_version_flag = true,
    about = "Build or verify the bosh-lxd BOSH release tarball, without the bosh CLI"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a release tarball; prints its path.
    Build(BuildArgs),
    /// Check a release tarball as the director would; non-zero exit on any problem.
    Verify {
        /// The release tarball.
        tarball: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The static CPI binary (`scripts/build-cpi` prints its path); archived as
    /// `lxd_cpi/cpi` in the lxd_cpi package, mode 0755.
    #[arg(long, value_name = "PATH")]
    cpi: PathBuf,
    /// Where to write the tarball (must not exist).
    #[arg(long, value_name = "OUT.tgz")]
    out: PathBuf,
    /// Release name.
    #[arg(long, value_name = "N", default_value = "bosh-lxd-cpi")]
    name: String,
    /// Release version.
    #[arg(long, value_name = "V", default_value = "0+dev.1")]
    version: String,
    /// The commit the release comes from (`git rev-parse --short HEAD`).
    #[arg(long, value_name = "H", default_value = "non-git")]
    commit_hash: String,
    /// Marks the release as built from a tree with uncommitted changes.
    #[arg(long)]
    uncommitted_changes: bool,
    /// The directory holding `jobs/` and `packages/`; default: the source tree this
    /// program was built from.
    #[arg(long, value_name = "DIR")]
    release_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("build-release: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match args.command {
        Command::Build(b) => {
            let opts = assemble::Options {
                release_dir: b.release_dir.unwrap_or_else(assemble::built_release_dir),
                cpi: b.cpi,
                out: b.out,
                name: b.name,
                version: b.version,
                commit_hash: b.commit_hash,
                uncommitted_changes: b.uncommitted_changes,
            };
            assemble::build(&opts)?;
            writeln!(stdout, "{}", opts.out.display()).context("writing to stdout")?;
        }
        Command::Verify { tarball } => {
            let bytes = std::fs::read(&tarball)
                .with_context(|| format!("reading {}", tarball.display()))?;
            match verify::verify(&bytes) {
                Ok(s) => writeln!(
                    stdout,
                    "{}: release {}/{} passes (jobs: {}; packages: {})",
                    tarball.display(),
                    s.name,
                    s.version,
                    s.jobs.join(", "),
                    s.packages.join(", ")
                )
                .context("writing to stdout")?,
                Err(problems) => {
                    for p in &problems {
                        eprintln!("build-release: {}: {p}", tarball.display());
                    }
                    anyhow::bail!("{}: {} problem(s) found", tarball.display(), problems.len());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Args;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }
}
