//! Where an `https://HOST[:PORT]` URL points, found without glibc's resolver.
//!
//! The `cpi` binary is linked statically (`+crt-static`) so that the same file runs on
//! the operator's machine during `bosh create-env` and on the director's stemcell. A
//! static glibc program cannot load the NSS modules behind `getaddrinfo`, so names are
//! not looked up through it: the host in `lxd.url` is either an IP literal or a name
//! listed in the hosts file (`/etc/hosts`), which is read here. DNS is never asked.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::failure::Failure;
use super::host::Host;

/// The port LXD's HTTPS listener uses when the URL names none.
pub const DEFAULT_PORT: u16 = 8443;

/// The hosts file consulted for names.
pub const HOSTS_FILE: &str = "/etc/hosts";

/// Splits `HOST[:PORT]` (IPv6 in brackets) into host and port; the port defaults to 8443.
pub(crate) fn parse_authority(authority: &str) -> Result<(Host, u16), Failure> {
    let bad = |why: &'static str| Failure::BadAuthority {
        authority: authority.to_owned(),
        why,
    };
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        let ip: IpAddr = inside.parse().map_err(|_| bad("not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
        };
        (Host::Ip(ip), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return Err(bad("an IPv6 address must be in brackets")),
            None => (authority, None),
        };
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) if is_host_name(host) => Host::Name(host.to_ascii_lowercase()),
            Err(_) => return Err(bad("not an IP address or a host name")),
        };
        (host, port)
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
    };
    Ok((host, port))
}

/// Letters, digits, `-`, `_` and dots, not starting or ending with a dot.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && !s.ends_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The addresses to try for `host`, in order: the literal itself, or every address the
/// hosts file at `hosts_file` lists for the name (in file order).
pub(crate) fn resolve(
    host: &Host,
    port: u16,
    hosts_file: &Path,
) -> Result<Vec<SocketAddr>, Failure> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => name,
    };
    let text =
        std::fs::read_to_string(hosts_file).map_err(|source| Failure::HostsFileUnreadable {
            name: name.clone(),
            file: hosts_file.to_owned(),
            source,
        })?;
    let found: Vec<SocketAddr> = hosts_entries(&text, name)
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    if found.is_empty() {
        return Err(Failure::NotInHostsFile {
            name: name.clone(),
            file: hosts_file.to_owned(),
        });
    }
    Ok(found)
}

/// Addresses of `name` in hosts-file text: `ADDRESS NAME [ALIAS...]` lines, `#` comments.
/// Names compare without regard to case; lines whose address does not parse are skipped.
fn hosts_entries(text: &str, name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(Ok(ip)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if fields.any(|n| n.eq_ignore_ascii_case(name)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        let ok = [
            ("ip with port", "10.1.2.3:9443", Host::Ip(v4), 9443),
            ("ip default port", "10.1.2.3", Host::Ip(v4), DEFAULT_PORT),
            ("v6 with port", "[fd00::2]:8443", Host::Ip(v6), 8443),
            ("v6 default port", "[fd00::2]", Host::Ip(v6), DEFAULT_PORT),
            (
                "name",
                "LXD-Host.example:8443",
                Host::Name("lxd-host.example".into()),
                8443,
            ),
            ("short name", "lxd", Host::Name("lxd".into()), DEFAULT_PORT),
        ];
        for (case, input, host, port) in ok {
            assert_eq!(
                parse_authority(input).ok(),
                Some((host, port)),
                "case {case}"
            );
        }
        for (case, input) in [
            ("bare v6", "fd00::2"),
            ("port zero", "h:0"),
            ("port text", "h:https"),
            ("port too big", "h:70000"),
            ("empty", ""),
            ("space", "a b"),
            ("unclosed", "[fd00::2:8443"),
            ("v6 junk", "[fd00::2]x"),
            ("not v6", "[host]:1"),
            ("trailing dot", "host.:1"),
        ] {
            assert!(
                parse_authority(input).is_err(),
                "case {case} must be refused"
            );
        }
    }

    #[test]
    fn hosts_file_lines() {
        let text = "127.0.0.1 localhost\n\
                    # 10.9.9.9 lxd\n\
                    10.0.0.5\tlxd-a LXD  # the LXD host\n\
                    not-an-ip lxd\n\
                    fd00::5 lxd\n\
                    10.0.0.5 lxd\n";
        let want: Vec<IpAddr> = ["10.0.0.5", "fd00::5"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(
            hosts_entries(text, "lxd"),
            want,
            "aliases, comments, duplicates"
        );
        assert_eq!(hosts_entries(text, "LXD-A").len(), 1, "case-insensitive");
        assert!(hosts_entries(text, "other").is_empty(), "unknown name");
    }

    #[test]
    fn resolve_reads_the_given_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "10.0.0.7 lxd\n")?;
        let got = resolve(&Host::Name("lxd".into()), 8443, &hosts)?;
        assert_eq!(got, vec![SocketAddr::from(([10, 0, 0, 7], 8443))]);
        let missing = resolve(&Host::Name("nope".into()), 8443, &hosts);
        let msg = missing.unwrap_err().to_string();
        assert!(msg.contains("put an IP address in lxd.url"), "{msg}");
        assert!(msg.contains("add nope to"), "{msg}");
        let literal = resolve(
            &Host::Ip(IpAddr::from([127, 0, 0, 1])),
            1,
            Path::new("/nonexistent"),
        )?;
        assert_eq!(
            literal,
            vec![SocketAddr::from(([127, 0, 0, 1], 1))],
            "no file read for IPs"
        );
        Ok(())
    }
}
