//! Tests of the guest API client against a fake server on a unix socket.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::os::unix::net::UnixListener;
use std::thread;

use super::*;

/// Serve `answers` (request path → raw HTTP answer) for `count` connections, the way
/// LXD does for HTTP/1.0: one answer, then close. Returns the paths requested.
fn serve(
    listener: UnixListener,
    answers: BTreeMap<String, String>,
    count: usize,
) -> thread::JoinHandle<Vec<String>> {
    thread::spawn(move || {
        let mut seen = Vec::new();
        for stream in listener.incoming().take(count) {
            let mut stream = stream.expect("accept");
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).expect("header");
                if header == "\r\n" || header.is_empty() {
                    break;
                }
            }
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let answer = answers
                .get(&path)
                .cloned()
                .unwrap_or_else(|| "HTTP/1.0 404 Not Found\r\n\r\nnot found".to_string());
            stream.write_all(answer.as_bytes()).expect("answer");
            seen.push(path);
        }
        seen
    })
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn reads_only_the_disk_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    let answers: BTreeMap<String, String> = [
        (
            "/1.0/config",
            ok(r#"["/1.0/config/user.bosh.disk.disk-a","/1.0/config/user.bosh.helper-version","/1.0/config/user.bosh.disk.disk-b"]"#),
        ),
        ("/1.0/config/user.bosh.disk.disk-a", ok("/warden-cpi-dev/disk-a")),
        ("/1.0/config/user.bosh.disk.disk-b", "HTTP/1.0 200 OK\r\n\r\n/warden-cpi-dev/disk-b".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let server = serve(listener, answers, 3);
    let api = GuestApi::new(&socket, Duration::from_secs(2));
    let keys = api.disk_keys().expect("keys read");
    let want: DiskMap = [
        ("disk-a".to_string(), "/warden-cpi-dev/disk-a".to_string()),
        ("disk-b".to_string(), "/warden-cpi-dev/disk-b".to_string()),
    ]
    .into();
    assert_eq!(keys, want);
    let seen = server.join().expect("server");
    assert_eq!(
        seen.len(),
        3,
        "one list and two values, no other key read: {seen:?}"
    );
}

#[test]
fn an_error_status_names_the_socket_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    let server = serve(listener, BTreeMap::new(), 1);
    let err = GuestApi::new(&socket, Duration::from_secs(2))
        .disk_keys()
        .expect_err("404");
    let text = format!("{err:#}");
    assert!(
        text.contains("404") && text.contains("/1.0/config") && text.contains("sock"),
        "{text}"
    );
    server.join().expect("server");
}

#[test]
fn no_socket_is_an_error_and_find_skips_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = GuestApi::new(dir.path().join("none"), Duration::from_secs(1))
        .get("/1.0")
        .expect_err("no socket");
    assert!(format!("{err:#}").contains("none"), "{err:#}");
    assert!(GuestApi::find(&GuestRoot::new(dir.path()), Duration::from_secs(1)).is_none());
    std::fs::create_dir_all(dir.path().join("dev/incus")).expect("mkdir");
    std::fs::write(dir.path().join("dev/incus/sock"), "").expect("touch");
    let found =
        GuestApi::find(&GuestRoot::new(dir.path()), Duration::from_secs(1)).expect("incus socket");
    assert!(found.socket().ends_with("dev/incus/sock"));
}

#[test]
fn response_parsing() {
    /// name, raw answer, expected status and body (`None`: an error)
    type Case<'a> = (&'a str, &'a [u8], Option<(u16, &'a [u8])>);
    let cases: [Case; 5] = [
        (
            "plain",
            b"HTTP/1.0 200 OK\r\n\r\nbody",
            Some((200, b"body")),
        ),
        (
            "length trims",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nbody",
            Some((200, b"bo")),
        ),
        (
            "forbidden",
            b"HTTP/1.0 403 Forbidden\r\n\r\nnot authorized",
            Some((403, b"not authorized")),
        ),
        ("no header end", b"HTTP/1.0 200 OK\r\n", None),
        ("not http", b"SSH-2.0\r\n\r\n", None),
    ];
    for (name, raw, want) in cases {
        let got = parse_response(raw);
        match want {
            None => assert!(got.is_err(), "{name}"),
            Some((status, body)) => {
                let got = got.unwrap_or_else(|e| panic!("{name}: {e:#}"));
                assert_eq!((got.status, got.body.as_slice()), (status, body), "{name}");
            }
        }
    }
    assert_eq!(encode("user.bosh.disk.a b"), "user.bosh.disk.a%20b");
}
