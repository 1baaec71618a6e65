//! `repack-stemcell`: turns a stock warden stemcell into one bosh-lxd can boot.
//!
//! Streams the stemcell's `image` through, adding the overlay and the guest helper, and
//! rewrites `stemcell.MF` (`docs/design.md` §5, contract §4). Nothing is unpacked to disk
//! and no root is needed; the output appears only once complete.

mod digest;
mod image;
mod manifest;
mod output;
mod overlay;
mod progress;
mod report;
mod spool;
mod stemcell;
mod tarstream;
#[cfg(test)]
mod testutil;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::overlay::Overlay;
use crate::stemcell::Options;

/// The overlay of the source tree this binary was built from.
const BUILT_OVERLAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/overlay");
/// File name of the guest helper binary.
const HELPER_NAME: &str = "bosh-lxd-helper";

/// Command line of the repack tool.
#[derive(Debug, Parser)]
#[command(
    name = "repack-stemcell",
    // `--version` names the stemcell's version here, not this program's.
    disable_version_flag = true,
    about = "Repack a warden stemcell for bosh-lxd: add the guest helper and its boot hooks",
    long_about = "Repack a warden stemcell for bosh-lxd: add the guest helper and its boot \
                  hooks to the image, and rewrite stemcell.MF (image SHA-1, \
                  cloud_properties.bosh_lxd_helper_version, stemcell_formats, version). \
                  A monit binary at var/vcap/bosh/bin/monit (not a script) is kept as \
                  monit-actual, behind the overlay's monit wrapper. \
                  Repacking a repack with the same helper and overlay changes nothing."
)]
struct Args {
    /// The stock stemcell tarball.
    input: PathBuf,
    /// Where to write the repacked stemcell (must not exist).
    output: PathBuf,
    /// The static guest helper binary (built by `scripts/build-helper`); default:
    /// `bosh-lxd-helper` beside this program.
    #[arg(long, value_name = "PATH")]
    helper: Option<PathBuf>,
    /// The overlay tree; default: the `overlay/` of the source tree this was built from.
    #[arg(long, value_name = "DIR")]
    overlay: Option<PathBuf>,
    /// Name of the repacked stemcell (default: the stock name).
    #[arg(long, value_name = "N")]
    name: Option<String>,
    /// Version of the repacked stemcell (default: the stock version + `-lxd.<repack id>`).
    #[arg(long, value_name = "V")]
    version: Option<String>,
    /// List what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("repack-stemcell: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let helper = match args.helper {
        Some(p) => p,
        None => default_helper()?,
    };
    let overlay_dir = args.overlay.unwrap_or_else(|| PathBuf::from(BUILT_OVERLAY));
    let overlay = Overlay::load(&overlay_dir, &helper)?;
    let opts = Options {
        input: args.input,
        output: args.output,
        name: args.name,
        version: args.version,
        dry_run: args.dry_run,
        progress: true,
    };
    let outcome = stemcell::repack(&opts, &overlay)?;
    if opts.dry_run {
        report::print_dry_run(&opts, &overlay, &outcome)?;
    } else {
        report::print_warnings(&opts, &outcome);
    }
    Ok(())
}

/// `bosh-lxd-helper` beside this program, as a release bundle ships the two.
fn default_helper() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this program's path")?;
    let beside = exe.parent().unwrap_or(Path::new(".")).join(HELPER_NAME);
    if beside.is_file() {
        return Ok(beside);
    }
    bail!(
        "no --helper given and no {} beside this program: build it with \
         `scripts/build-helper` and pass the path it prints as --helper",
        HELPER_NAME
    )
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
