//! How bytes reach the LXD (or Incus) daemon: one request function over a unix socket
//! or HTTPS.
//!
//! [`Transport`] is an enum of the two: [`Transport::Unix`] here, [`Transport::Https`]
//! (rustls with a client certificate and a pinned server certificate or CA,
//! `ARCHITECTURE.md` §3) in `https.rs`. Callers build it with [`Transport::from_config`]
//! and only ever call [`Transport::request`]. Nothing connects before the first
//! request (start-up is part of every CPI call's latency). Over the unix socket each
//! request gets a fresh connection (see `UnixTransport`); over HTTPS one connection
//! is kept for the process, since its TLS handshake is what costs.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;

use super::error::LxdError;
use super::failure::Failure;
use super::https::HttpsTransport;
use super::wire::{RawResponse, RequestBody, build_request, chain, read_answer, transport_error};
use crate::config::{LxdConfig, LxdEndpoint};

type UnixClient = HyperClient<UnixConnector, UnsyncBoxBody<Bytes, io::Error>>;

/// The daemon's unix socket; the HTTP client is created on first use.
pub struct UnixTransport {
    socket: PathBuf,
    client: OnceLock<UnixClient>,
}

impl UnixTransport {
    fn client(&self) -> &UnixClient {
        // No idle connections are kept: every request opens its own connection and
        // writes at once. LXD 5.0.2 accepts unix connections in a single loop that
        // first waits for the new connection's first bytes (to tell TLS from plain
        // HTTP) with no timeout, so a client that connects and stays silent blocks
        // the daemon for every other client. A pooling client makes such connections:
        // when a request starts a connect and a pooled connection frees up first, the
        // new connection is parked idle without having sent anything. Seen here as
        // `lxc list` and `GET /1.0` hanging until the test process exited (goroutine
        // dump: `StarttlsListener.Accept` in `BufferedUnixConn.Peek`). A local connect
        // costs microseconds, so nothing is lost.
        self.client.get_or_init(|| {
            HyperClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build(UnixConnector)
        })
    }

    /// hyperlocal addresses a socket by a `unix://<hex of the socket path>:0/<path>` URI.
    fn uri(&self, path_and_query: &str) -> Result<Uri, Failure> {
        let host: String = self
            .socket
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(format!("unix://{host}:0{path_and_query}").parse::<Uri>()?)
    }
}

/// How to reach the daemon. Build it with [`Transport::from_config`].
#[derive(Clone)]
pub enum Transport {
    /// The daemon's local unix socket (`/var/lib/lxd/unix.socket`, `/var/lib/incus/unix.socket`).
    Unix(Arc<UnixTransport>),
    /// The daemon's HTTPS listener (`core.https_address`), with a client certificate.
    Https(Arc<HttpsTransport>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Unix(u) => write!(f, "Transport::Unix({})", u.socket.display()),
            Transport::Https(h) => write!(f, "Transport::Https({h:?})"),
        }
    }
}

impl Transport {
    /// A transport over the unix socket at `socket`. No connection is made yet.
    pub fn unix(socket: impl AsRef<Path>) -> Self {
        Transport::Unix(Arc::new(UnixTransport {
            socket: socket.as_ref().to_path_buf(),
            client: OnceLock::new(),
        }))
    }

    /// The transport the `lxd` config section describes: `url` picks unix or HTTPS, and
    /// for HTTPS the PEM fields and `insecure_skip_verify` set up TLS. Checks everything
    /// it can without connecting; nothing is sent yet. A URL the config validation
    /// refuses (see [`LxdConfig::endpoint`]) is refused here with the same message.
    pub fn from_config(lxd: &LxdConfig) -> Result<Self, LxdError> {
        let endpoint = lxd
            .endpoint()
            .map_err(|e| LxdError::invalid_request(format!("CPI config {e}")))?;
        match endpoint {
            LxdEndpoint::Unix(socket) => Ok(Transport::unix(socket)),
            LxdEndpoint::Https(authority) => Ok(Transport::Https(Arc::new(HttpsTransport::new(
                &authority, lxd,
            )?))),
        }
    }

    /// A unix transport from `unix:///var/lib/lxd/unix.socket` (or any other absolute
    /// socket path, such as Incus' `/var/lib/incus/unix.socket`). `https://` needs the
    /// certificates of the config: use [`Transport::from_config`].
    pub fn from_url(url: &str) -> Result<Self, LxdError> {
        match url.strip_prefix("unix://") {
            Some(path) if path.starts_with('/') => Ok(Transport::unix(path)),
            Some(_) => Err(LxdError::invalid_request(format!(
                "url {url:?}: a unix socket path must be absolute (unix:///path/to/unix.socket)"
            ))),
            None => Err(LxdError::invalid_request(format!(
                "url {url:?}: expected unix:///PATH/TO/unix.socket (an https:// URL needs the \
                 config's certificates: Transport::from_config)"
            ))),
        }
    }

    /// SHA-256 of the client certificate LXD knows the CPI by; `None` over the unix
    /// socket, where no certificate is used.
    pub fn client_fingerprint(&self) -> Option<&str> {
        match self {
            Transport::Https(https) => Some(https.client_fingerprint()),
            Transport::Unix(_) => None,
        }
    }

    /// Sends one request and reads the whole answer. `path_and_query` starts with `/1.0`.
    /// Only failures to get an answer are errors here; HTTP error statuses are returned.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: RequestBody,
    ) -> Result<RawResponse, LxdError> {
        match self {
            Transport::Https(https) => https.request(method, path_and_query, headers, body).await,
            Transport::Unix(unix) => {
                let transport_err = transport_error(&method, path_and_query);
                let uri = unix
                    .uri(path_and_query)
                    .map_err(|e| LxdError::invalid_request(e.to_string()))?;
                let builder = Request::builder().method(method.clone()).uri(uri);
                let request = build_request(builder, &method, path_and_query, headers, body)?;
                let response = unix.client().request(request).await.map_err(|e| {
                    transport_err(Failure::SendUnix {
                        chain: chain(&e),
                        socket: unix.socket.clone(),
                    })
                })?;
                read_answer(response).await.map_err(transport_err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_url_cases() {
        let ok = [
            (
                "lxd",
                "unix:///var/lib/lxd/unix.socket",
                "/var/lib/lxd/unix.socket",
            ),
            (
                "incus",
                "unix:///var/lib/incus/unix.socket",
                "/var/lib/incus/unix.socket",
            ),
        ];
        for (name, url, want) in ok {
            match Transport::from_url(url) {
                Ok(Transport::Unix(u)) => assert_eq!(u.socket, Path::new(want), "case {name}"),
                Ok(other) => panic!("case {name}: {other:?}"),
                Err(e) => panic!("case {name}: {e}"),
            }
        }
        for (name, url) in [
            ("relative", "unix://relative.sock"),
            ("https", "https://10.0.0.1:8443"),
            ("garbage", "ftp://x"),
        ] {
            assert!(
                Transport::from_url(url).is_err(),
                "case {name} must be refused"
            );
        }
    }

    #[test]
    fn unix_uri_hex_encodes_the_socket() {
        let t = UnixTransport {
            socket: PathBuf::from("/a.sock"),
            client: OnceLock::new(),
        };
        let uri = t.uri("/1.0/instances?project=p").map_err(|e| e.to_string());
        assert_eq!(
            uri.map(|u| u.to_string()),
            Ok("unix://2f612e736f636b:0/1.0/instances?project=p".to_owned())
        );
    }
}
