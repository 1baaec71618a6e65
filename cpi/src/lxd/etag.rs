//! ETag read-modify-write: GET, edit, write back with `If-Match`, retry on 412 and busy.
//!
//! Two CPI processes may edit the same instance at once (an `attach_disk` and a
//! `set_vm_metadata`); neither may lose the other's device or key. LXD answers a
//! write whose `If-Match` no longer matches with 412, and a write while another
//! operation holds the instance with a "busy" 500; both mean "read again, redo
//! the edit, try again". The ETag also changes on every start (volatile keys), so
//! the GET is always redone right before the write.

use std::time::Duration;

use hyper::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{Client, ETag};
use super::error::LxdError;
use super::patch::merge_patch;

/// What an edit may do to the object, which decides how it is written: callers say
/// what they mean, the client picks the HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The edit may remove entries (a device, a config key): the whole object is
    /// written (PUT). For instances LXD runs it as an operation, which this client
    /// waits for.
    Replace,
    /// The edit only adds or changes entries: only what changed is written (PATCH,
    /// synchronous). LXD merges `config` and `devices` key by key, so a merge can never
    /// remove: an edit that removes something is refused before anything is sent.
    Merge,
}

impl Edit {
    /// The HTTP method of the write.
    pub(crate) fn http(self) -> Method {
        match self {
            Edit::Replace => Method::PUT,
            Edit::Merge => Method::PATCH,
        }
    }
}

/// How often and how patiently a conflicting write is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total (the first one included).
    pub attempts: u32,
    /// Backoff before the second attempt; doubled each time, with jitter.
    pub base_delay: Duration,
    /// Upper bound of one backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(800),
        }
    }
}

impl RetryPolicy {
    /// Backoff after failed attempt number `n` (1-based): exponential, capped,
    /// with ±50 % jitter so that two racing processes do not retry in lockstep.
    fn delay(&self, n: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1 << n.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // uuid v4 is already a dependency and draws from the OS RNG.
        let roll = uuid::Uuid::new_v4().as_u128() % 1000;
        let permille = u32::try_from(roll).unwrap_or(500) + 500; // 500..1500
        capped.saturating_mul(permille) / 1000
    }
}

/// An LXD object that is edited by read-modify-write.
pub(crate) trait Editable {
    /// The writable fields as JSON: what a PUT sends and a PATCH is computed from.
    fn put_view(&self) -> Value;
}

/// What one round of [`edit_with_etag`] did.
enum Round<T, E> {
    /// The edit changed nothing: the object already is as wanted.
    Unchanged(T),
    /// The edit was written.
    Written(T),
    /// The edit refused (the caller's error).
    Refused(E),
}

/// GET, `edit`, write back with `If-Match`, then GET again to check that the edit
/// stuck, starting over on a stale ETag, a busy answer or a lost edit.
///
/// The check is needed because LXD's `If-Match` is not a true compare-and-swap:
/// LXD 5.0.2 compares the ETag when a request arrives but applies the write later
/// (a PUT in a background operation, a PATCH after taking the instance lock), so
/// two writers that both read the same ETag can both pass, and the later one
/// overwrites the earlier one (seen with concurrent PATCH and PUT in the tests).
/// Re-reading and re-applying the edit until it changes nothing makes each writer
/// see its own change in place before it returns. `edit` must therefore describe a
/// state ("key K is V", "device D is absent"), not a step; it may run several times.
/// The value returned is the one `edit` gave on the round that wrote (or on the
/// only round, when nothing needed writing).
pub(crate) async fn edit_with_etag<O, T, E, F, R, W>(
    what: &str,
    how: Edit,
    policy: RetryPolicy,
    mut read: R,
    mut write: W,
    mut edit: F,
) -> Result<T, E>
where
    O: Editable,
    E: From<LxdError>,
    F: FnMut(&mut O) -> Result<T, E>,
    R: AsyncFnMut() -> Result<(O, ETag), LxdError>,
    W: AsyncFnMut(O, Value, ETag) -> Result<(), LxdError>,
{
    let mut written: Option<T> = None;
    // Conflicts and lost edits share one budget; one more round checks the last write.
    let mut failures = 0;
    loop {
        let round = async {
            let (mut object, etag) = read().await?;
            let before = object.put_view();
            let out = match edit(&mut object) {
                Ok(out) => out,
                Err(e) => return Ok(Round::Refused(e)),
            };
            let after = object.put_view();
            if before == after {
                return Ok(Round::Unchanged(out));
            }
            let body = match how {
                Edit::Replace => after,
                Edit::Merge => merge_patch(&before, &after)
                    .map_err(|m| LxdError::invalid_request(format!("{what}: {m}")))?,
            };
            write(object, body, etag).await?;
            Ok::<_, LxdError>(Round::Written(out))
        };
        let error = match round.await {
            Ok(Round::Unchanged(out)) => return Ok(written.unwrap_or(out)),
            Ok(Round::Refused(e)) => return Err(e),
            Ok(Round::Written(out)) if written.is_none() => {
                written = Some(out);
                continue;
            }
            Ok(Round::Written(out)) => {
                written = Some(out);
                LxdError::busy("GET", what, "a concurrent writer overwrote this edit")
            }
            Err(e) if e.is_retryable_conflict() => e,
            Err(e) => return Err(e.into()),
        };
        failures += 1;
        if failures >= policy.attempts {
            return Err(error.into());
        }
        let delay = policy.delay(failures);
        tracing::info!(
            target_object = what,
            attempt = failures,
            of = policy.attempts,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "concurrent change, retrying read-modify-write"
        );
        tokio::time::sleep(delay).await;
    }
}

impl Client {
    /// [`edit_with_etag`] on the object at `path`, named `what` in messages: each round
    /// GETs it with its ETag (`first`, when given, stands in for the first GET) and a
    /// changed object is written back to `path` with `how` and `If-Match`. Take the
    /// object's lock around it (see [`Client::with_lock`]).
    pub(crate) async fn edit_at<O, T, E, F>(
        &self,
        path: &str,
        what: &str,
        how: Edit,
        policy: RetryPolicy,
        mut first: Option<(O, ETag)>,
        edit: F,
    ) -> Result<T, E>
    where
        O: Editable + DeserializeOwned,
        E: From<LxdError>,
        F: FnMut(&mut O) -> Result<T, E>,
    {
        let read = async || match first.take() {
            Some(known) => Ok(known),
            None => self.get_with_etag(path).await,
        };
        let write = async |_object: O, body: Value, etag: ETag| {
            self.write(how.http(), path, Some(&body), Some(&etag))
                .await
                .map(drop)
        };
        edit_with_etag(what, how, policy, read, write, edit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let p = RetryPolicy::default();
        for n in 1..=12 {
            let d = p.delay(n);
            assert!(d <= p.max_delay.saturating_mul(3) / 2, "attempt {n}: {d:?}");
            assert!(d >= p.base_delay / 2, "attempt {n}: {d:?}");
        }
    }

    /// A fake object: a string map whose ETag is a version number.
    #[derive(Clone)]
    struct Fake(BTreeMap<String, String>);

    impl Editable for Fake {
        fn put_view(&self) -> Value {
            serde_json::to_value(&self.0).unwrap_or_default()
        }
    }

    /// One scripted edit: how LXD answers the writes and what the edit should end in.
    struct Case {
        name: &'static str,
        /// Statuses of the first write answers (then success).
        failures: Vec<u16>,
        /// How many successful writes a concurrent writer undoes right after.
        clobbered: u32,
        start_with_key: bool,
        want_ok: bool,
        want_writes: u32,
    }

    /// Runs `c`'s edit (set `k=v`) against a fake object: what it returned, how many
    /// writes it sent, and `k` afterwards.
    async fn run_case(c: &Case) -> (Result<&'static str, LxdError>, u32, Option<String>) {
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let mut start = BTreeMap::new();
        if c.start_with_key {
            start.insert("k".to_owned(), "v".to_owned());
        }
        let state = RefCell::new((Fake(start), 0u32));
        let (writes, failures, clobbered) = (
            Cell::new(0u32),
            RefCell::new(c.failures.clone()),
            Cell::new(0),
        );
        let read = async || {
            let s = state.borrow();
            Ok((s.0.clone(), ETag(s.1.to_string())))
        };
        let write = async |obj: Fake, _body: Value, _etag: ETag| {
            writes.set(writes.get() + 1);
            if !failures.borrow().is_empty() {
                let status = failures.borrow_mut().remove(0);
                return Err(LxdError::from_status("PUT", "/x", status, "e"));
            }
            let mut s = state.borrow_mut();
            if clobbered.get() < c.clobbered {
                // Another writer's stale PUT lands right after ours.
                clobbered.set(clobbered.get() + 1);
                s.1 += 2;
                return Ok(());
            }
            *s = (obj, s.1 + 1);
            Ok(())
        };
        let edit = |f: &mut Fake| {
            f.0.insert("k".to_owned(), "v".to_owned());
            Ok::<&str, LxdError>("done")
        };
        let got = edit_with_etag("t", Edit::Replace, policy, read, write, edit).await;
        let key = state.borrow().0.0.get("k").cloned();
        (got, writes.get(), key)
    }

    #[tokio::test]
    async fn edit_with_etag_cases() {
        let case =
            |name, failures: Vec<u16>, clobbered, start_with_key, want_ok, want_writes| Case {
                name,
                failures,
                clobbered,
                start_with_key,
                want_ok,
                want_writes,
            };
        let cases = [
            case("first try", vec![], 0, false, true, 1),
            case("412 recovers", vec![412, 412], 0, false, true, 3),
            case("busy recovers", vec![503], 0, false, true, 2),
            case("412 forever gives up", vec![412; 9], 0, false, false, 3),
            case("404 not retried", vec![404], 0, false, false, 1),
            case("lost edit is rewritten", vec![], 1, false, true, 2),
            case("always lost gives up", vec![], 99, false, false, 4),
            case("already there writes nothing", vec![], 0, true, true, 0),
        ];
        for c in cases {
            let (got, writes, key) = run_case(&c).await;
            assert_eq!(got.is_ok(), c.want_ok, "case {}: {got:?}", c.name);
            assert_eq!(writes, c.want_writes, "case {}: writes", c.name);
            if c.want_ok {
                assert_eq!(key.as_deref(), Some("v"), "case {}", c.name);
            }
        }
    }

    #[tokio::test]
    async fn edit_refusal_writes_nothing() {
        let writes = Cell::new(0);
        let read = async || Ok((Fake(BTreeMap::new()), ETag(String::new())));
        let write = async |_: Fake, _: Value, _: ETag| {
            writes.set(writes.get() + 1);
            Ok(())
        };
        /// A caller's own error type, as actions will have.
        #[derive(Debug, PartialEq)]
        enum CallerError {
            Lxd(String),
            Refused,
        }
        impl From<LxdError> for CallerError {
            fn from(e: LxdError) -> Self {
                CallerError::Lxd(e.to_string())
            }
        }
        let edit = |_: &mut Fake| Err::<(), CallerError>(CallerError::Refused);
        let got = edit_with_etag("t", Edit::Merge, RetryPolicy::default(), read, write, edit).await;
        assert_eq!(got, Err(CallerError::Refused));
        assert_eq!(writes.get(), 0);
    }
}
