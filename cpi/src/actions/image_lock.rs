//! The lock that serialises alias changes on one image: `create_stemcell` adding an alias
//! and `delete_stemcell` removing the last one and deleting the image must not interleave,
//! or a fresh alias would vanish with the image. Uses the client's project-wide locks.

use crate::lxd::{Client, LOCK_WAIT, LxdError, ObjectLock};

/// A held image lock.
#[derive(Debug)]
pub struct ImageLock(ObjectLock);

impl ImageLock {
    /// Takes the lock of the image with `fingerprint`, waiting for another holder.
    pub async fn take(client: &Client, fingerprint: &str) -> Result<Self, LxdError> {
        // A prefix keeps the lock's profile name short; a shared prefix only serialises more.
        let short: String = fingerprint.chars().take(16).collect();
        client
            .acquire_lock(&format!("image.{short}"), LOCK_WAIT)
            .await
            .map(ImageLock)
    }

    /// Gives the lock back. A failure is logged: the lock then expires on its own.
    pub async fn release(self, client: &Client) {
        if let Err(e) = client.release_lock(self.0).await {
            tracing::warn!(error = %e, "could not release an image lock; it expires by itself");
        }
    }
}
