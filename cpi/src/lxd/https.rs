//! The HTTPS transport: HTTP/1.1 over TLS 1.3 to LXD's network listener, with a client
//! certificate (`ARCHITECTURE.md` §3).
//!
//! Nothing is connected until the first request, so calls that never reach LXD pay
//! nothing. A connection is then kept for the rest of the process and reused by later
//! requests: the TLS handshake is the cost of this transport, and a CPI call makes
//! several requests. A second connection is opened only while the first is busy (an
//! operation wait running beside another request). Unlike the unix socket
//! (`docs/decisions.md` §2), an idle TLS connection cannot stall LXD: the handshake has
//! already been written. A 403 answer is explained before it is returned (see
//! `https_errors.rs`).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::LxdError;
use super::failure::Failure;
use super::host::Host;
use super::https_errors::{self, ForbiddenFacts};
use super::https_resolve::{self, HOSTS_FILE};
use super::tls::{self, TlsSettings, Verification};
use super::wire::{RawResponse, RequestBody, build_request, chain, read_answer, transport_error};
use crate::config::LxdConfig;

/// How long one TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the TLS handshake may take once connected.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

type Body = UnsyncBoxBody<Bytes, io::Error>;

/// LXD's HTTPS listener at one `host:port`.
pub struct HttpsTransport {
    /// `host[:port]` as written in the URL: the `Host` header and the name in messages.
    authority: String,
    host: Host,
    port: u16,
    hosts_file: PathBuf,
    tls: TlsSettings,
    /// Connections not in use, ready for the next request.
    idle: Mutex<Vec<SendRequest<Body>>>,
}

impl std::fmt::Debug for HttpsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "https://{} ({:?})",
            self.authority, self.tls.verification
        )
    }
}

impl HttpsTransport {
    /// Checks `authority` (`HOST[:PORT]`) and the TLS fields of `lxd`; connects nothing.
    pub fn new(authority: &str, lxd: &LxdConfig) -> Result<Self, LxdError> {
        let (host, port) = https_resolve::parse_authority(authority)
            .map_err(|e| LxdError::invalid_request(format!("CPI config lxd.url: {e}")))?;
        let tls = tls::settings(lxd, &host)?;
        if tls.verification == Verification::Skipped {
            tracing::warn!(
                url = %lxd.url,
                "lxd.insecure_skip_verify is true: the LXD server's certificate is not checked, \
                 so anyone on the path can impersonate it; pin it with lxd.server_cert instead"
            );
        }
        Ok(Self {
            authority: authority.to_owned(),
            host,
            port,
            hosts_file: PathBuf::from(HOSTS_FILE),
            tls,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The URL's `host[:port]`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// SHA-256 of the client certificate, as `lxc config trust list` shows it.
    pub fn client_fingerprint(&self) -> &str {
        &self.tls.client_fingerprint
    }

    /// Sends one request; see [`super::Transport::request`]. A 403 becomes a
    /// `Refused` [`LxdError`] whose message says what to check.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: RequestBody,
    ) -> Result<RawResponse, LxdError> {
        let response = self.send(&method, path_and_query, headers, body).await?;
        if response.status.as_u16() == 403 {
            return Err(self
                .explain_forbidden(&method, path_and_query, &response)
                .await);
        }
        Ok(response)
    }

    /// One request and its whole answer, on an idle connection or a new one.
    async fn send(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: RequestBody,
    ) -> Result<RawResponse, LxdError> {
        let transport_err = transport_error(method, path_and_query);
        let host = HeaderValue::from_str(&self.authority)
            .map_err(|e| LxdError::invalid_request(format!("lxd.url host: {e}")))?;
        let builder = Request::builder()
            .method(method.clone())
            .uri(path_and_query)
            .header(HOST, host);
        let request = build_request(builder, method, path_and_query, headers, body)?;

        let (mut sender, reused) = match self.take_idle().await {
            Some(sender) => (sender, true),
            None => (self.connect().await.map_err(&transport_err)?, false),
        };
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut err) => match err.take_message() {
                // The reused connection closed before the request went out (LXD closed
                // it while idle): the request is intact, so send it on a fresh one.
                Some(request) if reused => {
                    sender = self.connect().await.map_err(&transport_err)?;
                    sender
                        .send_request(request)
                        .await
                        .map_err(|e| transport_err(Failure::Send { chain: chain(&e) }))?
                }
                _ => {
                    return Err(transport_err(Failure::Send {
                        chain: chain(&err.into_error()),
                    }));
                }
            },
        };
        let answer = read_answer(response).await.map_err(transport_err)?;
        self.give_back(sender);
        Ok(answer)
    }

    /// An idle connection that is still open, if there is one.
    async fn take_idle(&self) -> Option<SendRequest<Body>> {
        loop {
            let mut sender = self.idle.lock().ok()?.pop()?;
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn give_back(&self, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(sender);
        }
    }

    /// Resolves the host, connects (each address in turn), runs the TLS handshake and
    /// starts HTTP/1.1 on it. The connection's driver runs as a task of the runtime.
    async fn connect(&self) -> Result<SendRequest<Body>, Failure> {
        let addrs = https_resolve::resolve(&self.host, self.port, &self.hosts_file)?;
        let mut last = Failure::NoAddress {
            host: self.host.to_string(),
        };
        for addr in addrs {
            match self.connect_to(addr).await {
                Ok(sender) => return Ok(sender),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn connect_to(&self, addr: SocketAddr) -> Result<SendRequest<Body>, Failure> {
        let started = std::time::Instant::now();
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(source)) => return Err(Failure::Connect { addr, source }),
            Err(_) => {
                let source = io::Error::from(io::ErrorKind::TimedOut);
                return Err(Failure::Connect { addr, source });
            }
        };
        // Requests are small and answered at once: do not let Nagle hold them back.
        tcp.set_nodelay(true)
            .map_err(|source| Failure::NoDelay { addr, source })?;
        let connector = TlsConnector::from(self.tls.config.clone());
        let handshake = connector.connect(self.tls.server_name.clone(), tcp);
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(source)) => {
                return Err(Failure::Handshake {
                    addr,
                    source,
                    verification: self.tls.verification,
                });
            }
            Err(_) => {
                return Err(Failure::HandshakeTimeout {
                    addr,
                    waited: HANDSHAKE_TIMEOUT,
                });
            }
        };
        let (sender, connection) =
            http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| Failure::Http {
                    addr,
                    chain: chain(&e),
                })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("LXD HTTPS connection ended: {}", chain(&e));
            }
        });
        tracing::debug!(%addr, elapsed = ?started.elapsed(), "connected to LXD over HTTPS");
        Ok(sender)
    }

    /// Turns a 403 into an error that says whether LXD does not trust the certificate
    /// or trusts it only for other projects. Asks LXD twice more; both answers are
    /// optional, and the message falls back to naming both possibilities.
    async fn explain_forbidden(
        &self,
        method: &Method,
        path: &str,
        response: &RawResponse,
    ) -> LxdError {
        let lxd_text = serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "forbidden".to_owned());
        let mut facts = ForbiddenFacts::default();
        if let Some(server) = self.metadata("/1.0").await {
            facts.auth = server
                .get("auth")
                .and_then(|a| a.as_str())
                .map(str::to_owned);
        }
        if facts.auth.as_deref() == Some("trusted") {
            let own = format!("/1.0/certificates/{}", self.tls.client_fingerprint);
            if let Some(entry) = self.metadata(&own).await {
                let restricted = entry.get("restricted").and_then(|r| r.as_bool());
                let projects = entry.get("projects").and_then(|p| p.as_array()).map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                });
                facts.restriction = restricted.map(|r| (r, projects.unwrap_or_default()));
            }
        }
        let project = project_of(path);
        LxdError::refused(
            method.as_str(),
            path,
            403,
            &format!(
                "{lxd_text}: {}",
                https_errors::forbidden(&project, &self.tls.client_fingerprint, &facts)
            ),
        )
    }

    /// `metadata` of a successful GET, or `None` for any failure.
    async fn metadata(&self, path: &str) -> Option<serde_json::Value> {
        let answer = self
            .send(&Method::GET, path, &[], RequestBody::Empty)
            .await
            .ok()?;
        if !answer.status.is_success() {
            return None;
        }
        let mut value: serde_json::Value = serde_json::from_slice(&answer.body).ok()?;
        Some(value.get_mut("metadata")?.take())
    }
}

/// The `project=` of a request path (percent-decoded), `default` when absent.
fn project_of(path: &str) -> String {
    super::paths::query_value(path, "project").unwrap_or_else(|| "default".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_from_path() {
        for (path, want) in [
            ("/1.0/instances/a?project=bosh", "bosh"),
            ("/1.0/instances?recursion=1&project=my%20p", "my p"),
            ("/1.0/instances?project=my+p", "my p"),
            ("/1.0", "default"),
        ] {
            assert_eq!(project_of(path), want, "case {path}");
        }
    }
}
