//! `calculate_vm_cloud_properties`: turns a manifest's `vm_resources` into the cloud
//! properties `create_vm` understands (`cpu`, `memory` in MiB, `ephemeral_disk` in MiB).

use serde_json::{Value, json};

use crate::rpc::VmResources;

/// `{cpu, ram, ephemeral_disk_size}` → `{"cpu", "memory", "ephemeral_disk"}`, unchanged in
/// value: the units already match what [`super::cloud_properties::VmCloudProperties`] reads.
pub fn calculate(resources: &VmResources) -> Value {
    json!({
        "cpu": resources.cpu,
        "memory": resources.ram,
        "ephemeral_disk": resources.ephemeral_disk_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::cloud_properties::VmCloudProperties;

    #[test]
    fn output_is_read_back_by_create_vm_parser() {
        let resources = VmResources {
            cpu: 2,
            ram: 4096,
            ephemeral_disk_size: 20480,
        };
        let out = calculate(&resources);
        assert_eq!(
            out,
            json!({"cpu": 2, "memory": 4096, "ephemeral_disk": 20480})
        );
        let props = VmCloudProperties::parse(out.as_object().unwrap()).unwrap();
        assert_eq!(
            (props.cpu, props.memory_mib, props.ephemeral_disk_mib),
            (Some(2), Some(4096), 20480)
        );
    }
}
