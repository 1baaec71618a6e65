//! The fields of the agent settings file ([`crate::paths::AGENT_SETTINGS`]) that the CPI
//! writes and the helper reads, as JSON pointers (RFC 6901, `serde_json::Value::pointer`).
//! The rest of the file (mbus, blobstore, ntp) is for the agent alone; the fields inside a
//! network (`ip`, `netmask`, `gateway`, `dns`, `default`, `routes`) are the director's
//! network spec, passed through, and not this crate's to define.

/// `disks.persistent`: disk cid → hint. The CPI writes each hint as the string
/// [`crate::paths::disk_device_path`] of the cid; the helper mounts those disks.
pub const PERSISTENT_DISKS: &str = "/disks/persistent";
/// `env.persistent_disk_mount_options`: `create_vm`'s `env`, which the CPI writes untouched;
/// the helper mounts the persistent disk with these options, as the agent does.
pub const PERSISTENT_DISK_MOUNT_OPTIONS: &str = "/env/persistent_disk_mount_options";
/// `networks`: network name → the director's network spec plus [`NETWORK_MAC`].
pub const NETWORKS: &str = "/networks";
/// In each network: the MAC the CPI gave the NIC; the helper finds the interface by it.
pub const NETWORK_MAC: &str = "mac";
/// `vm.name`: the VM CID; the helper sets it as the hostname.
pub const VM_NAME: &str = "/vm/name";
/// `agent_id`: the hostname when `vm.name` is missing.
pub const AGENT_ID: &str = "/agent_id";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A settings document in the shape the CPI writes, read back through the pointers.
    #[test]
    fn pointers_find_the_fields() {
        let doc = json!({
            "agent_id": "agent-1",
            "vm": {"name": "vm-1"},
            "networks": {"n": {"type": "manual", "mac": "00:16:3e:00:00:01"}},
            "disks": {"system": "", "ephemeral": null,
                      "persistent": {"disk-1": "/warden-cpi-dev/disk-1"}},
            "env": {"persistent_disk_mount_options": ["noatime"]},
        });
        assert_eq!(doc.pointer(AGENT_ID), Some(&json!("agent-1")));
        assert_eq!(doc.pointer(VM_NAME), Some(&json!("vm-1")));
        let mac = doc.pointer(NETWORKS).and_then(|n| n["n"].get(NETWORK_MAC));
        assert_eq!(mac, Some(&json!("00:16:3e:00:00:01")));
        let disks = doc.pointer(PERSISTENT_DISKS);
        assert_eq!(disks, Some(&json!({"disk-1": "/warden-cpi-dev/disk-1"})));
        let options = doc.pointer(PERSISTENT_DISK_MOUNT_OPTIONS);
        assert_eq!(options, Some(&json!(["noatime"])));
    }
}
