//! One CPI call from the bytes read on stdin to the [`Response`] to write: decode the
//! envelope and arguments, apply the context's config overrides, dispatch. Every failure on
//! the way becomes an error response here, so `main` only reads, calls and writes.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use crate::actions::{self, CallContext};
use crate::config::{Config, ConfigError};
use crate::rpc::{CpiError, Envelope, Request, Response};

/// Answers one request. A config that failed to load makes every call a `CloudError`
/// naming the config problem.
pub fn handle(input: &[u8], config: Result<Config, ConfigError>) -> Response {
    Response::from_result(call(input, config))
}

fn call(input: &[u8], config: Result<Config, ConfigError>) -> Result<Value, CpiError> {
    let config = config.map_err(|e| CpiError::cloud(e.to_string()))?;
    let envelope = Envelope::parse(input)?;
    let span = tracing::info_span!(
        "cpi",
        method = %envelope.method,
        request_id = envelope.context.request_id.as_deref().unwrap_or("-"),
    );
    let _entered = span.enter();
    tracing::info!(api_version = envelope.api_version, "request");
    let request = Request::decode(&envelope.method, envelope.arguments)?;
    let config = config
        .with_context_overrides(&envelope.context.raw)
        .map_err(|e| CpiError::cloud(e.to_string()))?;
    let ctx = CallContext {
        config,
        api_version: envelope.api_version,
        context: envelope.context,
    };
    let result = execute(request, &ctx);
    match &result {
        Ok(_) => tracing::info!("done"),
        Err(err) => tracing::error!(error_type = err.bosh_type(), "{err}"),
    }
    result
}

/// Runs a decoded request. Methods that talk to LXD get a current-thread tokio runtime;
/// the others are answered without building one.
pub fn execute(request: Request, ctx: &CallContext) -> Result<Value, CpiError> {
    if request.needs_lxd() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CpiError::cloud(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(actions::dispatch(request, ctx))
    } else {
        let method = request.method();
        poll_once(actions::dispatch(request, ctx)).unwrap_or_else(|| {
            Err(CpiError::cloud(format!(
                "{method}: expected to finish without waiting, but it did not"
            )))
        })
    }
}

/// Polls a future once; `None` if it would wait. Only for futures that never touch tokio.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
