//! What every VM test starts from: the run's project, a configured [`Cpi`] and the
//! repacked fixture stemcell uploaded through it (deleted again on drop), plus small helpers for networks and volumes.

use anyhow::{Context, Result, bail};
use bosh_lxd_contract::image::HELPER_VERSION_PROPERTY;
use serde_json::{Value, json};

use super::{Cpi, stemcell_files};
use crate::project::lock;
use crate::repacked::repacked_stemcell;

/// The lock around uploads and deletes of the fixture stemcell in one project.
fn stemcell_lock(project: &Project) -> String {
    format!("fixture-stemcell-cpi-{}", project.name())
}
use crate::{Project, TEST_POOL};

/// The agent settings file in the guest.
pub use bosh_lxd_contract::paths::AGENT_SETTINGS as SETTINGS_PATH;

/// A test's project, CPI and stemcell CID.
#[derive(Debug)]
pub struct VmFixture {
    /// The run's project.
    pub project: Project,
    /// The CPI configured for it.
    pub cpi: Cpi,
    /// A stemcell CID of the repacked fixture stemcell (the helper and its boot unit in
    /// the image), uploaded as the director uploads it.
    pub stemcell: String,
    /// `bosh_lxd_helper_version` of that stemcell.
    pub helper_version: String,
}

impl VmFixture {
    /// Uploads the repacked fixture stemcell through the CPI.
    pub fn new() -> Result<VmFixture> {
        let project = Project::for_run()?;
        let cpi = Cpi::new(&project)?;
        Self::upload(project, cpi, &repacked_stemcell()?)
    }

    /// Uploads the repacked stemcell at `tarball` through `cpi`.
    pub fn upload(project: Project, cpi: Cpi, tarball: &std::path::Path) -> Result<VmFixture> {
        let files = stemcell_files(tarball)?;
        let helper_version = files.cloud_properties[HELPER_VERSION_PROPERTY]
            .as_str()
            .with_context(|| format!("the repacked stemcell names no {HELPER_VERSION_PROPERTY}"))?
            .to_owned();
        // One upload or delete of the fixture stemcell at a time in this project: the daemon
        // can lose the image file when an upload races the delete of the same image
        // (`docs/decisions.md` §7). Other projects, other runs included, have images of
        // their own since the CPI names the project in the image metadata, so the lock is
        // the project's alone (it was machine-wide).
        let stemcell = {
            let _one_at_a_time = lock(&stemcell_lock(&project))?;
            cpi.ok("create_stemcell", files.stock_args())?
        };
        let stemcell = stemcell
            .as_str()
            .context("create_stemcell answered no string")?
            .to_owned();
        Ok(VmFixture {
            project,
            cpi,
            stemcell,
            helper_version,
        })
    }

    /// A fresh agent ID.
    pub fn agent_id() -> String {
        format!("agent-{}", uuid::Uuid::new_v4().simple())
    }

    /// `create_vm` at API v2 with no disks; returns (VM CID, networks answer).
    pub fn create_vm(
        &self,
        agent: &str,
        props: Value,
        networks: Value,
        env: Value,
    ) -> Result<(String, Value)> {
        let args = json!([agent, self.stemcell, props, networks, [], env]);
        let answer = self.cpi.ok("create_vm", args)?;
        let cid = answer[0]
            .as_str()
            .with_context(|| format!("no VM CID in the v2 answer {answer}"))?
            .to_owned();
        Ok((cid, answer[1].clone()))
    }

    /// Runs `cmd` in `vm`, failing unless it exits 0; returns its stdout.
    pub fn exec(&self, vm: &str, cmd: &[&str]) -> Result<String> {
        let r = self.project.exec(vm, cmd)?;
        if !r.success() {
            bail!("{cmd:?} in {vm}: {r:?}");
        }
        Ok(r.stdout)
    }

    /// The agent settings file of `vm`, parsed.
    pub fn settings(&self, vm: &str) -> Result<Value> {
        let text = self.exec(vm, &["cat", SETTINGS_PATH])?;
        serde_json::from_str(&text).context("the settings file is not JSON")
    }

    /// True when custom volume `name` exists on the test pool.
    pub fn volume_exists(&self, name: &str) -> Result<bool> {
        Ok(self
            .project
            .lxc(&["storage", "volume", "show", TEST_POOL, name])?
            .success())
    }
}

impl Drop for VmFixture {
    fn drop(&mut self) {
        let _one_at_a_time = lock(&stemcell_lock(&self.project));
        self.cpi
            .cleanup_call("delete_stemcell", json!([self.stemcell]));
    }
}

/// A random address on the test bridge for manual networks (<net>.100.0 - <net>.199.255).
pub fn random_ip() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!(
        "{}.{}.{}",
        crate::daemon().net,
        100 + b[0] % 100,
        2 + b[1] % 250
    )
}

/// A manual network on the test bridge, as the director describes it.
pub fn manual_network(ip: &str, default_gateway: bool) -> Value {
    let defaults = if default_gateway {
        json!(["dns", "gateway"])
    } else {
        json!([])
    };
    let (gateway, bridge) = (crate::daemon().gateway(), crate::daemon().bridge);
    json!({"type": "manual", "ip": ip, "netmask": "255.255.0.0", "gateway": gateway,
        "dns": [gateway], "default": defaults, "cloud_properties": {"network": bridge}})
}

/// A dynamic network on the test bridge.
pub fn dynamic_network() -> Value {
    json!({"type": "dynamic", "dns": [crate::daemon().gateway()], "default": ["dns", "gateway"],
        "cloud_properties": {}})
}

/// The ephemeral volume the CPI gives VM `vm-<uuid>`.
pub fn ephemeral_of(vm: &str) -> String {
    format!("eph-{}", vm.strip_prefix("vm-").unwrap_or(vm))
}
