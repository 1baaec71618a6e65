//! [`Failure`]: why the LXD client could not build a request, reach the daemon or read its
//! answer, before LXD said anything. Callers turn it into an [`super::LxdError`]:
//! `InvalidRequest` when nothing was sent, `Transport` (with method and path) otherwise.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::https_errors::{connect_failed, handshake_failed};
use super::tls::Verification;

/// A failure of the client itself; every variant names the object it is about.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// `lxd.url`'s `HOST[:PORT]` does not parse.
    #[error("{authority:?}: {why} (expected HOST[:PORT] or [IPv6][:PORT])")]
    BadAuthority {
        /// The authority as written.
        authority: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The hosts file could not be read to look up `name`.
    #[error(
        "cannot look up {name}: reading {}: {source}; {}",
        file.display(),
        no_dns_advice(name, file)
    )]
    HostsFileUnreadable {
        /// The host name.
        name: String,
        /// The hosts file.
        file: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The hosts file does not list `name`.
    #[error("cannot resolve host {name}: {}", no_dns_advice(name, file))]
    NotInHostsFile {
        /// The host name.
        name: String,
        /// The hosts file.
        file: PathBuf,
    },
    /// The TCP connection to `addr` failed or timed out.
    #[error("{}", connect_failed(*addr, source))]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The socket's error.
        source: io::Error,
    },
    /// Setting `TCP_NODELAY` on the new connection failed.
    #[error("setting TCP_NODELAY on {addr}: {source}")]
    NoDelay {
        /// The peer address.
        addr: SocketAddr,
        /// The socket's error.
        source: io::Error,
    },
    /// The TLS handshake with `addr` failed.
    #[error("{}", handshake_failed(*addr, source, *verification))]
    Handshake {
        /// The peer address.
        addr: SocketAddr,
        /// What tokio-rustls returned.
        source: io::Error,
        /// How the server's certificate was checked.
        verification: Verification,
    },
    /// The TLS handshake with `addr` got no answer in time.
    #[error("TLS handshake with {addr}: no answer within {waited:?}")]
    HandshakeTimeout {
        /// The peer address.
        addr: SocketAddr,
        /// How long the client waited.
        waited: Duration,
    },
    /// HTTP/1.1 could not be started on the TLS connection.
    #[error("starting HTTP/1.1 with {addr}: {chain}")]
    Http {
        /// The peer address.
        addr: SocketAddr,
        /// hyper's error chain, flattened.
        chain: String,
    },
    /// The host resolved to no address at all.
    #[error("no address to connect to for {host}")]
    NoAddress {
        /// The host from `lxd.url`.
        host: String,
    },
    /// Sending the request failed; `chain` is hyper's error chain, flattened.
    #[error("{chain}")]
    Send {
        /// hyper's error chain.
        chain: String,
    },
    /// Sending over the unix socket failed.
    #[error("{chain} (socket {})", socket.display())]
    SendUnix {
        /// hyper's error chain.
        chain: String,
        /// The daemon's socket.
        socket: PathBuf,
    },
    /// The answer's body could not be read.
    #[error("reading the answer: {chain}")]
    ReadAnswer {
        /// hyper's error chain.
        chain: String,
    },
    /// The request path is not a valid URI.
    #[error("invalid request path: {0}")]
    BadPath(#[from] hyper::http::uri::InvalidUri),
    /// A PATCH would have to remove an entry of a merged map (`config`, `devices`).
    #[error("PATCH cannot remove {map} entry {entry:?}; use a PUT")]
    PatchRemovesEntry {
        /// The map (`config` or `devices`).
        map: String,
        /// The entry that is gone.
        entry: String,
    },
    /// A PATCH would have to remove a top-level field.
    #[error("PATCH cannot remove field {field:?}; use a PUT")]
    PatchRemovesField {
        /// The field that is gone.
        field: String,
    },
}

/// What to do when a name cannot be looked up: the CPI never asks DNS.
fn no_dns_advice(name: &str, file: &std::path::Path) -> String {
    format!(
        "the CPI is a static binary and does not use DNS: put an IP address in lxd.url, \
         or add {name} to {}",
        file.display()
    )
}
