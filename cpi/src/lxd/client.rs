//! `Client`: project-scoped requests, LXD's response envelope, ETags and async answers.
//!
//! Answers are decoded by `envelope.rs`; an `async` answer carries an operation
//! that is waited for here (many failures only show up there).

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use hyper::header::{CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_MATCH};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::envelope::{Envelope, Operation, decode_envelope};
use super::error::LxdError;
use super::paths::scope_to_project;
use super::transport::Transport;
use super::wire::{RawResponse, RequestBody};

/// How long an asynchronous operation may run when the caller gives no deadline.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(600);

/// An entity tag as LXD sent it (quotes included); sent back verbatim as `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(pub String);

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
