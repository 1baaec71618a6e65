//! The one undo list of attach and detach, rollback as a value (like `actions/undo.rs`
//! for `create_vm`): each edit of a disk's device and key is recorded right after it
//! landed (and a render of the settings file ahead of its edit, before it starts); on a
//! later failure the list is reverted, newest first, in one ETag-checked edit under the
//! lock the call still holds (an edit with nothing to revert only reads the keys), and
//! the settings file is rendered again from the keys that leaves. A failure of that is
//! appended to the original error.

use super::VmDisks;
use super::keys::{Added, DiskMap, Removed, disk_key, recorded_disks};
use crate::actions::errors::{EditError, StepError};
use crate::ids::DiskCid;
use crate::lxd::{Device, Edit, Instance};
use crate::rpc::CpiError;

/// One landed change of a disk's device and key.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// What attach wrote: reverted by removing it.
    Added {
        cid: String,
        device: bool,
        key: bool,
    },
    /// What detach removed: reverted by putting it back.
    Removed {
        cid: String,
        device: Option<Device>,
        key: Option<String>,
    },
    /// The settings file was rendered from keys the instance may not have: reverted by the
    /// render every roll-back ends with.
    Rendered,
}

/// What a failing attach or detach must take back, in the order it happened.
#[derive(Debug, Default)]
pub struct Undo {
    changes: Vec<Change>,
}

impl Undo {
    /// Records what the attach edit of `cid` wrote.
    pub fn added(&mut self, cid: &str, added: &Added) {
        self.changes.push(Change::Added {
            cid: cid.to_owned(),
            device: added.device,
            key: added.key,
        });
    }

    /// Records that the settings file was (or is being) rendered ahead of the edit.
    pub fn rendered(&mut self) {
        self.changes.push(Change::Rendered);
    }

    /// Records what the detach edit of `cid` removed.
    pub fn removed(&mut self, cid: &str, removed: &Removed) {
        self.changes.push(Change::Removed {
            cid: cid.to_owned(),
            device: removed.device.clone(),
            key: removed.key.clone(),
        });
    }

    /// Replace when something must be removed again, Merge when only put back.
    fn edit(&self) -> Edit {
        if self
            .changes
            .iter()
            .any(|c| matches!(c, Change::Added { device, key, .. } if *device || *key))
        {
            Edit::Replace
        } else {
            Edit::Merge
        }
    }

    /// The revert as an instance edit (a state, so safe to run again): returns the keys
    /// it leaves.
    fn revert(&self, inst: &mut Instance) -> DiskMap {
        for change in self.changes.iter().rev() {
            match change {
                Change::Added { cid, device, key } => {
                    if *device {
                        inst.devices.remove(cid);
                    }
                    if *key {
                        inst.config.remove(&disk_key(cid));
                    }
                }
                Change::Removed { cid, device, key } => {
                    if let Some(dev) = device {
                        inst.devices.insert(cid.clone(), dev.clone());
                    }
                    if let Some(value) = key {
                        inst.config.insert(disk_key(cid), value.clone());
                    }
                }
                Change::Rendered => {}
            }
        }
        recorded_disks(inst)
    }

    /// Reverts everything recorded and renders the settings file from the keys that
    /// leaves; returns `err`, with any failure of that appended (kind and retry flag kept).
    pub async fn roll_back(self, disks: &VmDisks<'_>, disk: &DiskCid, err: CpiError) -> CpiError {
        if self.changes.is_empty() {
            return err;
        }
        tracing::warn!(error = %err, changes = ?self.changes, "taking the disk edit back");
        let vm = disks.vm;
        let reverted = disks
            .edit(self.edit(), None, |inst| {
                Ok::<_, EditError>(self.revert(inst))
            })
            .await
            .map_err(|e| StepError::Undo(e.into_cpi(disk, Some(vm), "taking back the edit of")));
        let outcome = match reverted {
            Ok(keys) => disks.sync(&keys).await.map(drop),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                tracing::info!("disk edit taken back");
                err
            }
            Err(why) => {
                tracing::error!(error = %why, "taking the disk edit back failed");
                let message = format!("{err}; taking it back also failed: {why}");
                err.with_message(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::keys::{add, disk_device, take_out};
    use super::*;

    fn instance() -> Instance {
        serde_json::from_value(json!({"name": "vm-1",
            "config": {"user.bosh.disk.d0": "/warden-cpi-dev/d0", "user.bosh.agent-id": "a"},
            "devices": {"d0": disk_device("btrfs", "d0")}}))
        .unwrap()
    }

    #[test]
    fn a_revert_restores_the_instance_and_picks_the_edit() {
        // (case, what the call did, the edit its revert needs)
        type Step = fn(&mut Instance, &mut Undo);
        let attach: Step = |inst, undo| undo.added("d1", &add(inst, "btrfs", "d1").unwrap());
        let again: Step = |inst, undo| undo.added("d0", &add(inst, "btrfs", "d0").unwrap());
        let detach: Step = |inst, undo| undo.removed("d0", &take_out(inst, "d0"));
        let rendered: Step = |_, undo| undo.rendered();
        let cases: [(&str, Vec<Step>, Edit); 5] = [
            ("attach", vec![rendered, attach], Edit::Replace),
            ("the edit failed", vec![rendered], Edit::Merge),
            ("repeated attach", vec![again], Edit::Merge),
            ("detach", vec![detach], Edit::Merge),
            ("detach, then attach", vec![detach, attach], Edit::Replace),
        ];
        for (name, steps, edit) in cases {
            let before = instance();
            let mut inst = before.clone();
            let mut undo = Undo::default();
            for step in steps {
                step(&mut inst, &mut undo);
            }
            assert_eq!(undo.edit(), edit, "case {name}");
            let keys = undo.revert(&mut inst);
            assert_eq!(inst.devices, before.devices, "case {name}");
            assert_eq!(inst.config, before.config, "case {name}");
            assert_eq!(keys, recorded_disks(&before), "case {name}");
        }
    }
}
