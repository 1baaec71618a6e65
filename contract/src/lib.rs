//! What the CPI (`cpi/`), the guest helper (`guest-helper/`) and the repack tool
//! (`stemcell-patches/`) must agree on, written once: the `user.bosh.*` keys, the image
//! properties, the guest paths, the settings fields the CPI writes and the helper reads,
//! and the result of `bosh-lxd-helper release` as JSON on stdout.
//!
//! Everything here is read by programs of another build: a VM made by an older CPI, a
//! stemcell repacked by an older tool. A value changed here breaks them, so every value is
//! pinned by a test in its module (`docs/decisions.md` §11). std and serde only: the
//! helper links this crate statically.

pub mod image;
pub mod keys;
pub mod paths;
pub mod release;
pub mod settings;
