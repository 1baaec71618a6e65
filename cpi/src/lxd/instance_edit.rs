//! Read-modify-write of an instance under the project-wide lock `instance.<name>`:
//! [`Client::update_instance`] takes the lock for one edit; a caller that must keep other
//! work (the agent settings file) consistent with the edit takes the lock itself with
//! [`Client::lock_instance`] and edits with [`Client::update_instance_locked`].

use super::client::{Client, ETag};
use super::error::LxdError;
use super::etag::{Edit, RetryPolicy};
use super::instances::Instance;
use super::lock::{LOCK_WAIT, ObjectLock};
use super::paths::instance_path;

/// The name of the lock every CPI writer of instance `name` holds.
pub fn instance_lock_key(name: &str) -> String {
    format!("instance.{name}")
}

impl Client {
    /// Under the project-wide lock `instance.<name>` (see [`Client::acquire_lock`]):
    /// GETs the instance, applies `edit`, writes the result back with `If-Match`
    /// (as [`Edit`] says), then GETs again to check that the edit is in place; starts
    /// over on a stale ETag, a busy answer or an edit lost to a concurrent writer,
    /// at most [`RetryPolicy::default`]'s attempts. `edit` describes the wanted state
    /// and may run several times; its error aborts at once. When `edit` changes
    /// nothing, nothing is written; a changed name is never written (the name is the
    /// address, not part of what PUT and PATCH send). Returns what `edit` returned on
    /// the round that wrote.
    pub async fn update_instance<T, E, F>(&self, name: &str, how: Edit, edit: F) -> Result<T, E>
    where
        E: From<LxdError>,
        F: FnMut(&mut Instance) -> Result<T, E>,
    {
        // LXD's ETag check alone does not stop two writers from undoing each other
        // (see `lock.rs`); the project-wide lock serialises the CPI's writers.
        self.with_lock(&instance_lock_key(name), async || {
            self.edit_instance(name, how, None, edit).await
        })
        .await
    }

    /// Takes the lock [`Client::update_instance`] takes, for a caller that edits with
    /// [`Client::update_instance_locked`] and does more work that must not interleave
    /// with another writer's. Give it back with [`Client::release_lock`].
    pub async fn lock_instance(&self, name: &str) -> Result<ObjectLock, LxdError> {
        self.acquire_lock(&instance_lock_key(name), LOCK_WAIT).await
    }

    /// [`Client::update_instance`] for a caller that holds `lock`, the instance's lock.
    /// `first` is the instance with its ETag read a moment ago (even before the lock was
    /// taken): it saves the first GET, and a stale one only costs a 412 and a retry.
    pub async fn update_instance_locked<T, E, F>(
        &self,
        lock: &ObjectLock,
        name: &str,
        how: Edit,
        first: Option<(Instance, ETag)>,
        edit: F,
    ) -> Result<T, E>
    where
        E: From<LxdError>,
        F: FnMut(&mut Instance) -> Result<T, E>,
    {
        if !lock.is_for(&instance_lock_key(name)) {
            return Err(LxdError::invalid_request(format!(
                "editing instance {name} under another object's lock"
            ))
            .into());
        }
        self.edit_instance(name, how, first, edit).await
    }

    async fn edit_instance<T, E>(
        &self,
        name: &str,
        how: Edit,
        first: Option<(Instance, ETag)>,
        edit: impl FnMut(&mut Instance) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<LxdError>,
    {
        let (path, what) = (instance_path(name), format!("instance {name}"));
        let policy = RetryPolicy::default();
        self.edit_at(&path, &what, how, policy, first, edit).await
    }
}
