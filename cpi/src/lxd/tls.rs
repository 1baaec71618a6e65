//! TLS settings of the HTTPS transport, built from the config's PEM fields.
//!
//! All four PEM fields (`lxd.client_cert`, `client_key`, `server_cert`, `ca_cert`) hold
//! PEM *text*, not file paths: the BOSH job renders them from its properties straight
//! into the config file, and nothing else has to be placed on disk. LXD identifies the
//! CPI by its client certificate (added on the LXD host with `lxc config trust add`).
//! The server is verified by a pinned certificate, by a CA, or both
//! (see `tls_verify.rs`); with neither, the config is refused unless
//! `insecure_skip_verify` is true. Only TLS 1.3 is offered: LXD 5.0 and Incus accept
//! nothing older. The crypto provider is ring, which builds with a C compiler alone.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::error::LxdError;
use super::host::Host;
use super::tls_verify::{LxdServerVerifier, fingerprint};
use crate::config::LxdConfig;

/// How the server is verified: named in logs and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// `server_cert` only: exact match, no name check.
    Pinned,
    /// `ca_cert` only: chain to the CA and the URL's host named in the certificate.
    Ca,
    /// Both: the exact match and the CA verification.
    PinnedAndCa,
    /// `insecure_skip_verify`: nothing about the server is checked.
    Skipped,
}

/// What the HTTPS transport needs for its handshakes.
#[derive(Debug)]
pub struct TlsSettings {
    /// The rustls client configuration (client certificate, verifier, TLS 1.3).
    pub config: Arc<ClientConfig>,
    /// The name sent as SNI and checked in CA mode: the URL's host.
    pub server_name: ServerName<'static>,
    /// SHA-256 of the client certificate, as `lxc config trust list` shows it.
    pub client_fingerprint: String,
    /// How the server is verified.
    pub verification: Verification,
}

/// Builds the TLS settings for `host` from the `lxd` section. Every error names the field.
pub fn settings(lxd: &LxdConfig, host: &Host) -> Result<TlsSettings, LxdError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_pem = required(&lxd.client_cert, "client_cert")?;
    let certs = certificates(client_pem, "client_cert")?;
    let client_fingerprint = certs.first().map(|c| fingerprint(c)).unwrap_or_default();
    let key = PrivateKeyDer::from_pem_slice(required(&lxd.client_key, "client_key")?.as_bytes())
        .map_err(|e| field_err("client_key", format!("no private key in the PEM text: {e}")))?;
    let (verifier, verification) = verifier(lxd, &provider)?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| LxdError::invalid_request(format!("TLS set-up: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(certs, key)
        .map_err(|e| {
            field_err(
                "client_key",
                format!("cannot be used with lxd.client_cert (is it that certificate's key?): {e}"),
            )
        })?;
    let server_name = match host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone())
            .map_err(|e| field_err("url", format!("host {name:?} is not a valid name: {e}")))?,
    };
    Ok(TlsSettings {
        config: Arc::new(config),
        server_name,
        client_fingerprint,
        verification,
    })
}

/// The server verifier the config asks for.
fn verifier(
    lxd: &LxdConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<(Arc<dyn ServerCertVerifier>, Verification), LxdError> {
    let algs = provider.signature_verification_algorithms;
    let ca = match &lxd.ca_cert {
        None => None,
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(pem, "ca_cert")? {
                roots.add(cert).map_err(|e| {
                    field_err("ca_cert", format!("not a usable CA certificate: {e}"))
                })?;
            }
            let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| field_err("ca_cert", e.to_string()))?;
            Some(v)
        }
    };
    let pinned = match &lxd.server_cert {
        None => None,
        Some(pem) => {
            let mut certs = certificates(pem, "server_cert")?;
            if certs.len() > 1 {
                return Err(field_err(
                    "server_cert",
                    "expected exactly one certificate (the LXD server's own)".to_owned(),
                ));
            }
            certs.pop()
        }
    };
    Ok(match (pinned, ca) {
        (Some(pin), ca) => {
            let mode = if ca.is_some() {
                Verification::PinnedAndCa
            } else {
                Verification::Pinned
            };
            let v = LxdServerVerifier::pinned(pin, ca, algs)
                .map_err(|e| field_err("server_cert", format!("not a usable certificate: {e}")))?;
            (Arc::new(v), mode)
        }
        (None, Some(ca)) => (ca, Verification::Ca),
        (None, None) if lxd.insecure_skip_verify => (
            Arc::new(LxdServerVerifier::skip(algs)),
            Verification::Skipped,
        ),
        (None, None) => {
            return Err(field_err(
                "server_cert",
                "an https:// url needs lxd.server_cert (the LXD host's \
                 /var/lib/lxd/server.crt, pinned) or lxd.ca_cert (the CA that signed it); \
                 lxd.insecure_skip_verify: true turns verification off instead"
                    .to_owned(),
            ));
        }
    })
}

/// Every certificate in PEM text; at least one.
fn certificates(pem: &str, field: &str) -> Result<Vec<CertificateDer<'static>>, LxdError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| field_err(field, format!("unreadable PEM: {e}")))?;
    if certs.is_empty() {
        return Err(field_err(
            field,
            "no CERTIFICATE block in the PEM text".to_owned(),
        ));
    }
    Ok(certs)
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, LxdError> {
    value
        .as_deref()
        .ok_or_else(|| field_err(field, "required when lxd.url is https://".to_owned()))
}

fn field_err(field: &str, message: String) -> LxdError {
    LxdError::invalid_request(format!("CPI config lxd.{field}: {message}"))
}
