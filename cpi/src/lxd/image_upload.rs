//! Split image upload: `POST /1.0/images` with a multipart body of `metadata` and `rootfs`.
//!
//! LXD accepts a split image as `multipart/form-data` with the metadata tarball
//! in a part named `metadata` first and the rootfs tarball in a part named
//! `rootfs` (what `lxc image import META ROOTFS` sends). The image fingerprint is
//! the SHA-256 of both files concatenated. The rootfs (a stemcell image: hundreds
//! of MB) is streamed from disk chunk by chunk; only the small metadata tarball
//! is held in memory. Properties travel in a header as a URL-encoded query string.
//! The fingerprint is also computed here while the bytes go out: Incus fails the upload
//! of an image it already has without naming its fingerprint.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::stream::{self, StreamExt};
use hyper::Method;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use super::client::{Client, Started};
use super::error::LxdError;
use super::wire::{RequestBody, file_stream};

/// What goes into `metadata.yaml` of a split image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageMetadata {
    /// Architecture, e.g. `x86_64`.
    pub architecture: String,
    /// Seconds since the epoch. Part of the fingerprint: the same value gives the same image.
    pub creation_date: i64,
    /// Properties (`os`, `description`...).
    pub properties: BTreeMap<String, String>,
}

impl ImageMetadata {
    /// `metadata.yaml`. Every scalar is written as a JSON string, which is also a
    /// valid double-quoted YAML scalar, so no value can break the document.
    pub fn to_yaml(&self) -> String {
        let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let mut y = format!(
            "architecture: {}\ncreation_date: {}\n",
            q(&self.architecture),
            self.creation_date
        );
        if !self.properties.is_empty() {
            y.push_str("properties:\n");
            for (k, v) in &self.properties {
                y.push_str(&format!("  {}: {}\n", q(k), q(v)));
            }
        }
        y
    }

    /// The metadata tarball (`metadata.yaml` only, gzip), built in memory. Deterministic:
    /// the same metadata gives the same bytes (the entry's mtime is `creation_date`).
    pub fn tarball(&self) -> Result<Bytes, LxdError> {
        let yaml = self.to_yaml();
        let fail = |e: std::io::Error| {
            LxdError::invalid_request(format!("building metadata tarball: {e}"))
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(yaml.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(u64::try_from(self.creation_date).unwrap_or(0));
        header.set_entry_type(tar::EntryType::Regular);
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
        builder
            .append_data(&mut header, "metadata.yaml", yaml.as_bytes())
            .map_err(fail)?;
        let mut gz = builder.into_inner().map_err(fail)?;
        gz.flush().map_err(fail)?;
        Ok(Bytes::from(gz.finish().map_err(fail)?))
    }
}

/// The result of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUpload {
    /// Fingerprint of the image in LXD.
    pub fingerprint: String,
    /// False when LXD already had an image with this fingerprint (nothing was stored;
    /// its aliases and properties are unchanged).
    pub created: bool,
}

#[derive(Deserialize)]
struct UploadMetadata {
    #[serde(default)]
    fingerprint: String,
}

/// The multipart framing around the two files: (head up to the rootfs bytes, tail).
fn multipart_frame(boundary: &str, metadata: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let part = |name: &str, filename: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
    };
    let mut head = part("metadata", "metadata.tar.gz").into_bytes();
    head.extend_from_slice(metadata);
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(part("rootfs", "rootfs.tar.gz").as_bytes());
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    (head, tail)
}

/// `k1=v1&k2=v2`, form-encoded by `url`'s serializer, as LXD and Incus parse the
/// properties header (Go's `url.ParseQuery`, which reads `+` as a space).
fn encode_properties(properties: &BTreeMap<String, String>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(properties)
        .finish()
}

fn header(name: &'static str, value: &str) -> Result<(HeaderName, HeaderValue), LxdError> {
    let value = HeaderValue::from_str(value)
        .map_err(|e| LxdError::invalid_request(format!("header {name}: {e}")))?;
    Ok((HeaderName::from_static(name), value))
}

impl Client {
    /// Uploads a split image: `metadata` (a small tarball, see [`ImageMetadata::tarball`])
    /// and the rootfs tarball at `rootfs`, streamed from disk. `properties` are stored
    /// on the image (merged over those of `metadata.yaml`). Uploading an image LXD
    /// already has is not an error: the answer says `created: false`.
    pub async fn upload_split_image(
        &self,
        metadata: Bytes,
        rootfs: &Path,
        properties: &BTreeMap<String, String>,
    ) -> Result<ImageUpload, LxdError> {
        let open_err = |e: std::io::Error| {
            LxdError::invalid_request(format!("image rootfs {}: {e}", rootfs.display()))
        };
        let file = tokio::fs::File::open(rootfs).await.map_err(open_err)?;
        let rootfs_len = file.metadata().await.map_err(open_err)?.len();
        let boundary = format!("bosh-lxd-{}", uuid::Uuid::new_v4().simple());
        let (head, tail) = multipart_frame(&boundary, &metadata);
        let total = head.len() as u64 + rootfs_len + tail.len() as u64;
        let digest = Fingerprint::new(&metadata);
        let hashing = digest.clone();
        let body = stream::once(async move { Ok(Bytes::from(head)) })
            .chain(file_stream(file).inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    hashing.update(bytes);
                }
            }))
            .chain(stream::once(async move { Ok(Bytes::from(tail)) }));
        let headers = upload_headers(&boundary, total, properties)?;
        tracing::info!(rootfs = %rootfs.display(), bytes = total, "uploading split image");

        let deadline = self.default_deadline();
        let (envelope, _) = self
            .send(
                Method::POST,
                IMAGES,
                &headers,
                RequestBody::from_stream(body),
            )
            .await?;
        let op = match self.started(&Method::POST, IMAGES, envelope)? {
            Started::Operation(op) => op,
            Started::Done(metadata) => {
                let m: UploadMetadata = self.decode_metadata(&Method::POST, IMAGES, metadata)?;
                return Ok(ImageUpload {
                    fingerprint: m.fingerprint,
                    created: true,
                });
            }
        };
        let known = || digest.finish(rootfs_len);
        self.finish_upload(&op.id, deadline, known).await
    }

    /// Waits for the upload operation `id` and reads the image's fingerprint from it. An
    /// image LXD already has is `created: false`, with the fingerprint LXD reports or,
    /// when it reports none, `known()`: the one computed while the bytes went out.
    async fn finish_upload(
        &self,
        id: &str,
        deadline: std::time::Instant,
        known: impl FnOnce() -> Option<String>,
    ) -> Result<ImageUpload, LxdError> {
        let existing = |fingerprint| ImageUpload {
            fingerprint,
            created: false,
        };
        let done = match self.wait_operation(id, deadline).await {
            Ok(done) => done,
            // Incus answers the wait of a duplicate upload with a bare error.
            Err(e) if e.is_already_exists() => return known().map(existing).ok_or(e),
            Err(e) => return Err(e),
        };
        // A failed upload may carry no metadata at all (seen when two uploads of the same
        // image race): decode leniently so that the operation's own error is reported.
        let m: UploadMetadata = match done.metadata.clone() {
            Value::Null => UploadMetadata {
                fingerprint: String::new(),
            },
            other => self.decode_metadata(&Method::POST, IMAGES, other)?,
        };
        if done.succeeded() {
            return Ok(ImageUpload {
                fingerprint: m.fingerprint,
                created: true,
            });
        }
        let err = LxdError::from_operation("POST", IMAGES, &done.id, &done.err);
        // LXD fails the upload of a known image but still reports its fingerprint
        // in the operation metadata (verified on 5.0.2), so the caller can alias it.
        if err.is_already_exists() {
            let reported = Some(m.fingerprint).filter(|f| !f.is_empty());
            if let Some(fingerprint) = reported.or_else(known) {
                return Ok(existing(fingerprint));
            }
        }
        Err(err)
    }
}

/// Where split images are uploaded.
const IMAGES: &str = "/1.0/images";

/// The upload's headers: the multipart type, the exact length (hyper then refuses to
/// send a body that grew or shrank) and the image properties, if any.
fn upload_headers(
    boundary: &str,
    total: u64,
    properties: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, LxdError> {
    let content_type = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
        .map_err(|e| LxdError::invalid_request(format!("content type: {e}")))?;
    let mut headers = vec![
        (CONTENT_TYPE, content_type),
        (CONTENT_LENGTH, HeaderValue::from(total)),
    ];
    if !properties.is_empty() {
        let encoded = encode_properties(properties);
        // LXD reads `X-LXD-*` headers and Incus the same names as `X-Incus-*`; each
        // ignores the other's, so both are sent rather than asking the server which one
        // it is first.
        headers.push(header("x-lxd-properties", &encoded)?);
        headers.push(header("x-incus-properties", &encoded)?);
    }
    Ok(headers)
}

/// SHA-256 of the metadata tarball and the rootfs as they are streamed: the image's
/// fingerprint, shared between the body stream and the caller.
#[derive(Clone)]
struct Fingerprint(Arc<Mutex<(ring::digest::Context, u64)>>);

impl Fingerprint {
    fn new(metadata: &[u8]) -> Fingerprint {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(metadata);
        Fingerprint(Arc::new(Mutex::new((ctx, 0))))
    }

    fn update(&self, rootfs_chunk: &[u8]) {
        if let Ok(mut state) = self.0.lock() {
            state.0.update(rootfs_chunk);
            state.1 += rootfs_chunk.len() as u64;
        }
    }

    /// The hex fingerprint, once exactly `rootfs_len` rootfs bytes went through.
    fn finish(&self, rootfs_len: u64) -> Option<String> {
        let state = self.0.lock().ok()?;
        if state.1 != rootfs_len {
            return None;
        }
        let digest = state.0.clone().finish();
        Some(digest.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_sha256_of_metadata_then_rootfs() {
        let f = Fingerprint::new(b"a");
        f.update(b"b");
        assert_eq!(
            f.finish(2),
            None,
            "two rootfs bytes were announced, one went"
        );
        f.update(b"c");
        assert_eq!(
            f.finish(2).as_deref(),
            // sha256("abc")
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn yaml_quotes_every_scalar() {
        let meta = ImageMetadata {
            architecture: "x86_64".to_owned(),
            creation_date: 1_700_000_000,
            properties: BTreeMap::from([
                ("os".to_owned(), "busybox".to_owned()),
                ("description".to_owned(), "a: b\n\"c\"".to_owned()),
            ]),
        };
        let want = "architecture: \"x86_64\"\ncreation_date: 1700000000\nproperties:\n  \
                    \"description\": \"a: b\\n\\\"c\\\"\"\n  \"os\": \"busybox\"\n";
        assert_eq!(meta.to_yaml(), want);
    }

    #[test]
    fn tarball_is_deterministic_and_readable() {
        let meta = ImageMetadata {
            architecture: "x86_64".to_owned(),
            creation_date: 1,
            properties: BTreeMap::new(),
        };
        let (a, b) = match (meta.tarball(), meta.tarball()) {
            (Ok(a), Ok(b)) => (a, b),
            other => panic!("tarball: {other:?}"),
        };
        assert_eq!(a, b, "same metadata, same bytes (same fingerprint)");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&a[..]));
        let names: Vec<String> = match archive.entries() {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|e| e.path().ok().map(|p| p.display().to_string()))
                .collect(),
            Err(e) => panic!("entries: {e}"),
        };
        assert_eq!(names, vec!["metadata.yaml"]);
    }

    #[test]
    fn multipart_frame_shape() {
        let (head, tail) = multipart_frame("B", b"META");
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("--B\r\nContent-Disposition: form-data; name=\"metadata\""),
            "{head}"
        );
        assert!(head.contains("\r\n\r\nMETA\r\n--B\r\n"), "{head}");
        assert!(head.ends_with("name=\"rootfs\"; filename=\"rootfs.tar.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n"), "{head}");
        assert_eq!(tail, b"\r\n--B--\r\n");
    }

    #[test]
    fn properties_header_encoding() {
        let props = BTreeMap::from([
            ("bosh_lxd_helper_version".to_owned(), "1.2".to_owned()),
            ("name".to_owned(), "bosh-warden boshlite&x=y".to_owned()),
        ]);
        assert_eq!(
            encode_properties(&props),
            "bosh_lxd_helper_version=1.2&name=bosh-warden+boshlite%26x%3Dy"
        );
    }
}
