//! Dispatcher table tests, JSON in and JSON out with no LXD: every method decodes its
//! arguments. Built LXD-backed methods then fail on the missing socket with an error that
//! names what they were doing; unknown methods answer NotImplemented.

#[cfg(test)]
mod common;

use common::{
    CLOUD_ERROR, NOT_IMPLEMENTED, VM_CREATION_FAILED, Want, check, create_vm_args, request,
    with_arg,
};
use serde_json::{Value, json};

#[test]
fn methods_decode_their_arguments() {
    let info = json!({"api_version": 2, "stemcell_formats": ["warden-tar", "general-tar"]});
    let no_lxd = |m: &'static str| Want::Err(CLOUD_ERROR, m);
    let cases: Vec<(&str, &str, Value, Want)> = vec![
        ("info", "info", json!([]), Want::Ok(info.clone())),
        (
            "info with extra args",
            "info",
            json!([1, "x", null]),
            Want::Ok(info),
        ),
        (
            "calculate",
            "calculate_vm_cloud_properties",
            json!([{"cpu": 2, "ram": 4096, "ephemeral_disk_size": 10240}]),
            Want::Ok(json!({"cpu": 2, "memory": 4096, "ephemeral_disk": 10240})),
        ),
        (
            "create_stemcell 2 args",
            "create_stemcell",
            json!(["/tmp/image", {"name": "s"}]),
            no_lxd("stemcell image /tmp/image: No such file"),
        ),
        (
            "create_stemcell 3 args",
            "create_stemcell",
            json!(["/tmp/image", {}, {"tags": {"a": "b"}}]),
            no_lxd("stemcell image /tmp/image: No such file"),
        ),
        (
            "create_stemcell null options",
            "create_stemcell",
            json!(["/tmp/image", null, null]),
            no_lxd("stemcell image /tmp/image: No such file"),
        ),
        (
            "delete_stemcell",
            "delete_stemcell",
            json!(["stemcell-1"]),
            no_lxd("deleting stemcell stemcell-1: LXD GET"),
        ),
        (
            "create_vm",
            "create_vm",
            create_vm_args(),
            Want::Err(VM_CREATION_FAILED, "reading stemcell stemcell-1: LXD GET"),
        ),
        (
            "create_vm null disks and env",
            "create_vm",
            with_arg(with_arg(create_vm_args(), 4, Value::Null), 5, Value::Null),
            Want::Err(VM_CREATION_FAILED, "reading stemcell stemcell-1: LXD GET"),
        ),
        (
            "create_vm extra arg",
            "create_vm",
            with_arg(create_vm_args(), 6, json!("extra")),
            Want::Err(VM_CREATION_FAILED, "reading stemcell stemcell-1: LXD GET"),
        ),
        (
            "delete_vm",
            "delete_vm",
            json!(["vm-1"]),
            no_lxd("deleting VM vm-1: LXD GET"),
        ),
        (
            "has_vm",
            "has_vm",
            json!(["vm-1"]),
            no_lxd("looking up VM vm-1: LXD GET"),
        ),
        (
            "reboot_vm",
            "reboot_vm",
            json!(["vm-1"]),
            no_lxd("rebooting VM vm-1: LXD GET"),
        ),
        (
            "set_vm_metadata",
            "set_vm_metadata",
            json!(["vm-1", {"director": "d", "index": 0}]),
            no_lxd("setting metadata of VM vm-1: LXD"),
        ),
        (
            "create_disk",
            "create_disk",
            json!([1024, {}, "vm-1"]),
            no_lxd("looking up VM vm-1 to place a disk near it: LXD GET"),
        ),
        (
            "create_disk no vm",
            "create_disk",
            json!([1024, {}, null]),
            no_lxd("(1024 MiB) in storage pool default: LXD POST"),
        ),
        (
            "delete_disk",
            "delete_disk",
            json!(["disk-1"]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "has_disk",
            "has_disk",
            json!(["disk-1"]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "attach_disk",
            "attach_disk",
            json!(["vm-1", "disk-1"]),
            no_lxd("looking in pool default for disk disk-1 on VM vm-1: LXD GET"),
        ),
        (
            "detach_disk",
            "detach_disk",
            json!(["vm-1", "disk-1"]),
            no_lxd("detaching disk disk-1 on VM vm-1: LXD GET"),
        ),
        (
            "get_disks",
            "get_disks",
            json!(["vm-1"]),
            no_lxd("listing the disks of VM vm-1: LXD GET"),
        ),
        (
            "set_disk_metadata",
            "set_disk_metadata",
            json!(["disk-1", {"k": "v"}]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "resize_disk",
            "resize_disk",
            json!(["disk-1", 2048]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "update_disk",
            "update_disk",
            json!(["disk-1", 2048, {}]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "snapshot_disk",
            "snapshot_disk",
            json!(["disk-1", {"deployment": "d"}]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "delete_snapshot not ours",
            "delete_snapshot",
            json!(["snap-1"]),
            Want::Ok(Value::Null),
        ),
        (
            "delete_snapshot of a disk",
            "delete_snapshot",
            json!(["disk-1@snap-1"]),
            no_lxd("looking in pool default for disk disk-1: LXD GET"),
        ),
        (
            "unknown method",
            "current_vm_id",
            json!([]),
            Want::Err(
                NOT_IMPLEMENTED,
                "method \"current_vm_id\" is not implemented",
            ),
        ),
    ];
    for (name, method, arguments, want) in &cases {
        check(name, &request(method, arguments.clone()), want);
    }
}
