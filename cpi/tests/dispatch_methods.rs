//! Dispatcher table tests, JSON in and JSON out with no LXD: every method decodes its
//! arguments. Built LXD-backed methods then fail on the missing socket with an error that
//! names what they were doing; the others answer NotImplemented until they are built.

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
    let not_built = |m: &'static str| Want::Err(NOT_IMPLEMENTED, m);
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
            not_built("create_disk: not built yet"),
        ),
        (
            "create_disk no vm",
            "create_disk",
            json!([1024, {}, null]),
            not_built("create_disk: not built yet"),
        ),
        (
            "delete_disk",
            "delete_disk",
            json!(["disk-1"]),
            not_built("delete_disk: not built yet"),
        ),
        (
            "has_disk",
            "has_disk",
            json!(["disk-1"]),
            not_built("has_disk: not built yet"),
        ),
        (
            "attach_disk",
            "attach_disk",
            json!(["vm-1", "disk-1"]),
            not_built("attach_disk: not built yet"),
        ),
        (
            "detach_disk",
            "detach_disk",
            json!(["vm-1", "disk-1"]),
            not_built("detach_disk: not built yet"),
        ),
        (
            "get_disks",
            "get_disks",
            json!(["vm-1"]),
            not_built("get_disks: not built yet"),
        ),
        (
            "set_disk_metadata",
            "set_disk_metadata",
            json!(["disk-1", {"k": "v"}]),
            not_built("set_disk_metadata: not built yet"),
        ),
        (
            "resize_disk",
            "resize_disk",
            json!(["disk-1", 2048]),
            not_built("resize_disk: not built yet"),
        ),
        (
            "update_disk",
            "update_disk",
            json!(["disk-1", 2048, {}]),
            not_built("update_disk: not built yet"),
        ),
        (
            "snapshot_disk",
            "snapshot_disk",
            json!(["disk-1", {"deployment": "d"}]),
            not_built("snapshot_disk: not built yet"),
        ),
        (
            "delete_snapshot",
            "delete_snapshot",
            json!(["snap-1"]),
            not_built("delete_snapshot: not built yet"),
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
