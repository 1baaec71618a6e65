//! The host part of an `https://HOST[:PORT]` URL: an IP literal or a name. Parsed and
//! looked up in `https_resolve.rs`; `tls.rs` names the server by it.

use std::net::IpAddr;

/// The host part of the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IPv4 or IPv6 literal (`10.0.0.2`, `[fd00::2]`).
    Ip(IpAddr),
    /// A name, looked up in the hosts file only.
    Name(String),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}
