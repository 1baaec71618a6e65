//! The daemon itself: whether it answers at `lxd.url` (for HTTPS with the server
//! verification the config asks for), what it is (LXD or Incus, which version), whether
//! it has the API extensions the CPI's calls use.

use super::reader::Reader;
use super::report::Report;
use crate::config::{Config, LxdEndpoint};
use crate::lxd::{LxdError, LxdErrorKind, Server, ServerKind};

/// The API extensions the CPI's calls need, each with what needs it.
pub const REQUIRED_EXTENSIONS: &[(&str, &str)] = &[
    ("projects", "every object lives in lxd.project"),
    ("instances", "the /1.0/instances API"),
    ("etag", "If-Match on every edit of an instance or volume"),
    (
        "patch",
        "attach_disk and the metadata calls edit with PATCH",
    ),
    (
        "container_exec_recording",
        "detach_disk runs the guest helper's release and reads its output",
    ),
    (
        "file_delete",
        "detach_disk removes the empty mount point in a stopped VM",
    ),
    (
        "storage_api_volume_snapshots",
        "snapshot_disk and delete_snapshot",
    ),
];

/// The oldest releases the CPI is tested against: LXD 5.0 and Incus 6.0.
const TESTED: [(ServerKind, &str, (u32, u32)); 2] = [
    (ServerKind::Lxd, "LXD", (5, 0)),
    (ServerKind::Incus, "Incus", (6, 0)),
];

/// The daemon's CLI for commands in messages: `incus` for Incus, else `lxc`.
pub fn cli(server: &Server) -> &'static str {
    match server.kind() {
        ServerKind::Incus => "incus",
        ServerKind::Lxd | ServerKind::Other => "lxc",
    }
}

/// `LXD 5.0.2`, `Incus 6.0.4`, or what the server calls itself.
pub fn describe(server: &Server) -> String {
    let env = &server.environment;
    let name = TESTED
        .iter()
        .find(|(kind, _, _)| *kind == server.kind())
        .map_or(env.server.as_str(), |(_, name, _)| name);
    format!("{name} {}", env.server_version).trim().to_owned()
}

/// `GET /1.0`: the daemon answers. `None` (with a FAIL line) when it does not.
pub async fn check_daemon(reader: &Reader, config: &Config, report: &mut Report) -> Option<Server> {
    let url = &config.lxd.url;
    match reader.get::<Server>("/1.0").await {
        Ok(server) => {
            let how = verification(config);
            report.ok("daemon", format!("{} at {url}{how}", describe(&server)));
            Some(server)
        }
        Err(e) => {
            report.fail(
                "daemon",
                format!("cannot reach {url}: {e}{}", unreachable_hint(config, &e)),
            );
            None
        }
    }
}

/// How the server was verified, for the `ok` line.
fn verification(config: &Config) -> &'static str {
    let lxd = &config.lxd;
    match (lxd.endpoint(), &lxd.server_cert, &lxd.ca_cert) {
        (Ok(LxdEndpoint::Unix(_)), _, _) => "",
        (_, Some(_), Some(_)) => {
            ", server certificate pinned (lxd.server_cert) and signed by lxd.ca_cert"
        }
        (_, Some(_), None) => ", server certificate pinned (lxd.server_cert)",
        (_, None, Some(_)) => ", server certificate verified with lxd.ca_cert",
        (_, None, None) => ", server certificate NOT verified (lxd.insecure_skip_verify)",
    }
}

/// What to check when the daemon did not answer over the unix socket (the HTTPS
/// transport's own messages already say what to check).
fn unreachable_hint(config: &Config, err: &LxdError) -> &'static str {
    match (config.lxd.endpoint(), err) {
        (Ok(LxdEndpoint::Unix(_)), e) if e.kind() == &LxdErrorKind::Transport => {
            ": is the daemon running on this machine, and is lxd.url its socket \
             (LXD: unix:///var/lib/lxd/unix.socket, Incus: unix:///var/lib/incus/unix.socket)?"
        }
        _ => "",
    }
}

/// Kind, version and API extensions.
pub fn check_server(server: &Server, report: &mut Report) {
    let missing: Vec<String> = REQUIRED_EXTENSIONS
        .iter()
        .filter(|(name, _)| !server.has_extension(name))
        .map(|(name, why)| format!("{name} ({why})"))
        .collect();
    if !missing.is_empty() {
        report.fail(
            "server",
            format!(
                "{} lacks API extensions the CPI uses: {}. Upgrade to LXD 5.0 or Incus 6.0 \
                 or later",
                describe(server),
                missing.join(", ")
            ),
        );
        return;
    }
    let extensions = format!(
        "all {} API extensions the CPI uses are present",
        REQUIRED_EXTENSIONS.len()
    );
    match tested_release(server) {
        Ok(()) => report.ok("server", format!("{}; {extensions}", describe(server))),
        Err(why) => report.warn("server", format!("{why}; {extensions}")),
    }
}

/// Why the server is not a release the CPI is tested against (a warning, not a failure).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum Untested {
    /// Neither LXD nor Incus.
    #[error(
        "the server calls itself {server:?}, neither LXD nor Incus: the CPI is tested with \
         LXD 5.0 and Incus 6.0 only"
    )]
    UnknownServer {
        /// The server's own name (`environment.server`).
        server: String,
    },
    /// A release older than the oldest tested one.
    #[error("{found} is older than {name} {}.{}, the oldest release the CPI is tested with", oldest.0, oldest.1)]
    TooOld {
        /// The server and version found.
        found: String,
        /// LXD or Incus.
        name: &'static str,
        /// The oldest tested major and minor version.
        oldest: (u32, u32),
    },
}

/// `Err` with the reason when the server is not a release the CPI is tested against.
fn tested_release(server: &Server) -> Result<(), Untested> {
    let Some((_, name, oldest)) = TESTED.iter().find(|(k, _, _)| *k == server.kind()) else {
        return Err(Untested::UnknownServer {
            server: server.environment.server.clone(),
        });
    };
    match major_minor(&server.environment.server_version) {
        Some(version) if version >= *oldest => Ok(()),
        _ => Err(Untested::TooOld {
            found: describe(server),
            name,
            oldest: *oldest,
        }),
    }
}

/// `5.0.2` → `(5, 0)`.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.').map(|p| p.trim().parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(json: &str) -> Server {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn versions_and_kinds() {
        let lxd = server(r#"{"environment":{"server":"lxd","server_version":"5.0.2"}}"#);
        assert_eq!(describe(&lxd), "LXD 5.0.2");
        assert_eq!(tested_release(&lxd), Ok(()));
        let old = server(r#"{"environment":{"server":"lxd","server_version":"4.0.9"}}"#);
        assert!(tested_release(&old).is_err_and(|e| e.to_string().contains("older than LXD 5.0")));
        let incus = server(r#"{"environment":{"server":"incus","server_version":"6.0.4"}}"#);
        assert_eq!(
            (describe(&incus).as_str(), cli(&incus)),
            ("Incus 6.0.4", "incus")
        );
        assert_eq!(tested_release(&incus), Ok(()));
        let other = server(r#"{"environment":{"server":"other","server_version":"1.0"}}"#);
        assert!(
            tested_release(&other).is_err_and(|e| e.to_string().contains("neither LXD nor Incus"))
        );
        assert_eq!(major_minor("6"), Some((6, 0)));
        assert_eq!(major_minor("x"), None);
    }

    #[test]
    fn a_missing_extension_fails_naming_it_and_its_use() {
        let s = server(
            r#"{"api_extensions":["projects","instances","etag","patch"],
                "environment":{"server":"lxd","server_version":"5.0.2"}}"#,
        );
        let mut r = Report::default();
        check_server(&s, &mut r);
        let line = r
            .lines()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(r.failed(), "{line}");
        assert!(
            line.contains("container_exec_recording (detach_disk"),
            "{line}"
        );
        assert!(!line.contains("etag"), "{line}");
    }
}
