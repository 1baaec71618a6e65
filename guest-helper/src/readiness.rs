//! Readiness: once `boot` is done, tell the server through the guest API
//! (`PATCH /1.0 {"state":"Ready"}`), where it supports it.
//!
//! Incus reports an instance state in `GET /1.0` (`"state":"Started"`) and turns it into
//! `Ready` on that PATCH; LXD 5.0.2 answers `"state":""` and ignores the method, replying
//! with the GET body. So: no state in `GET /1.0` → not
//! supported, skipped quietly; else PATCH and read the state back.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::guestapi::GuestApi;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The server now reports `Ready`.
    Signalled,
    /// The server has no instance state (LXD 5.0); nothing sent.
    Unsupported,
    /// The PATCH was sent but the state reads back as this.
    NotTaken(String),
}

/// Signal readiness over `api`.
pub fn signal(api: &GuestApi) -> Result<Readiness> {
    if state(api)?.is_empty() {
        return Ok(Readiness::Unsupported);
    }
    let answer = api.request("PATCH", "/1.0", Some(r#"{"state":"Ready"}"#))?;
    if answer.status != 200 {
        bail!(
            "guest API {}: PATCH /1.0 answered {}: {}",
            api.socket().display(),
            answer.status,
            String::from_utf8_lossy(&answer.body).trim()
        );
    }
    let now = state(api)?;
    Ok(if now == "Ready" {
        Readiness::Signalled
    } else {
        Readiness::NotTaken(now)
    })
}

/// `state` of `GET /1.0`; empty when absent.
fn state(api: &GuestApi) -> Result<String> {
    let answer = api.get("/1.0")?;
    if answer.status != 200 {
        bail!(
            "guest API {}: GET /1.0 answered {}",
            api.socket().display(),
            answer.status
        );
    }
    let doc: Value = serde_json::from_slice(&answer.body)
        .with_context(|| format!("guest API {}: /1.0 is not JSON", api.socket().display()))?;
    Ok(doc
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Signal, logging the outcome; never fails `boot`.
pub fn signal_and_log(api: &GuestApi) {
    match signal(api) {
        Ok(Readiness::Signalled) => tracing::info!(
            "readiness: {} now reports the instance Ready",
            api.socket().display()
        ),
        Ok(Readiness::Unsupported) => {}
        Ok(Readiness::NotTaken(state)) => tracing::warn!(
            "readiness: sent Ready to {}, state reads {state:?}",
            api.socket().display()
        ),
        Err(e) => tracing::warn!("readiness: {e:#}"),
    }
}

#[cfg(test)]
#[path = "readiness_tests.rs"]
mod tests;
