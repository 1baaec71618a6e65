//! What the `user.bosh.disk.*` keys say: how an attached persistent disk is recorded on
//! its instance (`ARCHITECTURE.md` §2): a disk device named after the disk CID, mounted at
//! `/warden-cpi-dev/<cid>`, and the key `user.bosh.disk.<cid>` holding that same path,
//! which is also the agent's hint; and the two edits, [`add`] and [`take_out`]. Pure
//! functions over [`Instance`], so the rules are unit-tested without LXD.

use std::collections::BTreeMap;

use super::super::errors::StepError;
use crate::lxd::{Device, Instance};

pub use bosh_lxd_contract::keys::disk_key;
use bosh_lxd_contract::keys::disk_of_key;
use bosh_lxd_contract::paths::disk_device_path;

/// Disk CID to hint (its path in the guest), as the keys record them. Ordered, so two maps
/// compare equal exactly when they list the same disks.
pub type DiskMap = BTreeMap<String, String>;

/// `/warden-cpi-dev/<cid>`: the mount point in the guest and the hint.
pub fn disk_path(cid: &str) -> String {
    disk_device_path(cid)
}

/// The disk CID for a new volume.
pub fn disk_name(uuid: &str) -> String {
    format!("disk-{uuid}")
}

/// The device that mounts custom volume `cid` of `pool` at [`disk_path`].
pub fn disk_device(pool: &str, cid: &str) -> Device {
    [
        ("type", "disk"),
        ("pool", pool),
        ("source", cid),
        ("path", disk_path(cid).as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The disks the instance's keys say are attached.
pub fn recorded_disks(inst: &Instance) -> DiskMap {
    inst.config
        .iter()
        .filter_map(|(k, v)| disk_of_key(k).map(|cid| (cid.to_owned(), v.clone())))
        .collect()
}

/// Disk CIDs attached to the instance: every key, plus devices that mount a volume named
/// like their mount point under `/warden-cpi-dev` (the old CPI wrote no keys). The root
/// disk and the ephemeral volume never qualify.
pub fn attached_cids(inst: &Instance) -> Vec<String> {
    let mut cids: Vec<String> = recorded_disks(inst).into_keys().collect();
    for (name, dev) in &inst.devices {
        let get = |k: &str| dev.get(k).map(String::as_str);
        if get("type") == Some("disk")
            && get("source") == Some(name.as_str())
            && get("path") == Some(disk_path(name).as_str())
            && !cids.contains(name)
        {
            cids.push(name.clone());
        }
    }
    cids.sort();
    cids
}

/// Whether the instance carries the device or the key of disk `cid`.
pub fn is_attached(inst: &Instance, cid: &str) -> bool {
    inst.devices.contains_key(cid) || inst.config.contains_key(&disk_key(cid))
}

/// True when `dev` mounts volume `cid` of `pool` at the disk's path (extra keys allowed).
pub fn device_matches(dev: &Device, pool: &str, cid: &str) -> bool {
    let want = disk_device(pool, cid);
    want.iter().all(|(k, v)| dev.get(k) == Some(v))
}

/// Why disk `cid` of `pool` cannot be attached to `inst` as the design wants: another
/// device already uses the name, the mount point, or the volume. `None` when it can.
pub fn attach_conflict(inst: &Instance, pool: &str, cid: &str) -> Option<String> {
    let path = disk_path(cid);
    if let Some(dev) = inst.devices.get(cid)
        && !device_matches(dev, pool, cid)
    {
        return Some(format!(
            "its device {cid} exists but is not volume {cid} of pool {pool} at {path}: {dev:?}"
        ));
    }
    inst.devices
        .iter()
        .filter(|(name, _)| name.as_str() != cid)
        .find_map(|(name, dev)| {
            let get = |k: &str| dev.get(k).map(String::as_str);
            if get("path") == Some(path.as_str()) {
                Some(format!("device {name} already uses the path {path}"))
            } else if get("type") == Some("disk")
                && get("source") == Some(cid)
                && get("pool").is_none_or(|p| p == pool)
            {
                Some(format!(
                    "the volume is already mounted there by device {name}"
                ))
            } else {
                None
            }
        })
}

/// What [`add`] changed, so that a failure can take exactly that back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Added {
    /// The device was written.
    pub device: bool,
    /// The key was written.
    pub key: bool,
    /// The keys after the edit.
    pub keys: DiskMap,
}

/// The attach edit: the device and the key as the design wants them. Describes a state,
/// so it is safe to run again; an existing device that already matches is left as it is.
pub fn add(inst: &mut Instance, pool: &str, cid: &str) -> Result<Added, StepError> {
    if let Some(why) = attach_conflict(inst, pool, cid) {
        return Err(StepError::AttachConflict {
            disk: cid.to_owned(),
            why,
        });
    }
    let path = disk_path(cid);
    let mut added = Added::default();
    if !inst
        .devices
        .get(cid)
        .is_some_and(|d| device_matches(d, pool, cid))
    {
        inst.devices.insert(cid.to_owned(), disk_device(pool, cid));
        added.device = true;
    }
    let key = disk_key(cid);
    if inst.config.get(&key) != Some(&path) {
        inst.config.insert(key, path);
        added.key = true;
    }
    added.keys = recorded_disks(inst);
    Ok(added)
}

/// What [`take_out`] removed, to put back if the call fails later.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Removed {
    /// The device as it was.
    pub device: Option<Device>,
    /// The key's value as it was.
    pub key: Option<String>,
    /// The keys after the edit.
    pub keys: DiskMap,
}

/// The detach edit: device and key of `cid` gone (a state, so safe to run again).
pub fn take_out(inst: &mut Instance, cid: &str) -> Removed {
    Removed {
        device: inst.devices.remove(cid),
        key: inst.config.remove(&disk_key(cid)),
        keys: recorded_disks(inst),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn instance(v: serde_json::Value) -> Instance {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn keys_and_devices_name_the_disks() {
        let inst = instance(json!({"name": "vm-1",
            "config": {"user.bosh.disk.disk-a": "/warden-cpi-dev/disk-a", "user.bosh.disk.": "x",
                       "user.bosh.agent-id": "a"},
            "devices": {
                "root": {"type": "disk", "path": "/", "pool": "btrfs"},
                "ephemeral": {"type": "disk", "path": "/var/vcap/data", "pool": "btrfs", "source": "eph-1"},
                "disk-a": {"type": "disk", "path": "/warden-cpi-dev/disk-a", "pool": "btrfs", "source": "disk-a"},
                "vol-p-1": {"type": "disk", "path": "/warden-cpi-dev/vol-p-1", "pool": "btrfs", "source": "vol-p-1"}}}));
        assert_eq!(
            recorded_disks(&inst),
            DiskMap::from([("disk-a".into(), "/warden-cpi-dev/disk-a".into())])
        );
        assert_eq!(attached_cids(&inst), ["disk-a", "vol-p-1"]);
        assert!(is_attached(&inst, "vol-p-1"));
        assert!(!is_attached(&inst, "eph-1"));
    }

    #[test]
    fn attach_conflicts() {
        let inst = instance(json!({"name": "vm-1", "devices": {
            "same": {"type": "disk", "path": "/warden-cpi-dev/d-path", "pool": "p", "source": "x"},
            "d-other": {"type": "disk", "path": "/elsewhere", "pool": "p", "source": "d-other"},
            "twice": {"type": "disk", "path": "/mnt", "pool": "p", "source": "d-vol"},
            "d-ok": {"type": "disk", "path": "/warden-cpi-dev/d-ok", "pool": "p", "source": "d-ok", "readonly": "false"}}}));
        let cases = [
            ("free", "d-new", None),
            ("already ours", "d-ok", None),
            (
                "path taken",
                "d-path",
                Some("device same already uses the path"),
            ),
            ("name taken", "d-other", Some("its device d-other exists")),
            (
                "volume mounted elsewhere",
                "d-vol",
                Some("already mounted there by device twice"),
            ),
        ];
        for (name, cid, want) in cases {
            let got = attach_conflict(&inst, "p", cid);
            match (got.as_deref(), want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.contains(w), "case {name}: {g}"),
                (g, w) => panic!("case {name}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn the_attach_edit_adds_device_and_key_once() {
        let mut inst = instance(json!({"name": "vm-1",
            "config": {"user.bosh.disk.d0": "/warden-cpi-dev/d0"}}));
        let first = add(&mut inst, "btrfs", "d1").unwrap();
        assert!(first.device && first.key);
        assert_eq!(inst.devices["d1"]["path"], "/warden-cpi-dev/d1");
        assert_eq!(inst.config["user.bosh.disk.d1"], "/warden-cpi-dev/d1");
        assert_eq!(first.keys.len(), 2);
        let again = add(&mut inst, "btrfs", "d1").unwrap();
        assert!(
            !again.device && !again.key,
            "a repeated attach changes nothing"
        );
        assert!(
            add(&mut inst, "other-pool", "d1").is_err(),
            "same name, other pool"
        );
    }

    #[test]
    fn the_detach_edit_removes_device_and_key_together() {
        let mut inst = instance(json!({"name": "vm-1",
            "config": {"user.bosh.disk.d1": "/warden-cpi-dev/d1", "user.bosh.disk.d2": "/warden-cpi-dev/d2"},
            "devices": {"d1": disk_device("btrfs", "d1"), "d2": disk_device("btrfs", "d2")}}));
        let removed = take_out(&mut inst, "d1");
        assert_eq!(removed.device, Some(disk_device("btrfs", "d1")));
        assert_eq!(removed.key.as_deref(), Some("/warden-cpi-dev/d1"));
        assert_eq!(removed.keys.keys().collect::<Vec<_>>(), ["d2"]);
        assert!(!is_attached(&inst, "d1") && is_attached(&inst, "d2"));
        let again = take_out(&mut inst, "d1");
        assert!(
            again.device.is_none() && again.key.is_none(),
            "nothing left to remove"
        );
    }

    #[test]
    fn names_follow_the_design() {
        assert_eq!(disk_path("disk-1"), "/warden-cpi-dev/disk-1");
        assert_eq!(disk_key("disk-1"), "user.bosh.disk.disk-1");
        assert_eq!(disk_name("u"), "disk-u");
        assert_eq!(disk_device("btrfs", "d")["source"], "d");
    }
}
