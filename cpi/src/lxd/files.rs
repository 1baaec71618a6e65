//! Files in an instance (`/1.0/instances/<name>/files?path=...`): push, make directories, pull.
//!
//! Ownership and mode travel in headers (`X-LXD-uid`, `X-LXD-gid`, `X-LXD-mode`,
//! `X-LXD-type`; Incus spells them `X-Incus-*`). The body must be sent as
//! `application/octet-stream`: with a form content type LXD answered 200 and
//! wrote an empty file. Parent directories must exist. Works on running and
//! stopped instances.

use bytes::Bytes;
use hyper::Method;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::client::Client;
use super::envelope::decode_envelope;
use super::error::LxdError;
use super::paths::{instance_path, scope_to_project, with_params};
use super::wire::RequestBody;

/// Owner and permissions of a pushed file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode {
    /// Owner uid inside the guest.
    pub uid: u32,
    /// Owner gid inside the guest.
    pub gid: u32,
    /// Permission bits, e.g. `0o600`.
    pub mode: u32,
}

impl FileMode {
    /// root:root with `mode`.
    pub fn root(mode: u32) -> Self {
        FileMode {
            uid: 0,
            gid: 0,
            mode,
        }
    }
}

/// A file read from an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContents {
    /// The bytes (for a directory: LXD's JSON list of entries).
    pub data: Bytes,
    /// `file`, `directory` or `symlink`.
    pub file_type: String,
    /// Owner and mode as LXD reported them (absent headers read as 0).
    pub mode: FileMode,
}

fn files_path(instance: &str, path: &str) -> String {
    with_params(
        format!("{}/files", instance_path(instance)),
        [("path", path)],
    )
}

/// The file headers in both spellings: LXD reads `X-LXD-*`, Incus `X-Incus-*`, and
/// each ignores the other's, so sending both needs no round trip to ask which it is.
fn file_headers(kind: &str, mode: FileMode) -> Result<Vec<(HeaderName, HeaderValue)>, LxdError> {
    let values = [
        ("type", kind.to_owned()),
        ("uid", mode.uid.to_string()),
        ("gid", mode.gid.to_string()),
        ("mode", format!("{:04o}", mode.mode)),
    ];
    let mut out = Vec::with_capacity(values.len() * 2);
    for prefix in ["x-lxd-", "x-incus-"] {
        for (key, value) in &values {
            let name = HeaderName::from_bytes(format!("{prefix}{key}").as_bytes())
                .map_err(|e| LxdError::invalid_request(format!("header {prefix}{key}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| LxdError::invalid_request(format!("header {prefix}{key}: {e}")))?;
            out.push((name, value));
        }
    }
    Ok(out)
}

/// Reads `X-LXD-<key>` or `X-Incus-<key>`.
fn file_header<'h>(headers: &'h HeaderMap, key: &str) -> Option<&'h str> {
    ["x-lxd-", "x-incus-"]
        .iter()
        .find_map(|p| headers.get(format!("{p}{key}").as_str()))
        .and_then(|v| v.to_str().ok())
}

impl Client {
    /// Writes `data` to `path` in the instance (created or replaced) with owner and mode.
    pub async fn push_file(
        &self,
        instance: &str,
        path: &str,
        data: Bytes,
        mode: FileMode,
    ) -> Result<(), LxdError> {
        let mut headers = file_headers("file", mode)?;
        headers.push((
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ));
        let req = files_path(instance, path);
        self.send(Method::POST, &req, &headers, RequestBody::Bytes(data))
            .await
            .map(drop)
    }

    /// Creates directory `path` in the instance (its parent must exist).
    pub async fn create_directory(
        &self,
        instance: &str,
        path: &str,
        mode: FileMode,
    ) -> Result<(), LxdError> {
        let mut headers = file_headers("directory", mode)?;
        headers.push((
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ));
        let req = files_path(instance, path);
        self.send(Method::POST, &req, &headers, RequestBody::Empty)
            .await
            .map(drop)
    }

    /// Reads `path` from the instance. A missing file is [`super::LxdErrorKind::NotFound`].
    pub async fn pull_file(&self, instance: &str, path: &str) -> Result<FileContents, LxdError> {
        let req = files_path(instance, path);
        let raw = self.raw(Method::GET, &req, &[], RequestBody::Empty).await?;
        if !raw.status.is_success() {
            let scoped = scope_to_project(&req, self.project());
            // Error answers are envelopes; decoding one always yields the error.
            decode_envelope("GET", &scoped, raw.status.as_u16(), &raw.body)?;
            return Err(LxdError::from_status(
                "GET",
                &scoped,
                raw.status.as_u16(),
                "file download failed",
            ));
        }
        let num = |key: &str, radix: u32| {
            file_header(&raw.headers, key)
                .and_then(|v| u32::from_str_radix(v, radix).ok())
                .unwrap_or(0)
        };
        let mode = FileMode {
            uid: num("uid", 10),
            gid: num("gid", 10),
            mode: num("mode", 8),
        };
        let file_type = file_header(&raw.headers, "type")
            .unwrap_or("file")
            .to_owned();
        Ok(FileContents {
            data: raw.body,
            file_type,
            mode,
        })
    }

    /// Deletes `path` in the instance (a file or an empty directory).
    pub async fn delete_file(&self, instance: &str, path: &str) -> Result<(), LxdError> {
        let req = files_path(instance, path);
        self.send(Method::DELETE, &req, &[], RequestBody::Empty)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_both_spellings() {
        let headers = match file_headers(
            "file",
            FileMode {
                uid: 1000,
                gid: 1001,
                mode: 0o600,
            },
        ) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        };
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.as_str() == n)
                .and_then(|(_, v)| v.to_str().ok())
        };
        for (name, want) in [
            ("x-lxd-type", "file"),
            ("x-lxd-uid", "1000"),
            ("x-lxd-gid", "1001"),
            ("x-lxd-mode", "0600"),
            ("x-incus-mode", "0600"),
            ("x-incus-type", "file"),
        ] {
            assert_eq!(get(name), Some(want), "header {name}");
        }
    }

    #[test]
    fn files_path_encodes_the_guest_path() {
        assert_eq!(
            files_path("vm-1", "/var/vcap/bosh/warden-cpi-agent-env.json"),
            "/1.0/instances/vm-1/files?path=%2Fvar%2Fvcap%2Fbosh%2Fwarden-cpi-agent-env.json"
        );
    }
}
