//! Readiness against fake guest API servers that behave like LXD 5.0.2 and Incus 6.0.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::*;

/// How the fake server treats `PATCH /1.0`.
#[derive(Clone, Copy)]
enum Server {
    /// LXD 5.0.2: empty state, every method answered with the GET body.
    Lxd50,
    /// Incus: state Started, Ready after the PATCH.
    Incus,
    /// A state, but the PATCH changes nothing.
    Stubborn,
}

/// Serve `count` connections; returns the requests seen as "METHOD path body".
fn serve(kind: Server, count: usize) -> (tempfile::TempDir, thread::JoinHandle<Vec<String>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = UnixListener::bind(dir.path().join("sock")).expect("bind");
    let state = Arc::new(Mutex::new(match kind {
        Server::Lxd50 => "",
        Server::Incus | Server::Stubborn => "Started",
    }));
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for stream in listener.incoming().take(count) {
            let mut stream = stream.expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).expect("header");
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().expect("length");
                }
                if header == "\r\n" || header.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let mut parts = line.split(' ');
            let method = parts.next().unwrap_or_default().to_string();
            let path = parts.next().unwrap_or_default().to_string();
            if method == "PATCH" && matches!(kind, Server::Incus) {
                *state.lock().expect("lock") = "Ready";
            }
            let answer = format!(
                r#"{{"api_version":"1.0","instance_type":"container","location":"none","state":"{}"}}"#,
                state.lock().expect("lock")
            );
            let reply = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            );
            stream.write_all(reply.as_bytes()).expect("reply");
            seen.push(format!(
                "{method} {path} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        seen
    });
    (dir, handle)
}

#[test]
fn readiness_per_server() {
    let cases = [
        (Server::Lxd50, 1, Readiness::Unsupported, vec!["GET /1.0 "]),
        (
            Server::Incus,
            3,
            Readiness::Signalled,
            vec!["GET /1.0 ", r#"PATCH /1.0 {"state":"Ready"}"#, "GET /1.0 "],
        ),
        (
            Server::Stubborn,
            3,
            Readiness::NotTaken("Started".into()),
            vec!["GET /1.0 ", r#"PATCH /1.0 {"state":"Ready"}"#, "GET /1.0 "],
        ),
    ];
    for (kind, count, want, requests) in cases {
        let (dir, server) = serve(kind, count);
        let api = GuestApi::new(dir.path().join("sock"), Duration::from_secs(2));
        let got = signal(&api).expect("signal");
        assert_eq!(got, want);
        assert_eq!(server.join().expect("server"), requests, "{want:?}");
    }
}
