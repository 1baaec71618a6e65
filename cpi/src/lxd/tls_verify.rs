//! How the HTTPS transport decides to trust the LXD server: rustls certificate verifiers.
//!
//! [`LxdServerVerifier`] in pinned mode trusts exactly one certificate, the `lxd.server_cert` the
//! operator copied from the LXD host (`/var/lib/lxd/server.crt`). LXD generates a
//! self-signed certificate naming the machine's host name, which is rarely the address
//! the CPI dials, so no name is checked; the certificate must be byte-for-byte the
//! pinned one and inside its validity dates. With `lxd.ca_cert` as well, normal
//! verification against that CA (names included) must also pass. Its skip mode is the
//! `insecure_skip_verify` opt-out. Both modes still check the handshake signature, so
//! the server must hold the private key of the certificate it shows.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, RootCertStore};
use rustls::{SignatureScheme, client::verify_server_cert_signed_by_trust_anchor};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The server showed a certificate other than the pinned one. Carried inside rustls'
/// error so that the transport can name both fingerprints.
#[derive(Debug)]
pub struct PinMismatch {
    /// SHA-256 of the certificate the server presented.
    pub presented: String,
    /// SHA-256 of `lxd.server_cert`.
    pub pinned: String,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server certificate {} is not the pinned {}",
            self.presented, self.pinned
        )
    }
}

impl std::error::Error for PinMismatch {}

/// Hex SHA-256 of a DER certificate: LXD's certificate fingerprint.
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CPI's own server verifier, for the modes rustls' [`WebPkiServerVerifier`] does
/// not cover (CA-only verification uses that one directly). The handshake-signature
/// checks are the same in every mode.
#[derive(Debug)]
pub struct LxdServerVerifier {
    mode: Mode,
    algs: WebPkiSupportedAlgorithms,
}

/// Which certificates [`LxdServerVerifier`] accepts.
#[derive(Debug)]
enum Mode {
    /// Exactly the pinned certificate (and, optionally, also a CA chain).
    Pinned {
        pinned: CertificateDer<'static>,
        /// The pinned certificate as its own trust anchor: used only to check its dates.
        itself: RootCertStore,
        ca: Option<Arc<WebPkiServerVerifier>>,
    },
    /// `insecure_skip_verify`: any certificate is accepted; the handshake signature is
    /// still checked against it.
    Skip,
}

impl LxdServerVerifier {
    /// A verifier for `pinned`; `ca` adds normal verification on top.
    pub fn pinned(
        pinned: CertificateDer<'static>,
        ca: Option<Arc<WebPkiServerVerifier>>,
        algs: WebPkiSupportedAlgorithms,
    ) -> Result<Self, Error> {
        let mut itself = RootCertStore::empty();
        itself.add(pinned.clone())?;
        Ok(Self {
            mode: Mode::Pinned { pinned, itself, ca },
            algs,
        })
    }

    /// The `insecure_skip_verify` opt-out verifier.
    pub fn skip(algs: WebPkiSupportedAlgorithms) -> Self {
        Self {
            mode: Mode::Skip,
            algs,
        }
    }

    /// Checks the pinned certificate's dates by verifying it against itself. Only a date
    /// failure counts: a pinned certificate that is not self-signed (issued by some CA)
    /// fails the chain check, and the exact match already decided trust.
    fn check_dates(
        &self,
        itself: &RootCertStore,
        cert: &CertificateDer<'_>,
        now: UnixTime,
    ) -> Result<(), Error> {
        let parsed = ParsedCertificate::try_from(cert)?;
        match verify_server_cert_signed_by_trust_anchor(&parsed, itself, &[], now, self.algs.all) {
            Err(Error::InvalidCertificate(
                e @ (CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }),
            )) => Err(Error::InvalidCertificate(e)),
            Err(other) => {
                tracing::debug!("pinned server certificate matched exactly; chain check: {other}");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}

impl ServerCertVerifier for LxdServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Mode::Pinned { pinned, itself, ca } = &self.mode else {
            return Ok(ServerCertVerified::assertion());
        };
        if end_entity.as_ref() != pinned.as_ref() {
            let mismatch = PinMismatch {
                presented: fingerprint(end_entity),
                pinned: fingerprint(pinned),
            };
            return Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(mismatch)),
            )));
        }
        match ca {
            Some(ca) => {
                ca.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
            }
            None => self.check_dates(itself, end_entity, now)?,
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
