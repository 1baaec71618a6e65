//! Instance runtime state (`/1.0/instances/<name>/state`): read it, start, stop, restart.
//!
//! Structs follow LXD's `api.InstanceState` and `api.InstanceStatePut`. Incus
//! reports `Ready` (status code 113) once the guest signalled readiness through
//! its guest API; that counts as running here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::Client;
use super::error::LxdError;
use super::paths::instance_path;

/// Extra time given to a state change beyond the graceful-stop timeout it carries.
const STATE_CHANGE_MARGIN: Duration = Duration::from_secs(60);

/// True for LXD's `Running` (103) and Incus' `Ready` (113).
pub(crate) fn status_is_running(status: &str, status_code: u16) -> bool {
    matches!(status_code, 103 | 113) || matches!(status, "Running" | "Ready")
}

/// One address of a NIC (`api.InstanceStateNetworkAddress`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStateNetworkAddress {
    /// `inet` or `inet6`.
    #[serde(default)]
    pub family: String,
    /// The address.
    #[serde(default)]
    pub address: String,
    /// Prefix length, as a string.
    #[serde(default)]
    pub netmask: String,
    /// `global`, `link`, `local`.
    #[serde(default)]
    pub scope: String,
}

/// One NIC as seen in the running guest (`api.InstanceStateNetwork`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStateNetwork {
    /// Addresses configured in the guest.
    #[serde(default)]
    pub addresses: Vec<InstanceStateNetworkAddress>,
    /// MAC address.
    #[serde(default)]
    pub hwaddr: String,
    /// Host-side interface name.
    #[serde(default)]
    pub host_name: String,
    /// `up` or `down`.
    #[serde(default)]
    pub state: String,
    /// Fields this client does not model (counters, MTU...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /1.0/instances/<name>/state` (`api.InstanceState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    /// `Running`, `Stopped`, `Frozen`, `Error`; Incus also `Ready`.
    #[serde(default)]
    pub status: String,
    /// 103 running, 102 stopped, 113 ready...
    #[serde(default)]
    pub status_code: u16,
    /// PID of the guest's init on the host (0 when stopped).
    #[serde(default)]
    pub pid: i64,
    /// NICs by guest name; `null` when stopped.
    #[serde(default)]
    pub network: Option<BTreeMap<String, InstanceStateNetwork>>,
    /// Fields this client does not model (disk, memory, cpu...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InstanceState {
    /// True when the instance runs (`Running`, or Incus' `Ready`).
    pub fn is_running(&self) -> bool {
        status_is_running(&self.status, self.status_code)
    }
}

/// `PUT /1.0/instances/<name>/state` body (`api.InstanceStatePut`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatePut {
    /// `start`, `stop`, `restart`, `freeze`, `unfreeze`.
    pub action: String,
    /// Seconds to wait for a graceful stop before failing (or forcing with `force`); -1 forever.
    pub timeout: i64,
    /// Kill instead of a clean shutdown.
    pub force: bool,
    /// Save or restore runtime state.
    pub stateful: bool,
}

impl Client {
    /// Runtime state of the instance.
    pub async fn instance_state(&self, name: &str) -> Result<InstanceState, LxdError> {
        self.get(&format!("{}/state", instance_path(name))).await
    }

    /// Sends a state change and waits for it until `deadline`.
    pub async fn change_instance_state(
        &self,
        name: &str,
        change: &InstanceStatePut,
        deadline: Instant,
    ) -> Result<(), LxdError> {
        let path = format!("{}/state", instance_path(name));
        tracing::debug!(instance = name, action = %change.action, "instance state change");
        self.write_until(Method::PUT, &path, Some(change), deadline)
            .await
            .map(drop)
    }

    /// Starts the instance. Starting a running one fails (`The instance is already running`).
    pub async fn start_instance(&self, name: &str) -> Result<(), LxdError> {
        let change = InstanceStatePut {
            action: "start".to_owned(),
            timeout: -1,
            ..InstanceStatePut::default()
        };
        self.change_instance_state(name, &change, self.default_deadline())
            .await
    }

    /// Stops the instance: cleanly within `timeout`, or at once with `force`.
    /// Stopping a stopped one fails (`The instance is already stopped`).
    pub async fn stop_instance(
        &self,
        name: &str,
        force: bool,
        timeout: Duration,
    ) -> Result<(), LxdError> {
        self.state_with_timeout(name, "stop", force, timeout).await
    }

    /// Restarts the instance: cleanly within `timeout`, or at once with `force`.
    pub async fn restart_instance(
        &self,
        name: &str,
        force: bool,
        timeout: Duration,
    ) -> Result<(), LxdError> {
        self.state_with_timeout(name, "restart", force, timeout)
            .await
    }

    async fn state_with_timeout(
        &self,
        name: &str,
        action: &str,
        force: bool,
        timeout: Duration,
    ) -> Result<(), LxdError> {
        let change = InstanceStatePut {
            action: action.to_owned(),
            timeout: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            force,
            stateful: false,
        };
        let deadline = Instant::now() + timeout + STATE_CHANGE_MARGIN;
        self.change_instance_state(name, &change, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_statuses() {
        let cases = [
            ("lxd running", "Running", 103, true),
            ("incus ready", "Ready", 113, true),
            ("stopped", "Stopped", 102, false),
            ("frozen", "Frozen", 110, false),
            ("code only", "", 103, true),
        ];
        for (name, status, code, want) in cases {
            let st = InstanceState {
                status: status.to_owned(),
                status_code: code,
                ..InstanceState::default()
            };
            assert_eq!(st.is_running(), want, "case {name}");
        }
    }

    #[test]
    fn state_decodes_stopped_and_running() {
        let stopped =
            r#"{"status":"Stopped","status_code":102,"pid":0,"network":null,"disk":null}"#;
        let running = r#"{"status":"Running","status_code":103,"pid":42,
            "network":{"eth0":{"addresses":[{"family":"inet","address":"10.245.0.5","netmask":"16","scope":"global"}],
            "hwaddr":"00:16:3e:00:00:01","host_name":"veth1","state":"up","mtu":1500}}}"#;
        for (name, json, want_running, want_addr) in [
            ("stopped", stopped, false, None),
            ("running", running, true, Some("10.245.0.5")),
        ] {
            let st: InstanceState = match serde_json::from_str(json) {
                Ok(s) => s,
                Err(e) => panic!("case {name}: {e}"),
            };
            assert_eq!(st.is_running(), want_running, "case {name}");
            let addr = st
                .network
                .as_ref()
                .and_then(|n| n.get("eth0"))
                .and_then(|n| n.addresses.first())
                .map(|a| a.address.as_str());
            assert_eq!(addr, want_addr, "case {name}");
        }
    }
}
