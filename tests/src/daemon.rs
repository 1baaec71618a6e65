//! Which daemon a test process drives: LXD (the default) or Incus (`BOSH_LXD_DAEMON=incus`,
//! set by the Incus pass of `scripts/test`), and what differs between the two on this host:
//! the CLI, the socket, the isolated bridge and its subnet, the guest API socket, the
//! process `scripts/setup-host` started (restarted by PID in `daemon_control`).

use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, ensure};

/// The daemon kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// LXD 5.0 from Debian.
    Lxd,
    /// Incus 6.0 from bookworm-backports.
    Incus,
}

/// What the harness needs to know about the daemon under test.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// LXD or Incus.
    pub kind: Kind,
    /// Its command-line client (`lxc`, `incus`: command-compatible for what tests use).
    pub cli: &'static str,
    /// Its unix socket.
    pub socket: &'static str,
    /// The isolated bridge `scripts/setup-host` made for it.
    pub bridge: &'static str,
    /// The bridge's /16 as its first two octets (`10.245`); the bridge is `<net>.0.1`.
    pub net: &'static str,
    /// The guest API socket inside its containers.
    pub guest_socket: &'static str,
    /// Its data directory (storage pools are mounted under `storage-pools/`).
    pub dir: &'static str,
    /// Where `scripts/setup-host` wrote the daemon's PID.
    pub pid_file: &'static str,
    /// The daemon process's command name.
    pub comm: &'static str,
    /// Where the HTTPS tests ask it to listen: loopback only, one port per daemon.
    pub https_address: &'static str,
    /// The `config trust` subcommand that trusts a certificate file (`add` in LXD 5.0,
    /// `add-certificate` in Incus, whose `add` makes a join token).
    pub trust_add: &'static str,
}

impl Daemon {
    /// The bridge's own address, the gateway and DNS of the tests' networks.
    pub fn gateway(&self) -> String {
        format!("{}.0.1", self.net)
    }

    /// Its certificate, pinned as `lxd.server_cert`.
    pub fn server_cert(&self) -> String {
        format!("{}/server.crt", self.dir)
    }

    /// Its name in messages.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Lxd => "LXD",
            Kind::Incus => "Incus",
        }
    }
}

const LXD: Daemon = Daemon {
    kind: Kind::Lxd,
    cli: "lxc",
    socket: "/var/lib/lxd/unix.socket",
    bridge: "boshbr0",
    net: "10.245",
    guest_socket: "/dev/lxd/sock",
    dir: "/var/lib/lxd",
    pid_file: "/run/bosh-lxd/lxd.pid",
    comm: "lxd",
    https_address: "127.0.0.1:8443",
    trust_add: "add",
};

const INCUS: Daemon = Daemon {
    kind: Kind::Incus,
    cli: "incus",
    socket: "/var/lib/incus/unix.socket",
    bridge: "boshbr1",
    net: "10.246",
    guest_socket: "/dev/incus/sock",
    dir: "/var/lib/incus",
    pid_file: "/run/bosh-lxd/incus.pid",
    comm: "incusd",
    https_address: "127.0.0.1:8444",
    trust_add: "add-certificate",
};

/// The daemon of this test process, from `BOSH_LXD_DAEMON` (`lxd` when unset).
pub fn daemon() -> &'static Daemon {
    static CHOSEN: OnceLock<Daemon> = OnceLock::new();
    CHOSEN.get_or_init(|| match std::env::var("BOSH_LXD_DAEMON").as_deref() {
        Ok("incus") => INCUS,
        _ => LXD,
    })
}

/// The LXD daemon, whatever this process drives (for LXD-only tests: HTTPS listener,
/// daemon restarts).
pub fn lxd() -> &'static Daemon {
    &LXD
}

/// `kill -SIGNAL PID`.
pub fn kill(signal: &str, pid: &str) -> Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), pid])
        .status()
        .context("kill")?;
    ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}
