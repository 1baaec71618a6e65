//! `Client`: project-scoped requests, LXD's response envelope, ETags and async answers.
//!
//! Answers are decoded by `envelope.rs`; an `async` answer carries an operation
//! that is waited for here (many failures only show up there).

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use hyper::header::{CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_MATCH};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::envelope::{Envelope, decode_envelope};
use super::error::LxdError;
use super::operations::Operation;
use super::transport::{RawResponse, RequestBody, Transport};

/// How long an asynchronous operation may run when the caller gives no deadline.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(600);

/// An entity tag as LXD sent it (quotes included); sent back verbatim as `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(pub String);

/// Appends `project=NAME` to a path that may already carry a query; a path that already
/// names a project is left as it is.
pub(crate) fn scope_to_project(path: &str, project: &str) -> String {
    if query_value(path, "project").is_some() {
        return path.to_owned();
    }
    with_query(path, &[("project", project)])
}

/// `path` (which has no query) with `pairs` as its query, form-encoded by `url`'s
/// serializer; `path` alone when there are no pairs.
pub(crate) fn with_params<'a>(
    path: String,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let query = query.extend_pairs(pairs).finish();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// `path`, which may be a URL LXD handed out with a query of its own, with `pairs`
/// appended to that query (form-encoded; `?` or `&` as needed).
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let query = form_urlencoded::Serializer::for_suffix(query.to_owned(), 0)
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{query}")
}

/// The (decoded) value of `key` in `path`'s query, if it is there.
pub(crate) fn query_value(path: &str, key: &str) -> Option<String> {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// What stays unescaped in a path segment or query value: RFC 3986's unreserved
/// characters (letters, digits, `-`, `_`, `.`, `~`). Everything else, `/`, `?`, `#`, `%`,
/// `&`, `=` and space included, is escaped, so a name is always one segment or one value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Reverses [`encode_component`] (for names read back from LXD's URL lists); a `%` not
/// followed by two hex digits stays as it is.
pub(crate) fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The typed LXD REST client: one daemon (through a [`Transport`]), one project.
/// Cloning is cheap and shares the connection.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    project: String,
    operation_timeout: Duration,
}

impl Client {
    /// A client for `project` over `transport`. Nothing is sent yet.
    pub fn new(transport: Transport, project: impl Into<String>) -> Self {
        Client {
            transport,
            project: project.into(),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// Changes how long asynchronous operations may run when no deadline is given.
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The LXD project every call is scoped to.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The deadline for an operation started now, with the default timeout.
    pub(crate) fn default_deadline(&self) -> Instant {
        Instant::now() + self.operation_timeout
    }

    /// Sends one request scoped to the project, returning the raw answer unchecked.
    /// For downloads (files, logs) whose success body is not an envelope.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: RequestBody,
    ) -> Result<RawResponse, LxdError> {
        let scoped = scope_to_project(path, &self.project);
        tracing::debug!(%method, path = %scoped, "lxd request");
        self.transport.request(method, &scoped, headers, body).await
    }

    /// Sends one request and decodes the envelope; error answers become [`LxdError`].
    /// Returns the envelope and the `ETag` header, if any.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: RequestBody,
    ) -> Result<(Envelope, Option<ETag>), LxdError> {
        let scoped = scope_to_project(path, &self.project);
        let raw = self.raw(method.clone(), path, headers, body).await?;
        let envelope = decode_envelope(method.as_str(), &scoped, raw.status.as_u16(), &raw.body)?;
        let etag = raw
            .headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|s| ETag(s.to_owned()));
        Ok((envelope, etag))
    }

    /// GET and decode `metadata` as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, LxdError> {
        Ok(self.get_with_etag(path).await?.0)
    }

    /// GET and decode `metadata` as `T`, with the ETag for a later `If-Match` write.
    /// An object without an ETag header gets an empty one (sent as no `If-Match`).
    pub async fn get_with_etag<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, ETag), LxdError> {
        let (envelope, etag) = self
            .send(Method::GET, path, &[], RequestBody::Empty)
            .await?;
        let value = self.decode_metadata(&Method::GET, path, envelope.metadata)?;
        Ok((value, etag.unwrap_or(ETag(String::new()))))
    }

    /// Sends `body` as JSON (optionally with `If-Match`) and returns the result's
    /// `metadata`; an async answer is waited for (default deadline) and its
    /// operation's `metadata` is returned. A failed operation is an error.
    pub async fn write<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        if_match: Option<&ETag>,
    ) -> Result<Value, LxdError> {
        let deadline = self.default_deadline();
        let op = self.start(method.clone(), path, body, if_match).await?;
        match op {
            Started::Done(metadata) => Ok(metadata),
            Started::Operation(op) => self.finish(method.as_str(), path, op, deadline).await,
        }
    }

    /// Sends a request that may start an operation, without waiting for it.
    pub(crate) async fn start<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        if_match: Option<&ETag>,
    ) -> Result<Started, LxdError> {
        let mut headers = Vec::with_capacity(2);
        let body = match body {
            Some(b) => {
                let json = serde_json::to_vec(b).map_err(|e| {
                    LxdError::invalid_request(format!("{method} {path}: encoding the body: {e}"))
                })?;
                headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
                RequestBody::Bytes(Bytes::from(json))
            }
            None => RequestBody::Empty,
        };
        if let Some(tag) = if_match.filter(|t| !t.0.is_empty()) {
            let value = HeaderValue::from_str(&tag.0)
                .map_err(|e| LxdError::invalid_request(format!("ETag {:?}: {e}", tag.0)))?;
            headers.push((IF_MATCH, value));
        }
        let (envelope, _) = self.send(method.clone(), path, &headers, body).await?;
        self.started(&method, path, envelope)
    }

    /// Interprets a sync/async envelope.
    pub(crate) fn started(
        &self,
        method: &Method,
        path: &str,
        envelope: Envelope,
    ) -> Result<Started, LxdError> {
        if envelope.kind != "async" {
            return Ok(Started::Done(envelope.metadata));
        }
        let op: Operation = self.decode_metadata(method, path, envelope.metadata)?;
        Ok(Started::Operation(op))
    }

    /// Decodes `metadata` as `T`, naming the request in the error.
    pub(crate) fn decode_metadata<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        metadata: Value,
    ) -> Result<T, LxdError> {
        serde_json::from_value(metadata).map_err(|e| {
            LxdError::decode(
                method.as_str(),
                &scope_to_project(path, &self.project),
                &format!(
                    "cannot decode metadata as {}: {e}",
                    std::any::type_name::<T>()
                ),
            )
        })
    }
}

/// What a request that may be asynchronous answered.
#[derive(Debug)]
pub(crate) enum Started {
    /// A sync answer: its `metadata`.
    Done(Value),
    /// An async answer: the operation to wait for.
    Operation(Operation),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_scoping() {
        let cases = [
            ("plain", "/1.0/instances", "/1.0/instances?project=p1"),
            (
                "with query",
                "/1.0/instances?recursion=1",
                "/1.0/instances?recursion=1&project=p1",
            ),
            (
                "already scoped",
                "/1.0/instances?project=other",
                "/1.0/instances?project=other",
            ),
            (
                "file path",
                "/1.0/instances/a/files?path=%2Fetc%2Fx",
                "/1.0/instances/a/files?path=%2Fetc%2Fx&project=p1",
            ),
        ];
        for (name, path, want) in cases {
            assert_eq!(scope_to_project(path, "p1"), want, "case {name}");
        }
    }

    #[test]
    fn params_are_form_encoded() {
        let cases = [
            ("none", vec![], "/1.0/instances"),
            (
                "target",
                vec![("target", "node 2")],
                "/1.0/instances?target=node+2",
            ),
            (
                "two",
                vec![("recursion", "1"), ("path", "/a&b")],
                "/1.0/instances?recursion=1&path=%2Fa%26b",
            ),
        ];
        for (name, pairs, want) in cases {
            assert_eq!(
                with_params("/1.0/instances".into(), pairs),
                want,
                "case {name}"
            );
        }
    }

    #[test]
    fn component_encoding_round_trips() {
        for (name, raw, enc) in [
            ("plain", "vm-1234", "vm-1234"),
            ("path", "/var/vcap/bosh/x y", "%2Fvar%2Fvcap%2Fbosh%2Fx%20y"),
            ("utf8", "é", "%C3%A9"),
            ("reserved", "a?b#c%d&e=f+g", "a%3Fb%23c%25d%26e%3Df%2Bg"),
            ("unreserved", "A-z_0.9~", "A-z_0.9~"),
        ] {
            assert_eq!(encode_component(raw), enc, "case {name}");
            assert_eq!(decode_component(enc), raw, "case {name}");
        }
    }
}
