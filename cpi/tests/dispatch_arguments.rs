//! Dispatcher table tests, JSON in and JSON out with no LXD: a missing, empty or mistyped
//! argument of any method is a `Bosh::Clouds::CpiError` naming the method and argument.

#[cfg(test)]
mod common;

use common::{CPI_ERROR, Want, check, create_vm_args, request, with_arg};
use serde_json::{Value, json};

#[test]
fn bad_arguments_are_cpi_errors_naming_the_argument() {
    let bad = |m: &'static str| Want::Err(CPI_ERROR, m);
    let cases: Vec<(&str, &str, Value, Want)> = vec![
        (
            "empty stemcell cid",
            "create_vm",
            with_arg(create_vm_args(), 1, json!("")),
            bad(
                "create_vm argument 1 (stemcell_cid): expected a non-empty string, got string \"\"",
            ),
        ),
        (
            "stemcell cid number",
            "create_vm",
            with_arg(create_vm_args(), 1, json!(5)),
            bad("create_vm argument 1 (stemcell_cid): expected a non-empty string, got integer 5"),
        ),
        (
            "empty agent id",
            "create_vm",
            with_arg(create_vm_args(), 0, json!("")),
            bad("create_vm argument 0 (agent_id)"),
        ),
        (
            "cloud_properties array",
            "create_vm",
            with_arg(create_vm_args(), 2, json!([])),
            bad("create_vm argument 2 (cloud_properties): expected an object, got an array"),
        ),
        (
            "networks string",
            "create_vm",
            with_arg(create_vm_args(), 3, json!("n")),
            bad("create_vm argument 3 (networks): expected an object"),
        ),
        (
            "network ip number",
            "create_vm",
            with_arg(create_vm_args(), 3, json!({"default": {"ip": 1}})),
            bad("create_vm argument 3 (networks): default.ip: expected a string, got integer 1"),
        ),
        (
            "network type unknown",
            "create_vm",
            with_arg(create_vm_args(), 3, json!({"n": {"type": "x"}})),
            bad("(networks): n.type"),
        ),
        (
            "empty disk cid in list",
            "create_vm",
            with_arg(create_vm_args(), 4, json!([""])),
            bad("create_vm argument 4 (disk_cids): element 0"),
        ),
        (
            "env string",
            "create_vm",
            with_arg(create_vm_args(), 5, json!("e")),
            bad("create_vm argument 5 (env): expected an object or null"),
        ),
        (
            "create_vm too few",
            "create_vm",
            json!(["agent-1", "stemcell-1", {}, {}, []]),
            bad("create_vm argument 5 (env) is missing: got 5 argument(s)"),
        ),
        (
            "create_stemcell one arg",
            "create_stemcell",
            json!(["/tmp/image"]),
            bad("create_stemcell argument 1 (cloud_properties) is missing"),
        ),
        (
            "create_stemcell empty path",
            "create_stemcell",
            json!(["", {}]),
            bad("create_stemcell argument 0 (image_path)"),
        ),
        (
            "create_stemcell bad tags",
            "create_stemcell",
            json!(["/i", {}, {"tags": []}]),
            bad("create_stemcell argument 2 (options): tags: expected an object"),
        ),
        (
            "delete_stemcell empty",
            "delete_stemcell",
            json!([""]),
            bad("delete_stemcell argument 0 (stemcell_cid)"),
        ),
        (
            "delete_vm no args",
            "delete_vm",
            json!([]),
            bad("delete_vm argument 0 (vm_cid) is missing: got 0 argument(s)"),
        ),
        (
            "has_vm empty",
            "has_vm",
            json!([""]),
            bad("has_vm argument 0 (vm_cid): expected a non-empty string"),
        ),
        (
            "reboot_vm null",
            "reboot_vm",
            json!([null]),
            bad("reboot_vm argument 0 (vm_cid): expected a non-empty string, got null"),
        ),
        (
            "metadata array",
            "set_vm_metadata",
            json!(["vm-1", []]),
            bad("set_vm_metadata argument 1 (metadata): expected an object"),
        ),
        (
            "metadata nested",
            "set_vm_metadata",
            json!(["vm-1", {"tags": {"a": 1}}]),
            bad("set_vm_metadata argument 1 (metadata): key \"tags\""),
        ),
        (
            "calculate missing ram",
            "calculate_vm_cloud_properties",
            json!([{"cpu": 1, "ephemeral_disk_size": 1}]),
            bad(
                "calculate_vm_cloud_properties argument 0 (desired_instance_size): ram: required field is missing",
            ),
        ),
        (
            "calculate bad cpu",
            "calculate_vm_cloud_properties",
            json!([{"cpu": "2", "ram": 1, "ephemeral_disk_size": 1}]),
            bad("(desired_instance_size): cpu: expected a positive integer, got string \"2\""),
        ),
        (
            "calculate no args",
            "calculate_vm_cloud_properties",
            json!([]),
            bad("argument 0 (desired_instance_size) is missing"),
        ),
        (
            "create_disk size string",
            "create_disk",
            json!(["1024", {}, null]),
            bad("create_disk argument 0 (size): expected a positive integer (MiB)"),
        ),
        (
            "create_disk size zero",
            "create_disk",
            json!([0, {}, null]),
            bad("create_disk argument 0 (size)"),
        ),
        (
            "create_disk empty vm",
            "create_disk",
            json!([1, {}, ""]),
            bad("create_disk argument 2 (vm_cid): expected a non-empty string or null"),
        ),
        (
            "create_disk two args",
            "create_disk",
            json!([1, {}]),
            bad("create_disk argument 2 (vm_cid) is missing"),
        ),
        (
            "delete_disk number",
            "delete_disk",
            json!([7]),
            bad("delete_disk argument 0 (disk_cid)"),
        ),
        (
            "has_disk empty",
            "has_disk",
            json!([""]),
            bad("has_disk argument 0 (disk_cid)"),
        ),
        (
            "attach_disk bad disk",
            "attach_disk",
            json!(["vm-1", 3]),
            bad("attach_disk argument 1 (disk_cid): expected a non-empty string, got integer 3"),
        ),
        (
            "detach_disk one arg",
            "detach_disk",
            json!(["vm-1"]),
            bad("detach_disk argument 1 (disk_cid) is missing"),
        ),
        (
            "get_disks empty",
            "get_disks",
            json!([""]),
            bad("get_disks argument 0 (vm_cid)"),
        ),
        (
            "set_disk_metadata string",
            "set_disk_metadata",
            json!(["disk-1", "m"]),
            bad("set_disk_metadata argument 1 (metadata)"),
        ),
        (
            "resize_disk negative",
            "resize_disk",
            json!(["disk-1", -1]),
            bad(
                "resize_disk argument 1 (new_size): expected a positive integer (MiB), got integer -1",
            ),
        ),
        (
            "update_disk props",
            "update_disk",
            json!(["disk-1", 1, 5]),
            bad("update_disk argument 2 (cloud_properties)"),
        ),
        (
            "snapshot_disk empty",
            "snapshot_disk",
            json!(["", {}]),
            bad("snapshot_disk argument 0 (disk_cid)"),
        ),
        (
            "delete_snapshot empty",
            "delete_snapshot",
            json!([""]),
            bad("delete_snapshot argument 0 (snapshot_cid)"),
        ),
    ];
    for (name, method, arguments, want) in &cases {
        check(name, &request(method, arguments.clone()), want);
    }
}
