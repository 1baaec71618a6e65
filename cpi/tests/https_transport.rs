//! The HTTPS transport against a small TLS server in this process: pinned and CA
//! verification, each refusal's message, connection reuse, the 403 explanation and
//! connection failures. No LXD needed; `tests/tests/cpi_https.rs` runs the real thing.
//! Certificates: `https_data/` (regenerate with `https_data/make`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed step stops the test with its message

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cpi::config::Config;
use cpi::lxd::{LxdError, LxdErrorKind, RequestBody, Transport};
use hyper::Method;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

fn data(name: &str) -> String {
    let path = format!("{}/tests/https_data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect(&path)
}

/// What the fake LXD answers: (status, body) for a request path.
type Routes = fn(&str) -> (u16, Value);

fn ok_routes(path: &str) -> (u16, Value) {
    let _ = path;
    (
        200,
        json!({"type": "sync", "status_code": 200, "metadata": {"auth": "trusted"}}),
    )
}

/// A TLS 1.3 server presenting `name`.crt on 127.0.0.1; returns its port and a counter of
/// accepted TLS connections.
async fn serve(name: &str, routes: Routes) -> (u16, Arc<AtomicUsize>) {
    let certs =
        vec![CertificateDer::from_pem_slice(data(&format!("{name}.crt")).as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(data(&format!("{name}.key")).as_bytes()).unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                // Keep-alive: answer requests (GETs, no bodies) until the client leaves.
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                        let (status, body) = routes(&path);
                        let body = body.to_string();
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if tls.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, accepted)
}

/// A transport for `https://127.0.0.1:PORT` with the `lxd` keys given.
fn transport(port: u16, lxd: Value) -> Result<Transport, LxdError> {
    let mut section = json!({
        "url": format!("https://127.0.0.1:{port}"),
        "client_cert": data("client.crt"),
        "client_key": data("client.key"),
        "project": "p1",
    });
    for (k, v) in lxd.as_object().unwrap() {
        section[k] = v.clone();
    }
    let config = json!({"lxd": section, "agent": {"mbus": "https://m:p@0.0.0.0:6868"}});
    let config = Config::from_json_str(&config.to_string(), "test").unwrap();
    Transport::from_config(&config.lxd)
}

async fn get(t: &Transport, path: &str) -> Result<u16, String> {
    t.request(Method::GET, path, &[], RequestBody::Empty)
        .await
        .map(|r| r.status.as_u16())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn pinned_certificate_is_accepted_and_the_connection_reused() {
    let (port, accepted) = serve("server-a", ok_routes).await;
    let t = transport(port, json!({"server_cert": data("server-a.crt")})).unwrap();
    for _ in 0..3 {
        assert_eq!(get(&t, "/1.0").await, Ok(200));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one TLS connection for three requests"
    );
}

#[tokio::test]
async fn refusals_say_what_to_check() {
    struct Case<'a> {
        name: &'a str,
        serves: &'a str,
        lxd: Value,
        want: Vec<&'a str>,
    }
    let fp = |n: &str| {
        let der = CertificateDer::from_pem_slice(data(n).as_bytes()).unwrap();
        let d = ring::digest::digest(&ring::digest::SHA256, &der);
        d.as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let (fp_a, fp_b) = (fp("server-a.crt"), fp("server-b.crt"));
    let cases = [
        Case {
            name: "other pinned certificate",
            serves: "server-a",
            lxd: json!({"server_cert": data("server-b.crt")}),
            want: vec!["does not match lxd.server_cert", &fp_a, &fp_b],
        },
        Case {
            name: "expired pinned certificate",
            serves: "expired",
            lxd: json!({"server_cert": data("expired.crt")}),
            want: vec!["expired on 2021-01-01 00:00:00 UTC", "renew it"],
        },
        Case {
            name: "not signed by the CA",
            serves: "server-a",
            lxd: json!({"ca_cert": data("ca.crt")}),
            want: vec!["is not signed by lxd.ca_cert"],
        },
        Case {
            name: "pin and CA both required",
            serves: "server-a",
            lxd: json!({"ca_cert": data("ca.crt"), "server_cert": data("server-a.crt")}),
            want: vec!["is not signed by lxd.ca_cert"],
        },
    ];
    for c in cases {
        let (port, _) = serve(c.serves, ok_routes).await;
        let t = transport(port, c.lxd).unwrap();
        let err = get(&t, "/1.0").await.expect_err(c.name);
        for w in &c.want {
            assert!(err.contains(w), "case {}: want {w:?} in: {err}", c.name);
        }
    }
}

#[tokio::test]
async fn ca_verification_and_the_explicit_opt_out() {
    let (port, _) = serve("leaf", ok_routes).await;
    let ca = transport(port, json!({"ca_cert": data("ca.crt")})).unwrap();
    assert_eq!(
        get(&ca, "/1.0").await,
        Ok(200),
        "leaf names 127.0.0.1, signed by the CA"
    );
    let both = json!({"ca_cert": data("ca.crt"), "server_cert": data("leaf.crt")});
    assert_eq!(
        get(&transport(port, both).unwrap(), "/1.0").await,
        Ok(200),
        "pin + CA"
    );

    let none = transport(port, json!({})).unwrap_err().to_string();
    assert!(
        none.contains("lxd.server_cert") && none.contains("insecure_skip_verify"),
        "{none}"
    );
    let skip = transport(port, json!({"insecure_skip_verify": true})).unwrap();
    assert_eq!(
        get(&skip, "/1.0").await,
        Ok(200),
        "opt-out accepts any certificate"
    );
}

#[tokio::test]
async fn a_pinned_certificate_needs_no_name_but_the_ca_checks_it() {
    // Signed by the CA, but naming lxd-elsewhere.test and 192.0.2.7: neither the host in
    // lxd.url nor the address dialled (both 127.0.0.1), as LXD's own certificate names
    // the machine rather than the address the CPI uses.
    let (port, _) = serve("elsewhere", ok_routes).await;
    let pinned = transport(port, json!({"server_cert": data("elsewhere.crt")})).unwrap();
    assert_eq!(
        get(&pinned, "/1.0").await,
        Ok(200),
        "the pin checks no name"
    );

    let cases = [
        ("ca", json!({"ca_cert": data("ca.crt")})),
        (
            "pin and ca",
            json!({"ca_cert": data("ca.crt"), "server_cert": data("elsewhere.crt")}),
        ),
    ];
    for (name, lxd) in cases {
        let err = get(&transport(port, lxd).unwrap(), "/1.0")
            .await
            .expect_err(name);
        assert!(
            err.contains("does not name the host in lxd.url"),
            "case {name}: {err}"
        );
    }
}

#[tokio::test]
async fn forbidden_is_explained() {
    fn untrusted(path: &str) -> (u16, Value) {
        if path == "/1.0" {
            return (
                200,
                json!({"type": "sync", "metadata": {"auth": "untrusted"}}),
            );
        }
        (
            403,
            json!({"type": "error", "error": "not authorized", "error_code": 403}),
        )
    }
    fn restricted(path: &str) -> (u16, Value) {
        match path {
            "/1.0" => (
                200,
                json!({"type": "sync", "metadata": {"auth": "trusted"}}),
            ),
            p if p.starts_with("/1.0/certificates/") => (
                200,
                json!({"type": "sync", "metadata": {"restricted": true, "projects": ["other"]}}),
            ),
            _ => (
                403,
                json!({"type": "error", "error": "not authorized", "error_code": 403}),
            ),
        }
    }
    let cases: [(&str, Routes, &str); 2] = [
        (
            "untrusted",
            untrusted,
            "LXD does not trust the client certificate",
        ),
        (
            "restricted",
            restricted,
            "restricted to project(s) [other], not lxd.project \"p1\"",
        ),
    ];
    for (name, routes, want) in cases {
        let (port, _) = serve("server-a", routes).await;
        let t = transport(port, json!({"server_cert": data("server-a.crt")})).unwrap();
        let err = t
            .request(
                Method::GET,
                "/1.0/instances/x?project=p1",
                &[],
                RequestBody::Empty,
            )
            .await
            .unwrap_err();
        assert!(
            err.kind() == &LxdErrorKind::Refused && err.status() == Some(403),
            "case {name}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("not authorized") && text.contains(want),
            "case {name}: {text}"
        );
    }
}

#[tokio::test]
async fn connection_failures() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = transport(port, json!({"server_cert": data("server-a.crt")})).unwrap();
    let err = get(&t, "/1.0").await.unwrap_err();
    assert!(
        err.contains("connection refused") && err.contains("core.https_address"),
        "{err}"
    );

    // A plain TCP server that answers HTTP, not TLS.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        if let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            // The client may have hung up already: nothing to do about either failing.
            if tcp.read(&mut buf).await.is_ok() {
                tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                    .await
                    .ok();
            }
        }
    });
    let t = transport(port, json!({"server_cert": data("server-a.crt")})).unwrap();
    let err = get(&t, "/1.0").await.unwrap_err();
    assert!(err.contains("did not answer with TLS"), "{err}");

    for (name, url, want) in [
        (
            "http scheme",
            "http://127.0.0.1:8443",
            "lxd.url: expected unix:///PATH or https://HOST[:PORT], got \"http://127.0.0.1:8443\" \
             (LXD's network API is HTTPS only: did you mean https://127.0.0.1:8443?)",
        ),
        (
            "unknown name",
            "https://no-such-host.invalid:8443",
            "put an IP address in lxd.url",
        ),
    ] {
        let config = json!({"lxd": {"url": url, "client_cert": data("client.crt"),
            "client_key": data("client.key"), "server_cert": data("server-a.crt")},
            "agent": {"mbus": "https://m:p@0.0.0.0:6868"}});
        let msg = match Config::from_json_str(&config.to_string(), "test") {
            Err(e) => e.to_string(),
            Ok(c) => match Transport::from_config(&c.lxd) {
                Err(e) => e.to_string(),
                Ok(t) => get(&t, "/1.0").await.unwrap_err(),
            },
        };
        assert!(msg.contains(want), "case {name}: {msg}");
    }
}
