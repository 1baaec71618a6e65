//! A small blocking client of the guest API socket (`/dev/lxd/sock`, `/dev/incus/sock`):
//! reads the `user.bosh.disk.<cid>` keys the CPI writes next to each disk device.
//!
//! Plain HTTP/1.0 over a unix stream: one request per connection and the server closes
//! it after the answer, so the body is everything after the headers. Endpoints (LXD
//! 5.0.2 and Incus 6.0): `GET /1.0/config` lists `/1.0/config/<key>` paths (user keys
//! only) and `GET /1.0/config/<key>` returns the raw value.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::paths::{DISK_KEY_PREFIX, GuestRoot, INCUS_SOCKET, LXD_SOCKET};
use crate::settings::DiskMap;

/// Largest answer accepted (values are paths; the key list is short).
const MAX_RESPONSE: u64 = 1 << 20;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A guest API client bound to one socket path.
#[derive(Debug, Clone)]
pub struct GuestApi {
    socket: PathBuf,
    timeout: Duration,
}

impl GuestApi {
    /// The first guest socket that exists under `root`: LXD's, then Incus's.
    pub fn find(root: &GuestRoot, timeout: Duration) -> Option<GuestApi> {
        [LXD_SOCKET, INCUS_SOCKET]
            .iter()
            .map(|p| root.host(p))
            .find(|p| p.exists())
            .map(|socket| GuestApi::new(socket, timeout))
    }

    /// A client of `socket`.
    pub fn new(socket: impl Into<PathBuf>, timeout: Duration) -> GuestApi {
        GuestApi {
            socket: socket.into(),
            timeout,
        }
    }

    /// The socket in use.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Every `user.bosh.disk.<cid>` key: cid → value (the device path).
    pub fn disk_keys(&self) -> Result<DiskMap> {
        let list = self.get_ok("/1.0/config")?;
        let paths: Vec<String> = serde_json::from_slice(&list).with_context(|| {
            format!("{}: /1.0/config is not a list of strings", self.describe())
        })?;
        let mut keys = DiskMap::new();
        for path in paths {
            let Some(key) = path.strip_prefix("/1.0/config/") else {
                continue;
            };
            let Some(cid) = key.strip_prefix(DISK_KEY_PREFIX) else {
                continue;
            };
            let value = self.get_ok(&format!("/1.0/config/{}", encode(key)))?;
            let value = String::from_utf8(value)
                .with_context(|| format!("{}: value of {key} is not UTF-8", self.describe()))?;
            keys.insert(cid.to_string(), value.trim().to_string());
        }
        Ok(keys)
    }

    fn get_ok(&self, path: &str) -> Result<Vec<u8>> {
        let response = self.get(path)?;
        if response.status != 200 {
            bail!(
                "{}: GET {path} answered {}: {}",
                self.describe(),
                response.status,
                String::from_utf8_lossy(&response.body).trim()
            );
        }
        Ok(response.body)
    }

    /// One GET over a fresh connection.
    pub fn get(&self, path: &str) -> Result<Response> {
        self.request("GET", path, None)
    }

    /// One request over a fresh connection; `body` is sent as JSON.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Result<Response> {
        let what = || format!("{}: {method} {path}", self.describe());
        let mut stream = UnixStream::connect(&self.socket).with_context(what)?;
        stream
            .set_read_timeout(Some(self.timeout))
            .with_context(what)?;
        stream
            .set_write_timeout(Some(self.timeout))
            .with_context(what)?;
        let mut request =
            format!("{method} {path} HTTP/1.0\r\nHost: guest\r\nUser-Agent: bosh-lxd-helper\r\n");
        if let Some(body) = body {
            request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            request.push_str("\r\n");
        }
        stream.write_all(request.as_bytes()).with_context(what)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_RESPONSE)
            .read_to_end(&mut raw)
            .with_context(what)?;
        parse_response(&raw).with_context(what)
    }

    fn describe(&self) -> String {
        format!("guest API {}", self.socket.display())
    }
}

/// Split an HTTP/1.x answer into status and body (honouring Content-Length if given).
pub fn parse_response(raw: &[u8]) -> Result<Response> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!("answer has no end of headers ({} bytes)", raw.len());
    };
    let head = std::str::from_utf8(&raw[..end]).context("headers are not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1 status line: {status_line:?}");
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status code in {status_line:?}"))?;
    let mut body = raw[end + 4..].to_vec();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            let len: usize = value.trim().parse().context("bad Content-Length")?;
            if body.len() < len {
                bail!("body cut short: {} of {len} bytes", body.len());
            }
            body.truncate(len);
        }
    }
    Ok(Response { status, body })
}

/// What stays unescaped in a config key: RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode everything but unreserved characters (key names are plain already).
fn encode(key: &str) -> String {
    utf8_percent_encode(key, COMPONENT).to_string()
}

#[cfg(test)]
mod tests;
