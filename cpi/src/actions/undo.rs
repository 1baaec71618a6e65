//! The undo list of `create_vm`: every object is recorded right after it was created, and
//! on failure everything is removed in reverse order, so a failed call leaves nothing
//! behind. Cleanup failures are collected and reported with the original error.

use crate::lxd::{Client, NotFoundExt};
use crate::rpc::CpiError;

use super::instance_ops::remove_instance;

/// One object to remove when the call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A custom volume.
    Volume { pool: String, name: String },
    /// An instance (stopped first if it runs).
    Instance { name: String },
}

/// What a failing call must take back, in creation order.
#[derive(Debug, Default)]
pub struct Undo {
    steps: Vec<Step>,
}

impl Undo {
    /// Records a custom volume that was just created.
    pub fn volume(&mut self, pool: &str, name: &str) {
        self.steps.push(Step::Volume {
            pool: pool.to_owned(),
            name: name.to_owned(),
        });
    }

    /// Records an instance that was just created.
    pub fn instance(&mut self, name: &str) {
        self.steps.push(Step::Instance {
            name: name.to_owned(),
        });
    }

    /// Removes everything recorded, newest first, and returns `err` with any cleanup
    /// failure appended to its message (the kind and retry flag are kept).
    pub async fn roll_back(self, client: &Client, err: CpiError) -> CpiError {
        let mut failures = Vec::new();
        for step in self.steps.into_iter().rev() {
            let result = match &step {
                Step::Instance { name } => remove_instance(client, name).await,
                Step::Volume { pool, name } => client
                    .delete_custom_volume(pool, name)
                    .await
                    .optional()
                    .map(drop),
            };
            match result {
                Ok(()) => tracing::info!(?step, "rolled back"),
                Err(e) => {
                    tracing::error!(?step, error = %e, "roll back failed");
                    failures.push(e.to_string());
                }
            }
        }
        if failures.is_empty() {
            err
        } else {
            let message = format!(
                "{err}; cleaning up also failed, remove by hand: {}",
                failures.join("; ")
            );
            err.with_message(message)
        }
    }
}
