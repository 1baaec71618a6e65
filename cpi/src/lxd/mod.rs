//! Typed REST client for LXD and Incus: transport, operations, ETags, resources.
//!
//! Start with [`Transport::from_config`] and [`Client::new`]; every resource adds
//! methods to [`Client`] from its own module. Structs are named after LXD's
//! `shared/api` types. Errors are [`LxdError`]; not-found is data through
//! [`NotFoundExt::optional`]. Read-modify-writes go through
//! [`Client::update_instance`] / [`Client::update_storage_volume`], which hold a
//! project-wide lock (LXD's `If-Match` alone lets concurrent writers undo each
//! other), send `If-Match`, retry on 412 and busy answers, and re-read to check
//! that the edit stuck.

mod client;
mod envelope;
mod error;
mod etag;
mod exec;
mod failure;
mod files;
mod host;
mod https;
mod https_errors;
mod https_resolve;
mod image_upload;
mod images;
mod instance_edit;
mod instance_state;
mod instances;
mod lock;
mod networks;
mod operations;
mod patch;
mod paths;
mod projects;
mod server;
mod storage_pools;
mod storage_volumes;
mod tls;
mod tls_verify;
mod transport;
mod wire;

pub use client::{Client, DEFAULT_OPERATION_TIMEOUT, ETag};
pub use envelope::{Envelope, Operation};
pub use error::{LxdError, LxdErrorKind, NotFoundExt};
pub use etag::{Edit, RetryPolicy};
pub use exec::{ExecOutput, InstanceExecPost};
pub use files::{FileContents, FileMode};
pub use image_upload::{ImageMetadata, ImageUpload};
pub use images::{Image, ImageAlias, ImageAliasesEntry, ImageAliasesPost};
pub use instance_edit::instance_lock_key;
pub use instance_state::{
    InstanceState, InstanceStateNetwork, InstanceStateNetworkAddress, InstanceStatePut,
};
pub use instances::{Config, Device, Devices, Instance, InstanceSource, InstancesPost};
pub use lock::{LOCK_TTL, LOCK_WAIT, ObjectLock};
pub use networks::{Network, NetworkLease};
pub use paths::encode_component;
pub use projects::Project;
pub use server::{Server, ServerEnvironment, ServerKind};
pub use storage_pools::StoragePool;
pub use storage_volumes::{
    StorageVolume, StorageVolumeSnapshot, StorageVolumeState, StorageVolumeStateUsage,
    StorageVolumesPost,
};
pub use transport::Transport;
pub use wire::{RawResponse, RequestBody, file_stream};
