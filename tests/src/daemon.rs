//! Which daemon a test process drives: LXD (the default) or Incus (`BOSH_LXD_DAEMON=incus`,
//! set by the Incus pass of `scripts/test`), and what differs between the two on this host:
//! the CLI, the socket, the isolated bridge and its subnet, the guest API socket.

use std::sync::OnceLock;

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
}

impl Daemon {
    /// The bridge's own address, the gateway and DNS of the tests' networks.
    pub fn gateway(&self) -> String {
        format!("{}.0.1", self.net)
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
};

const INCUS: Daemon = Daemon {
    kind: Kind::Incus,
    cli: "incus",
    socket: "/var/lib/incus/unix.socket",
    bridge: "boshbr1",
    net: "10.246",
    guest_socket: "/dev/incus/sock",
    dir: "/var/lib/incus",
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
