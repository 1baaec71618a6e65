//! `repack-stemcell`: turns a stock warden stemcell into one bosh-lxd can boot.
//!
//! Streams the stemcell's `image` through, adding the overlay (`docs/design.md` §5).

use std::path::PathBuf;

use clap::Parser;

/// Command line of the repack tool.
#[derive(Debug, Parser)]
#[command(
    name = "repack-stemcell",
    version,
    about = "Repack a warden stemcell for bosh-lxd"
)]
struct Args {
    /// The stock stemcell tarball.
    input: PathBuf,
    /// Where to write the repacked stemcell (must not exist).
    output: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::bail!(
        "repacking {} -> {} is not built yet",
        args.input.display(),
        args.output.display()
    )
}
