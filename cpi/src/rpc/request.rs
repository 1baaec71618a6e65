//! The typed request: one [`Request`] variant per CPI method with its positional arguments
//! decoded (bosh.io/docs/cpi-api-v2/). An unknown method is `NotImplemented`; a missing or
//! mistyped argument is `Bosh::Clouds::CpiError` naming it; extra trailing arguments are
//! ignored with a warning.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::args::{self, Args, CloudProperties, Metadata, VmResources};
use super::error::CpiError;
use super::network::{self, Networks};
use crate::ids::{AgentId, DiskCid, SnapshotCid, StemcellCid, VmCid};

/// `create_vm`'s six arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateVmArgs {
    /// 0: the agent ID, written into the agent settings.
    pub agent_id: AgentId,
    /// 1: the stemcell (image alias) to boot.
    pub stemcell_cid: StemcellCid,
    /// 2: merged cloud properties (AZ, vm_type, vm_extensions), decoded by the action.
    pub cloud_properties: CloudProperties,
    /// 3: network name to spec.
    pub networks: Networks,
    /// 4: disks the VM will get (placement hint); empty when null.
    pub disk_cids: Vec<DiskCid>,
    /// 5: the agent `env`, untouched (an object or null).
    pub env: Value,
}

/// A decoded CPI call.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `info()`.
    Info,
    /// `create_stemcell(image_path, cloud_properties[, {tags}])`.
    CreateStemcell {
        /// Path of the extracted stemcell `image` file.
        image_path: PathBuf,
        /// `stemcell.MF` cloud_properties.
        cloud_properties: CloudProperties,
        /// API v3 tags; empty when the third argument is absent.
        tags: Map<String, Value>,
    },
    /// `delete_stemcell(stemcell_cid)`.
    DeleteStemcell {
        /// The stemcell to delete.
        stemcell_cid: StemcellCid,
    },
    /// `create_vm(agent_id, stemcell_cid, cloud_properties, networks, disk_cids, env)`.
    CreateVm(CreateVmArgs),
    /// `delete_vm(vm_cid)`.
    DeleteVm {
        /// The VM to delete.
        vm_cid: VmCid,
    },
    /// `has_vm(vm_cid)`.
    HasVm {
        /// The VM to look for.
        vm_cid: VmCid,
    },
    /// `reboot_vm(vm_cid)`.
    RebootVm {
        /// The VM to reboot.
        vm_cid: VmCid,
    },
    /// `set_vm_metadata(vm_cid, metadata)`.
    SetVmMetadata {
        /// The VM.
        vm_cid: VmCid,
        /// Key/value metadata.
        metadata: Metadata,
    },
    /// `calculate_vm_cloud_properties({cpu, ram, ephemeral_disk_size})`.
    CalculateVmCloudProperties {
        /// The requested resources.
        resources: VmResources,
    },
    /// `create_disk(size, cloud_properties, vm_cid)`.
    CreateDisk {
        /// Size in MiB.
        size_mib: u64,
        /// Disk type cloud properties.
        cloud_properties: CloudProperties,
        /// The VM the disk is meant for (placement hint), if any.
        vm_cid: Option<VmCid>,
    },
    /// `delete_disk(disk_cid)`.
    DeleteDisk {
        /// The disk to delete.
        disk_cid: DiskCid,
    },
    /// `has_disk(disk_cid)`.
    HasDisk {
        /// The disk to look for.
        disk_cid: DiskCid,
    },
    /// `attach_disk(vm_cid, disk_cid)`.
    AttachDisk {
        /// The VM.
        vm_cid: VmCid,
        /// The disk to attach.
        disk_cid: DiskCid,
    },
    /// `detach_disk(vm_cid, disk_cid)`.
    DetachDisk {
        /// The VM.
        vm_cid: VmCid,
        /// The disk to detach.
        disk_cid: DiskCid,
    },
    /// `get_disks(vm_cid)`.
    GetDisks {
        /// The VM.
        vm_cid: VmCid,
    },
    /// `set_disk_metadata(disk_cid, metadata)`.
    SetDiskMetadata {
        /// The disk.
        disk_cid: DiskCid,
        /// Key/value metadata.
        metadata: Metadata,
    },
    /// `resize_disk(disk_cid, new_size)`.
    ResizeDisk {
        /// The disk.
        disk_cid: DiskCid,
        /// New size in MiB.
        new_size_mib: u64,
    },
    /// `update_disk(disk_cid, new_size, cloud_properties)`.
    UpdateDisk {
        /// The disk.
        disk_cid: DiskCid,
        /// New size in MiB.
        new_size_mib: u64,
        /// New disk type cloud properties.
        cloud_properties: CloudProperties,
    },
    /// `snapshot_disk(disk_cid, metadata)`.
    SnapshotDisk {
        /// The disk.
        disk_cid: DiskCid,
        /// Key/value metadata.
        metadata: Metadata,
    },
    /// `delete_snapshot(snapshot_cid)`.
    DeleteSnapshot {
        /// The snapshot.
        snapshot_cid: SnapshotCid,
    },
}

impl Request {
    /// Decodes `arguments` for `method`.
    pub fn decode(method: &str, arguments: Vec<Value>) -> Result<Self, CpiError> {
        let mut a = Args::new(method, arguments);
        let decoded = match Self::decode_vm_call(method, &mut a)? {
            Some(request) => Some(request),
            None => Self::decode_disk_call(method, &mut a)?,
        };
        let Some(request) = decoded else {
            return Err(CpiError::not_implemented(format!(
                "method {method:?} is not implemented by the LXD CPI"
            )));
        };
        a.finish();
        Ok(request)
    }

    /// The stemcell, VM and `info` methods; `None` for any other name.
    fn decode_vm_call(method: &str, a: &mut Args) -> Result<Option<Self>, CpiError> {
        use args::{id, metadata, properties};
        let request = match method {
            "info" => Self::Info,
            "create_stemcell" => Self::CreateStemcell {
                image_path: a.required("image_path", args::path)?,
                cloud_properties: a.required("cloud_properties", properties)?,
                tags: a
                    .optional("options", args::stemcell_tags)?
                    .unwrap_or_default(),
            },
            "delete_stemcell" => Self::DeleteStemcell {
                stemcell_cid: a.required("stemcell_cid", id)?,
            },
            "create_vm" => Self::CreateVm(CreateVmArgs {
                agent_id: a.required("agent_id", id)?,
                stemcell_cid: a.required("stemcell_cid", id)?,
                cloud_properties: a.required("cloud_properties", properties)?,
                networks: a.required("networks", network::networks)?,
                disk_cids: a.required("disk_cids", args::id_list)?,
                env: a.required("env", args::env)?,
            }),
            "delete_vm" => Self::DeleteVm {
                vm_cid: a.required("vm_cid", id)?,
            },
            "has_vm" => Self::HasVm {
                vm_cid: a.required("vm_cid", id)?,
            },
            "reboot_vm" => Self::RebootVm {
                vm_cid: a.required("vm_cid", id)?,
            },
            "set_vm_metadata" => Self::SetVmMetadata {
                vm_cid: a.required("vm_cid", id)?,
                metadata: a.required("metadata", metadata)?,
            },
            "calculate_vm_cloud_properties" => Self::CalculateVmCloudProperties {
                resources: a.required("desired_instance_size", args::vm_resources)?,
            },
            _ => return Ok(None),
        };
        Ok(Some(request))
    }

    /// The disk and snapshot methods; `None` for any other name.
    fn decode_disk_call(method: &str, a: &mut Args) -> Result<Option<Self>, CpiError> {
        use args::{id, mebibytes, metadata, properties};
        let request = match method {
            "create_disk" => Self::CreateDisk {
                size_mib: a.required("size", mebibytes)?,
                cloud_properties: a.required("cloud_properties", properties)?,
                vm_cid: a.required("vm_cid", args::optional_id)?,
            },
            "delete_disk" => Self::DeleteDisk {
                disk_cid: a.required("disk_cid", id)?,
            },
            "has_disk" => Self::HasDisk {
                disk_cid: a.required("disk_cid", id)?,
            },
            "attach_disk" => Self::AttachDisk {
                vm_cid: a.required("vm_cid", id)?,
                disk_cid: a.required("disk_cid", id)?,
            },
            "detach_disk" => Self::DetachDisk {
                vm_cid: a.required("vm_cid", id)?,
                disk_cid: a.required("disk_cid", id)?,
            },
            "get_disks" => Self::GetDisks {
                vm_cid: a.required("vm_cid", id)?,
            },
            "set_disk_metadata" => Self::SetDiskMetadata {
                disk_cid: a.required("disk_cid", id)?,
                metadata: a.required("metadata", metadata)?,
            },
            "resize_disk" => Self::ResizeDisk {
                disk_cid: a.required("disk_cid", id)?,
                new_size_mib: a.required("new_size", mebibytes)?,
            },
            "update_disk" => Self::UpdateDisk {
                disk_cid: a.required("disk_cid", id)?,
                new_size_mib: a.required("new_size", mebibytes)?,
                cloud_properties: a.required("cloud_properties", properties)?,
            },
            "snapshot_disk" => Self::SnapshotDisk {
                disk_cid: a.required("disk_cid", id)?,
                metadata: a.required("metadata", metadata)?,
            },
            "delete_snapshot" => Self::DeleteSnapshot {
                snapshot_cid: a.required("snapshot_cid", id)?,
            },
            _ => return Ok(None),
        };
        Ok(Some(request))
    }

    /// The method name, for logs.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::CreateStemcell { .. } => "create_stemcell",
            Self::DeleteStemcell { .. } => "delete_stemcell",
            Self::CreateVm(_) => "create_vm",
            Self::DeleteVm { .. } => "delete_vm",
            Self::HasVm { .. } => "has_vm",
            Self::RebootVm { .. } => "reboot_vm",
            Self::SetVmMetadata { .. } => "set_vm_metadata",
            Self::CalculateVmCloudProperties { .. } => "calculate_vm_cloud_properties",
            Self::CreateDisk { .. } => "create_disk",
            Self::DeleteDisk { .. } => "delete_disk",
            Self::HasDisk { .. } => "has_disk",
            Self::AttachDisk { .. } => "attach_disk",
            Self::DetachDisk { .. } => "detach_disk",
            Self::GetDisks { .. } => "get_disks",
            Self::SetDiskMetadata { .. } => "set_disk_metadata",
            Self::ResizeDisk { .. } => "resize_disk",
            Self::UpdateDisk { .. } => "update_disk",
            Self::SnapshotDisk { .. } => "snapshot_disk",
            Self::DeleteSnapshot { .. } => "delete_snapshot",
        }
    }

    /// Whether answering needs LXD (and so an async runtime). `info` and
    /// `calculate_vm_cloud_properties` are answered from the request alone.
    pub fn needs_lxd(&self) -> bool {
        !matches!(self, Self::Info | Self::CalculateVmCloudProperties { .. })
    }
}
