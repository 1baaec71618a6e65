//! Server information (`GET /1.0`): API extensions and whether the daemon is LXD or Incus.
//!
//! Struct follows LXD's `api.Server`; `environment.server` is `lxd` or `incus`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::Client;
use super::error::LxdError;

/// Which daemon answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Canonical LXD.
    Lxd,
    /// Incus (the LXD fork): `Ready` status, `/dev/incus/sock`, `X-Incus-*` headers.
    Incus,
    /// Something else that speaks the same API.
    Other,
}

/// `environment` of `GET /1.0` (`api.ServerEnvironment`), the parts used here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerEnvironment {
    /// `lxd` or `incus`.
    #[serde(default)]
    pub server: String,
    /// Daemon version, e.g. `5.0.2`.
    #[serde(default)]
    pub server_version: String,
    /// Host name of the server (cluster member name).
    #[serde(default)]
    pub server_name: String,
    /// Supported architectures (`x86_64`, `i686`).
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Host kernel version.
    #[serde(default)]
    pub kernel_version: String,
    /// Storage drivers in use (`dir | btrfs`).
    #[serde(default)]
    pub storage: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /1.0` (`api.Server`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// Names of the API extensions the server supports.
    #[serde(default)]
    pub api_extensions: Vec<String>,
    /// `1.0`.
    #[serde(default)]
    pub api_version: String,
    /// `trusted` or `untrusted`.
    #[serde(default)]
    pub auth: String,
    /// Environment (absent for untrusted clients).
    #[serde(default)]
    pub environment: ServerEnvironment,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Server {
    /// LXD, Incus or something else, from `environment.server`.
    pub fn kind(&self) -> ServerKind {
        match self.environment.server.as_str() {
            "lxd" => ServerKind::Lxd,
            "incus" => ServerKind::Incus,
            _ => ServerKind::Other,
        }
    }

    /// True when the server supports API extension `name`.
    pub fn has_extension(&self, name: &str) -> bool {
        self.api_extensions.iter().any(|e| e == name)
    }
}

impl Client {
    /// Server information. Cheap; also the way to check that the daemon answers.
    pub async fn server(&self) -> Result<Server, LxdError> {
        self.get("/1.0").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_extensions() {
        let cases = [
            (
                "lxd",
                r#"{"api_extensions":["etag","patch"],"environment":{"server":"lxd","server_version":"5.0.2"}}"#,
                ServerKind::Lxd,
            ),
            (
                "incus",
                r#"{"api_extensions":["instance_ready_state"],"environment":{"server":"incus"}}"#,
                ServerKind::Incus,
            ),
            (
                "untrusted",
                r#"{"api_extensions":[],"auth":"untrusted"}"#,
                ServerKind::Other,
            ),
        ];
        for (name, json, want) in cases {
            let s: Server = match serde_json::from_str(json) {
                Ok(s) => s,
                Err(e) => panic!("case {name}: {e}"),
            };
            assert_eq!(s.kind(), want, "case {name}");
        }
        let s: Server = serde_json::from_str(r#"{"api_extensions":["etag"]}"#).unwrap_or_default();
        assert!(s.has_extension("etag") && !s.has_extension("operation_wait"));
    }
}
