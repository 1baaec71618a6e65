//! The messages of the HTTPS transport's failures, each saying what to check.
//!
//! Raw errors from the socket, rustls and LXD are terse ("connection refused",
//! "invalid peer certificate: Other(..)", "not authorized"); an operator reading the
//! director's task log needs to know which config field or which LXD setting to look at.
//! LXD answers 403 `not authorized` both to a certificate it does not trust and to a
//! trusted one restricted to other projects; [`forbidden`] tells the two apart from what
//! the transport learned afterwards (`GET /1.0` and the certificate's own trust entry).

use std::io;
use std::net::SocketAddr;

use rustls::{AlertDescription, CertificateError, Error as TlsError};

use super::tls::Verification;
use super::tls_verify::PinMismatch;

/// The TCP connection failed.
pub fn connect_failed(addr: SocketAddr, err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "connection refused by {addr}: check the host and port in lxd.url, and that LXD \
             listens there (on the LXD host: lxc config get core.https_address)"
        ),
        io::ErrorKind::TimedOut => format!(
            "no answer from {addr}: check the address in lxd.url and that no firewall drops \
             the port"
        ),
        _ => format!("cannot connect to {addr}: {err} (check lxd.url)"),
    }
}

/// The TLS handshake failed; `err` is what tokio-rustls returned.
pub fn handshake_failed(addr: SocketAddr, err: &io::Error, verification: Verification) -> String {
    let tls = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>());
    let why = match tls {
        Some(TlsError::InvalidCertificate(cert)) => certificate(cert, verification),
        Some(TlsError::AlertReceived(alert)) => alert_text(*alert),
        Some(TlsError::InvalidMessage(_) | TlsError::InappropriateMessage { .. }) => {
            "the server did not answer with TLS: is this LXD's HTTPS port \
             (core.https_address on the LXD host)?"
                .to_owned()
        }
        Some(other) => other.to_string(),
        None if err.kind() == io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake: is this LXD's HTTPS port?"
                .to_owned()
        }
        None => err.to_string(),
    };
    format!("TLS handshake with {addr} failed: {why}")
}

/// A certificate the verifier refused.
fn certificate(err: &CertificateError, verification: Verification) -> String {
    let server = "the LXD server's certificate";
    match err {
        CertificateError::Other(other) => match other.0.downcast_ref::<PinMismatch>() {
            Some(m) => format!(
                "{server} does not match lxd.server_cert: the server presented SHA-256 {}, \
                 the pinned certificate is SHA-256 {}. Copy the LXD host's current \
                 /var/lib/lxd/server.crt (Incus: /var/lib/incus/server.crt) into \
                 lxd.server_cert (its fingerprint: lxc info | grep certificate_fingerprint), \
                 and check that lxd.url points at that host",
                m.presented, m.pinned
            ),
            None => format!("{server} was refused: {other}"),
        },
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            let when = match err {
                CertificateError::ExpiredContext { time, not_after } => format!(
                    " on {} (now {})",
                    date(not_after.as_secs()),
                    date(time.as_secs())
                ),
                _ => String::new(),
            };
            format!(
                "{server} expired{when}: renew it on the LXD host and update \
                 lxd.server_cert/lxd.ca_cert, or check this machine's clock"
            )
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            let when = match err {
                CertificateError::NotValidYetContext { time, not_before } => format!(
                    " until {} (now {})",
                    date(not_before.as_secs()),
                    date(time.as_secs())
                ),
                _ => String::new(),
            };
            format!(
                "{server} is not valid{when}: check the clocks of this machine and the LXD host"
            )
        }
        CertificateError::UnknownIssuer => format!(
            "{server} is not signed by lxd.ca_cert: set ca_cert to the CA that issued it, or \
             pin the certificate itself with lxd.server_cert"
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "{server} does not name the host in lxd.url ({verification:?} verification \
                 checks names): use a name or address the certificate lists, or pin the \
                 certificate with lxd.server_cert (no name check). {err}"
            )
        }
        other => format!("{server} was refused: {other}"),
    }
}

/// The server aborted the handshake with an alert.
fn alert_text(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::ProtocolVersion | AlertDescription::HandshakeFailure => format!(
            "the server refused TLS 1.3 ({alert:?}); LXD 5.0 and Incus speak it, so check \
             that lxd.url points at LXD"
        ),
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateUnknown
        | AlertDescription::CertificateExpired
        | AlertDescription::CertificateRequired
        | AlertDescription::UnknownCA => format!(
            "the server refused the client certificate ({alert:?}): check lxd.client_cert \
             and lxd.client_key, and the certificate's dates"
        ),
        other => format!("the server aborted the handshake ({other:?})"),
    }
}

/// What the transport found out after a 403 answer.
#[derive(Debug, Default)]
pub struct ForbiddenFacts {
    /// `auth` of `GET /1.0`: `trusted` or `untrusted`, if that request worked.
    pub auth: Option<String>,
    /// The certificate's trust entry: (`restricted`, `projects`), if it could be read.
    pub restriction: Option<(bool, Vec<String>)>,
}

/// The explanation added to LXD's `not authorized` for `project`.
pub fn forbidden(project: &str, fingerprint: &str, facts: &ForbiddenFacts) -> String {
    let short = fingerprint.get(..12).unwrap_or(fingerprint);
    match (facts.auth.as_deref(), &facts.restriction) {
        (Some("untrusted"), _) => format!(
            "LXD does not trust the client certificate (fingerprint {short}): on the LXD host, \
             add lxd.client_cert with `lxc config trust add CERT --restricted --projects \
             {project}` (Incus: `incus config trust add-certificate CERT --restricted \
             --projects {project}`), or check `lxc config trust list` for an expired or \
             removed entry"
        ),
        (_, Some((true, projects))) if !projects.iter().any(|p| p == project) => format!(
            "the client certificate (fingerprint {short}) is restricted to project(s) [{}], \
             not lxd.project {project:?}: use one of those, or on the LXD host run \
             `lxc config trust edit {short}` (Incus: `incus config trust edit {short}`) and \
             add {project} to its projects",
            projects.join(", ")
        ),
        _ => format!(
            "the client certificate (fingerprint {short}) is trusted but not for this request: \
             it may be restricted to other projects than {project:?}, or the project may not \
             exist (on the LXD host: lxc config trust show {short}; lxc project list)"
        ),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since 1970 (proleptic Gregorian calendar).
pub fn date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    // Shift the epoch to 0000-03-01 so that leap days end each 4/100/400-year cycle.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for (secs, want) in [
            (0, "1970-01-01 00:00:00 UTC"),
            (951_782_400, "2000-02-29 00:00:00 UTC"),
            (2_110_883_560, "2036-11-21 12:32:40 UTC"),
            (4_107_542_399, "2100-02-28 23:59:59 UTC"),
            (4_107_542_400, "2100-03-01 00:00:00 UTC"),
        ] {
            assert_eq!(date(secs), want, "case {secs}");
        }
    }

    #[test]
    fn forbidden_cases() {
        let fp = "53132ad134f8fc3fbf85e22c1f88b494f716321bf305f9f0c0c6c158aac6f456";
        let cases = [
            ("untrusted", Some("untrusted"), None, "does not trust"),
            (
                "other project",
                Some("trusted"),
                Some((true, vec!["a".to_owned(), "b".to_owned()])),
                "restricted to project(s) [a, b], not lxd.project \"p\"",
            ),
            (
                "listed but refused",
                Some("trusted"),
                Some((true, vec!["p".to_owned()])),
                "may be restricted",
            ),
            ("nothing known", None, None, "may be restricted"),
        ];
        for (name, auth, restriction, want) in cases {
            let facts = ForbiddenFacts {
                auth: auth.map(str::to_owned),
                restriction,
            };
            let msg = forbidden("p", fp, &facts);
            assert!(msg.contains(want), "case {name}: {msg}");
            assert!(msg.contains("53132ad134f8"), "case {name}: {msg}");
        }
    }

    #[test]
    fn refused_connection_names_the_listener_setting() {
        let err = io::Error::from(io::ErrorKind::ConnectionRefused);
        let msg = connect_failed(SocketAddr::from(([127, 0, 0, 1], 1)), &err);
        assert!(msg.contains("core.https_address"), "{msg}");
        assert!(msg.contains("127.0.0.1:1"), "{msg}");
    }
}
