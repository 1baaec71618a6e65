//! One request and its answer as both transports (`transport.rs`' unix socket and
//! `https.rs`) hand them to hyper: the request body ([`RequestBody`], [`file_stream`] for
//! uploads), the whole answer ([`RawResponse`]), and the plumbing between the two and
//! [`LxdError`].

use std::io;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, Stream, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::http::request;
use hyper::{Method, Request, Response, StatusCode};
use tokio::io::AsyncReadExt;

use super::error::LxdError;
use super::failure::Failure;

/// Size of the chunks read from disk for streamed uploads.
const CHUNK: usize = 256 * 1024;

/// The body of a request: nothing, bytes in memory, or a stream (uploads).
pub enum RequestBody {
    /// No body.
    Empty,
    /// A body held in memory (JSON, small files).
    Bytes(Bytes),
    /// A streamed body, e.g. an image rootfs read from disk chunk by chunk.
    Stream(UnsyncBoxBody<Bytes, io::Error>),
}

impl RequestBody {
    /// Streams `stream` as the body.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
    {
        RequestBody::Stream(StreamBody::new(stream.map(|r| r.map(Frame::data))).boxed_unsync())
    }

    pub(super) fn into_hyper(self) -> UnsyncBoxBody<Bytes, io::Error> {
        match self {
            RequestBody::Empty => Empty::new().map_err(|never| match never {}).boxed_unsync(),
            RequestBody::Bytes(b) => Full::new(b).map_err(|never| match never {}).boxed_unsync(),
            RequestBody::Stream(s) => s,
        }
    }
}

/// Reads an open file as a stream of chunks, never holding more than one chunk in memory.
pub fn file_stream(file: tokio::fs::File) -> impl Stream<Item = Result<Bytes, io::Error>> + Send {
    stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = BytesMut::with_capacity(CHUNK);
        match file.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(file))),
            // Yield the error once, then end the stream.
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// What came back: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers (`ETag`, `X-LXD-*` for files...).
    pub headers: HeaderMap,
    /// The complete body.
    pub body: Bytes,
}

/// The request LXD gets: `builder` (method, URI and any header the transport adds)
/// with the caller's `headers` and `body`. What hyper refuses in it is an invalid
/// request naming `method` and `path_and_query`.
pub(super) fn build_request(
    mut builder: request::Builder,
    method: &Method,
    path_and_query: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: RequestBody,
) -> Result<Request<UnsyncBoxBody<Bytes, io::Error>>, LxdError> {
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
        .body(body.into_hyper())
        .map_err(|e| LxdError::invalid_request(format!("{method} {path_and_query}: {e}")))
}

/// Makes a `Transport` [`LxdError`] for the request `method` `path_and_query` from a message.
pub(super) fn transport_error<'a>(
    method: &'a Method,
    path_and_query: &'a str,
) -> impl Fn(Failure) -> LxdError + 'a {
    move |failure| LxdError::transport(method.as_str(), path_and_query, &failure.to_string())
}

/// Reads the whole answer; the error is the message for [`transport_error`].
pub(super) async fn read_answer(response: Response<Incoming>) -> Result<RawResponse, Failure> {
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| Failure::ReadAnswer { chain: chain(&e) })?
        .to_bytes();
    Ok(RawResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// An error and its sources on one line: hyper's own messages are terse ("client error (Connect)").
pub(super) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
