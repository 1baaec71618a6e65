//! `bosh-lxd-helper`: the guest side of bosh-lxd, a static binary in the stemcell.
//!
//! Subcommands (built in later steps): `boot`, `release`, `monit-exec`, `check`
//! and the `mount`/`umount` shim (`docs/design.md` §4).

use clap::Parser;

/// Command line of the helper.
#[derive(Debug, Parser)]
#[command(name = "bosh-lxd-helper", version, about = "bosh-lxd guest helper")]
struct Args {}

fn main() -> anyhow::Result<()> {
    let _args = Args::parse();
    anyhow::bail!("no subcommand is built yet")
}
