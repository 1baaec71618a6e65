//! A lock shared by every client of the project, held as an LXD profile.
//!
//! Why: LXD's `If-Match` is not a compare-and-swap. LXD 5.0.2 checks the ETag
//! against the object it loaded when the request arrived, merges a PATCH onto
//! that snapshot, and writes the whole object later (after taking the instance
//! lock, or in a background operation for a PUT). Two writers that read the same
//! ETag can therefore both pass the check and the later one silently undoes the
//! earlier one; the tests saw this with four concurrent writers. Serialising the
//! CPI's own read-modify-writes closes that hole: creating a profile is atomic in
//! LXD's database (a second create fails with `The profile already exists`), so
//! the profile `bosh-lxd-lock.<key>` works as a mutex between CPI processes, on
//! one host or many. A lock left by a crashed process is broken once it is older
//! than [`LOCK_TTL`] (its description records when it was taken).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::Method;
use serde::Deserialize;

use super::client::Client;
use super::error::LxdError;
use super::paths::encode_component;

/// A lock older than this is taken to be left by a crashed process and broken.
pub const LOCK_TTL: Duration = Duration::from_secs(120);
/// How long [`Client::update_instance`] and friends wait for a lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);
const PREFIX: &str = "bosh-lxd-lock.";

/// A held lock; give it back with [`Client::release_lock`].
#[derive(Debug)]
#[must_use = "a lock must be released with Client::release_lock"]
pub struct ObjectLock {
    profile: String,
}

impl ObjectLock {
    /// Whether this is the lock `key`.
    pub fn is_for(&self, key: &str) -> bool {
        self.profile == profile_name(key)
    }
}

#[derive(Deserialize)]
struct LockProfile {
    #[serde(default)]
    description: String,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The profile name for `key` (`instance.vm-1`): LXD refuses `/` in names.
fn profile_name(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('/', "_"))
}

/// When the lock was taken, from `taken <secs> by pid <pid>`.
fn taken_at(description: &str) -> Option<u64> {
    description
        .strip_prefix("taken ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

impl Client {
    /// Takes the project-wide lock `key`, waiting up to `wait` for its holder.
    pub async fn acquire_lock(&self, key: &str, wait: Duration) -> Result<ObjectLock, LxdError> {
        let profile = profile_name(key);
        let body = serde_json::json!({
            "name": profile,
            "description": format!("taken {} by pid {}", now_secs(), std::process::id()),
        });
        let deadline = Instant::now() + wait;
        let mut delay = Duration::from_millis(20);
        loop {
            match self
                .write(Method::POST, "/1.0/profiles", Some(&body), None)
                .await
            {
                Ok(_) => return Ok(ObjectLock { profile }),
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e),
            }
            self.break_if_stale(&profile).await?;
            if Instant::now() >= deadline {
                return Err(LxdError::busy(
                    "POST",
                    "/1.0/profiles",
                    &format!("lock {profile} still held after {wait:?}"),
                ));
            }
            tracing::debug!(lock = %profile, "waiting for lock");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }

    /// Gives a lock back. A lock that is already gone (broken as stale) is fine.
    pub async fn release_lock(&self, lock: ObjectLock) -> Result<(), LxdError> {
        let path = format!("/1.0/profiles/{}", encode_component(&lock.profile));
        match self.write::<()>(Method::DELETE, &path, None, None).await {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }

    /// Runs `work` while holding lock `key`, and releases it afterwards whatever `work` did.
    pub(crate) async fn with_lock<T, E, F>(&self, key: &str, work: F) -> Result<T, E>
    where
        E: From<LxdError>,
        F: AsyncFnOnce() -> Result<T, E>,
    {
        let lock = self.acquire_lock(key, LOCK_WAIT).await?;
        let out = work().await;
        if let Err(e) = self.release_lock(lock).await {
            // The lock expires after LOCK_TTL; the work itself is done.
            tracing::warn!(lock = key, error = %e, "could not release lock");
        }
        out
    }

    async fn break_if_stale(&self, profile: &str) -> Result<(), LxdError> {
        let path = format!("/1.0/profiles/{}", encode_component(profile));
        let held: LockProfile = match self.get(&path).await {
            Ok(p) => p,
            // Released meanwhile: the next create will tell.
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let age = taken_at(&held.description).map(|t| now_secs().saturating_sub(t));
        if age.is_some_and(|a| a > LOCK_TTL.as_secs()) {
            tracing::warn!(lock = profile, description = %held.description, "breaking stale lock");
            match self.write::<()>(Method::DELETE, &path, None, None).await {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_and_ages() {
        assert_eq!(profile_name("instance.vm-1"), "bosh-lxd-lock.instance.vm-1");
        assert_eq!(profile_name("volume.a/b"), "bosh-lxd-lock.volume.a_b");
        let cases = [
            ("ours", "taken 1700000000 by pid 42", Some(1_700_000_000)),
            ("foreign", "someone's profile", None),
            ("garbage number", "taken soon by pid 1", None),
        ];
        for (name, description, want) in cases {
            assert_eq!(taken_at(description), want, "case {name}");
        }
    }
}
