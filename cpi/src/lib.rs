//! The bosh-lxd CPI as a library: the `cpi` binary is a thin shell around [`run::handle`]
//! (the director's requests) and [`doctor::run`] (`cpi doctor`); [`cli`] is its command line.
//!
//! Layers (`ARCHITECTURE.md` §3): [`rpc`] is the envelope, [`actions`] has one file per
//! CPI method, [`lxd`] is the typed REST client, [`config`] is the CPI config file.
//! [`ids`] holds the typed CIDs and [`json`] the field-naming JSON readers they share.

pub mod actions;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod ids;
pub mod json;
pub mod logging;
pub mod lxd;
pub mod rpc;
pub mod run;
