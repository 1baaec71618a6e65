//! What a user checks after a create-env step: the agent answers and runs the job, the
//! job's checksummed file is intact on the persistent disk mounted at `/var/vcap/store`,
//! and what the project holds in LXD (instances, custom volumes, images).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{Env, STORE_DIR};
use crate::TEST_POOL;

/// The deployment as the CLI's state and LXD show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The VM's cid (state.json), the only instance in the project.
    pub vm: String,
    /// The persistent disk's cid (state.json).
    pub disk: String,
    /// The stemcell's cid (state.json), the only image alias in the project.
    pub stemcell: String,
    /// The job's `data.sha256` line, checked against its data.
    pub sum: String,
    /// Custom volumes in the project (sorted).
    pub volumes: Vec<String>,
    /// LXD's creation time of the VM's instance.
    pub created_at: String,
}

impl Env {
    /// Waits until the agent answers `ping` and reports the job running (at most about
    /// two minutes each); its `get_state full`.
    pub fn wait_healthy(&self) -> Result<Value> {
        let mbus = self.mbus()?;
        let mut last = String::new();
        for _ in 0..120 {
            match mbus.call("ping", json!([]), 0) {
                Ok(v) if v == "pong" => break,
                Ok(v) => last = format!("ping answered {v}"),
                Err(e) => last = format!("{e:#}"),
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        let running = |s: &Value| {
            let procs = s["processes"].as_array().cloned().unwrap_or_default();
            s["job_state"] == "running"
                && procs
                    .iter()
                    .any(|p| p["name"] == "storer" && p["state"] == "running")
        };
        for _ in 0..120 {
            match mbus.call("get_state", json!(["full"]), 60) {
                Ok(s) if running(&s) => return Ok(s),
                Ok(s) => last = format!("get_state: {s}"),
                Err(e) => last = format!("{e:#}"),
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        bail!(
            "the agent at {} never reported storer running; last: {last}",
            self.ip
        )
    }

    /// The deployment now, each part checked for consistency: the agent healthy, the one
    /// VM of the state the only instance, the disk mounted on `/var/vcap/store` from its
    /// volume, the data matching its checksum, the stemcell the only image.
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.wait_healthy()?;
        let state = self.state()?;
        let field = |k: &str| {
            state[k]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("no {k} in state.json: {state}"))
        };
        let vm = field("current_vm_cid")?;
        let disk_id = field("current_disk_id")?;
        let disk = cid_of(&state["disks"], &disk_id)?;
        let stemcell = cid_of(&state["stemcells"], &field("current_stemcell_id")?)?;
        let instances = self.names("/1.0/instances")?;
        if instances != [vm.clone()] {
            bail!("the project holds instances {instances:?}, not just the state's {vm}");
        }
        let images = self.image_aliases()?;
        if images != [stemcell.clone()] {
            bail!("the project holds images {images:?}, not just the state's {stemcell}");
        }
        let source = self.vm_sh(&vm, "findmnt -n -o SOURCE /var/vcap/store")?;
        if !source.contains(&disk) {
            bail!("/var/vcap/store is mounted from {source}, not from disk {disk}");
        }
        let sum = self.vm_sh(
            &vm,
            &format!("cd {STORE_DIR} && sha256sum -c data.sha256 >&2 && cat data.sha256"),
        )?;
        let created_at = self.project.instance(&vm)?["created_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(Snapshot {
            vm,
            disk,
            stemcell,
            sum: sum.trim().to_owned(),
            volumes: self.custom_volumes()?,
            created_at,
        })
    }

    /// Runs a shell command in the VM; its stdout, or an error with its output.
    pub fn vm_sh(&self, vm: &str, script: &str) -> Result<String> {
        let r = self.project.exec(vm, &["sh", "-c", script])?;
        r.ok(&format!("`{script}` in {vm}"))
    }

    /// Names of the project's custom volumes on the test pool, sorted.
    pub fn custom_volumes(&self) -> Result<Vec<String>> {
        let list = self.project.query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes?recursion=1"
        ))?;
        let mut names: Vec<String> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|v| v["type"] == "custom")
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The `size` LXD has for custom volume `name`.
    pub fn volume_size(&self, name: &str) -> Result<String> {
        let v = self.project.query(&format!(
            "/1.0/storage-pools/{TEST_POOL}/volumes/custom/{name}"
        ))?;
        Ok(v["config"]["size"].as_str().unwrap_or_default().to_owned())
    }

    /// Every image alias in the project, sorted.
    pub fn image_aliases(&self) -> Result<Vec<String>> {
        let list = self.project.query("/1.0/images?recursion=1")?;
        let mut names: Vec<String> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .flat_map(|i| i["aliases"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The last path segment of each entry of a list endpoint (without the `?project=`
    /// LXD appends), sorted.
    pub fn names(&self, path: &str) -> Result<Vec<String>> {
        let list = self.project.query(path)?;
        let mut names: Vec<String> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|u| {
                let last = u.as_str()?.rsplit('/').next()?;
                Some(last.split('?').next().unwrap_or(last).to_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Images of any kind (aliased or not) in the project: their fingerprints.
    pub fn images(&self) -> Result<Vec<String>> {
        self.names("/1.0/images")
    }

    /// Nothing of the deployment is left: no instance, no custom volume, no image.
    pub fn expect_empty(&self) -> Result<()> {
        let (instances, volumes, images) = (
            self.names("/1.0/instances")?,
            self.custom_volumes()?,
            self.images()?,
        );
        if !(instances.is_empty() && volumes.is_empty() && images.is_empty()) {
            bail!(
                "left in the project: instances {instances:?}, volumes {volumes:?}, images {images:?}"
            );
        }
        Ok(())
    }

    /// After a create-env that failed (`what` says how): no instance and no volume is
    /// left; then `delete-env` takes what the CLI's state still names (the stemcell) and
    /// the project is empty.
    pub fn expect_cleaned_up_after(&mut self, what: &str) -> Result<()> {
        let (instances, volumes) = (self.names("/1.0/instances")?, self.custom_volumes()?);
        if !instances.is_empty() || !volumes.is_empty() {
            bail!("{what} left instances {instances:?} and volumes {volumes:?}");
        }
        self.delete_env()?;
        self.expect_empty()
    }
}

/// The `cid` of the entry with `id` in a state.json list (`disks`, `stemcells`).
fn cid_of(list: &Value, id: &str) -> Result<String> {
    list.as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id))
        .and_then(|e| e["cid"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no entry with id {id} in {list}"))
}
