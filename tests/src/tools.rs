//! The real BOSH tools the tests run: the `bosh` CLI and `bosh-agent`, as `scripts/setup-host`
//! installs them (`scripts/lib/tools.sh`), or the binaries named by `BOSH_LXD_BOSH_CLI` and
//! `BOSH_LXD_BOSH_AGENT`.

use std::path::PathBuf;

use anyhow::{Result, bail};

/// Where `scripts/setup-host` installs both binaries (`BOSH_TOOLS_DIR` in scripts/lib/tools.sh).
pub const TOOLS_DIR: &str = "/usr/local/lib/bosh-lxd/tools";

/// The `bosh` CLI: `$BOSH_LXD_BOSH_CLI`, else `TOOLS_DIR/bosh`.
pub fn bosh_cli() -> Result<PathBuf> {
    tool("BOSH_LXD_BOSH_CLI", "bosh")
}

/// `bosh-agent`: `$BOSH_LXD_BOSH_AGENT`, else `TOOLS_DIR/bosh-agent`.
pub fn bosh_agent() -> Result<PathBuf> {
    tool("BOSH_LXD_BOSH_AGENT", "bosh-agent")
}

fn tool(var: &str, name: &str) -> Result<PathBuf> {
    let (path, from) = match std::env::var_os(var) {
        Some(path) => (PathBuf::from(path), format!("${var}")),
        None => (
            PathBuf::from(TOOLS_DIR).join(name),
            "the installed tools".to_owned(),
        ),
    };
    if path.is_file() {
        return Ok(path);
    }
    bail!(
        "no {name} at {} ({from}): run scripts/setup-host with BOSH_LXD_TOOLS naming the folder \
         that holds bosh.xz and bosh-agent.xz (default: shared/tools beside the clone), or set \
         {var} to a {name} you downloaded (bosh CLI v7.10.6 from \
         github.com/cloudfoundry/bosh-cli/releases; bosh-agent v2.874.0 is \
         /var/vcap/bosh/bin/bosh-agent in any Linux stemcell)",
        path.display()
    )
}
