//! `repack-stemcell`: turns a stock warden stemcell into one bosh-lxd can boot.
//!
//! Streams the stemcell's `image` through, adding the overlay and the guest helper, and
//! rewrites `stemcell.MF` (`ARCHITECTURE.md` §5; the format: bosh.io/docs/build-stemcell/).
//! Nothing is unpacked to disk and no root is needed; the output appears only once
//! complete. The overlay is built in, and so is the static helper in a build by
//! `scripts/build-repack`: the binary alone repacks a stemcell.

mod cli;
mod digest;
mod embedded;
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

use crate::cli::Args;
use crate::overlay::{Overlay, Source, Tree};
use crate::stemcell::Options;

/// File name of the guest helper binary.
const HELPER_NAME: &str = "bosh-lxd-helper";

fn main() -> ExitCode {
    match run(cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("repack-stemcell: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let opts = Options {
        input: args.input,
        output: args.output,
        name: args.name,
        version: args.stemcell_version,
        dry_run: args.dry_run,
        progress: true,
    };
    stemcell::check_paths(&opts)?;
    let helper = helper_source(args.helper)?;
    let tree = match &args.overlay {
        Some(dir) => Tree::Dir(dir),
        None => Tree::BuiltIn,
    };
    let overlay = Overlay::load(tree, &helper)?;
    let outcome = stemcell::repack(&opts, &overlay)?;
    if opts.dry_run {
        report::print_dry_run(&opts, &overlay, &outcome)?;
    } else {
        report::print_warnings(&opts, &outcome);
    }
    Ok(())
}

/// The helper to add: `--helper`, else the one built in, else `bosh-lxd-helper` beside
/// this program.
fn helper_source(flag: Option<PathBuf>) -> Result<Source> {
    if let Some(path) = flag {
        return Ok(Source::File(path));
    }
    if let Some(bytes) = embedded::HELPER {
        return Ok(Source::BuiltIn(bytes));
    }
    let exe = std::env::current_exe().context("finding this program's path")?;
    let beside = exe.parent().unwrap_or(Path::new(".")).join(HELPER_NAME);
    if beside.is_file() {
        return Ok(Source::File(beside));
    }
    bail!(
        "this repack-stemcell has no helper built in, no --helper was given and there is no \
         {HELPER_NAME} beside it: give --helper the static helper that `scripts/build-helper` \
         prints, or use a repack-stemcell with the helper built in (`scripts/build-repack` \
         prints its path; `scripts/dist` puts it in the release tarball)"
    )
}
