//! Instance steps shared by several actions: stop at once, remove, and wait until an
//! instance runs. Each tolerates the state it wants already being there ("already
//! stopped", "not found"), because the director repeats calls and processes race.

use std::time::{Duration, Instant};

use super::errors::StepError;
use crate::lxd::{Client, LxdError, LxdErrorKind, NotFoundExt};

/// How long a forced stop may take before it counts as failed.
const FORCE_STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a busy instance is asked again before giving up.
const BUSY_ATTEMPTS: u32 = 5;
/// How long [`wait_running`] waits for an instance that LXD has started.
pub const RUNNING_TIMEOUT: Duration = Duration::from_secs(60);

/// Stops the instance at once unless it is already stopped. `Ok(false)` if it is gone.
pub async fn force_stop(client: &Client, name: &str) -> Result<bool, LxdError> {
    let Some(state) = client.instance_state(name).await.optional()? else {
        return Ok(false);
    };
    if state.status_code == 102 || state.status == "Stopped" {
        return Ok(true);
    }
    match client.stop_instance(name, true, FORCE_STOP_TIMEOUT).await {
        Ok(()) => Ok(true),
        // It stopped meanwhile (LXD answers inside the operation).
        Err(e) if e.kind() == &LxdErrorKind::AlreadyInState => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Stops (forced) and deletes the instance; a missing instance is fine. Custom volumes
/// attached to it are detached by LXD, never deleted. Busy answers are retried briefly.
pub async fn remove_instance(client: &Client, name: &str) -> Result<(), LxdError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            if !force_stop(client, name).await? {
                return Ok(());
            }
            client.delete_instance(name).await.optional().map(drop)
        }
        .await;
        match result {
            Err(e)
                if attempt < BUSY_ATTEMPTS
                    && (e.is_retryable_conflict()
                        || e.kind() == &LxdErrorKind::InstanceRunning) =>
            {
                tracing::info!(instance = name, attempt, error = %e, "instance busy, retrying removal");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// Polls the instance until it runs (`Running`, or Incus' `Ready`), for at most `timeout`.
/// An instance that stays stopped (its init exited) or disappears is an error.
pub async fn wait_running(client: &Client, name: &str, timeout: Duration) -> Result<(), StepError> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match client.instance_state(name).await {
            Ok(state) if state.is_running() => return Ok(()),
            Ok(state) => format!("status {} ({})", state.status, state.status_code),
            Err(e) if e.is_not_found() => {
                return Err(StepError::Disappeared {
                    name: name.to_owned(),
                });
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(StepError::NotRunning {
                name: name.to_owned(),
                waited: timeout,
                last,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
