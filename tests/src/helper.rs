//! The guest helper in test containers: where the built static binary is, containers from
//! the repacked fixture stemcell (helper and overlay baked in by `repack-stemcell`), the
//! settings the tests add, and small in-guest utilities. Persistent disks and the stand-in
//! agent's disk actions: [`disks`]; monit's stand-ins and start-ups: [`monit`].

pub mod disks;
pub mod monit;

pub use monit::{FAILING_ACCESS_HELPER, JAMMY_LIKE_ACCESS_HELPER};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::project::Project;
use crate::repacked::repacked_image;
use crate::workspace_root;

/// Where the helper lives in the guest.
pub use bosh_lxd_contract::paths::HELPER as GUEST_HELPER;

/// The static helper built by `scripts/build-helper`: `BOSH_LXD_HELPER_BIN`, else the
/// script's output path in the workspace's default target directory.
pub fn helper_binary() -> Result<PathBuf> {
    let path = match std::env::var("BOSH_LXD_HELPER_BIN") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("target/x86_64-unknown-linux-gnu/release/bosh-lxd-helper"),
    };
    if !path.is_file() {
        bail!(
            "the guest helper binary {} is missing: build it with scripts/build-helper \
             (or point BOSH_LXD_HELPER_BIN at it)",
            path.display()
        );
    }
    Ok(path)
}

/// A test container from the repacked fixture stemcell.
#[derive(Debug)]
pub struct Guest<'a> {
    /// The project it lives in.
    pub project: &'a Project,
    /// Instance name.
    pub name: String,
}

impl<'a> Guest<'a> {
    /// Create `name` from the repacked fixture image (helper, boot unit, shims and monit
    /// wiring from the overlay, as an operator's repacked stemcell has them), let
    /// `configure` add devices or config before the first start, start it, wait for
    /// systemd.
    pub fn launch(
        project: &'a Project,
        name: &str,
        configure: impl FnOnce(&Project, &str) -> Result<()>,
    ) -> Result<Guest<'a>> {
        let alias = repacked_image(project)?;
        project.delete_instance(name)?;
        project.lxc_ok(&["init", &alias, name])?;
        configure(project, name)?;
        project.lxc_ok(&["start", name])?;
        project.wait_booted(name)?;
        Ok(Guest {
            project,
            name: name.to_string(),
        })
    }

    /// Push a host file to `remote` with `mode`, creating parent directories.
    pub fn push(&self, local: &Path, remote: &str, mode: &str) -> Result<()> {
        if let Some(parent) = Path::new(remote).parent() {
            self.sh(&format!("mkdir -p '{}'", parent.display()))?;
        }
        let target = format!("{}{remote}", self.name);
        let local = local.to_string_lossy();
        self.project
            .lxc_ok(&["file", "push", "--quiet", &local, &target, "--mode", mode])?;
        Ok(())
    }

    /// Write `text` to `remote` with `mode`.
    pub fn write(&self, remote: &str, text: &str, mode: &str) -> Result<()> {
        let dir = tempfile_dir()?;
        let local = dir.join("content");
        std::fs::write(&local, text).with_context(|| format!("writing {}", local.display()))?;
        let result = self.push(&local, remote, mode);
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        result
    }

    /// Run a shell command in the guest; its stdout, or an error with everything.
    pub fn sh(&self, script: &str) -> Result<String> {
        self.project
            .exec(&self.name, &["sh", "-c", script])?
            .ok(&format!("in {}: {script}", self.name))
    }

    /// Run a shell command in the guest; exit code and output, whatever the code.
    pub fn sh_any(&self, script: &str) -> Result<crate::ExecResult> {
        self.project.exec(&self.name, &["sh", "-c", script])
    }

    /// `lxc config get <name> <key>`.
    pub fn config(&self, key: &str) -> Result<String> {
        Ok(self
            .project
            .lxc_ok(&["config", "get", &self.name, key])?
            .trim()
            .to_string())
    }

    /// (uptime, start ticks of the shell, CLK_TCK) as one shell reads them, started
    /// under `prefix` (e.g. `.../bosh-lxd-helper monit-exec --`, or nothing).
    pub fn uptime_and_start(&self, prefix: &str) -> Result<(f64, f64, f64)> {
        let out = self.sh(&format!(
            "{prefix} sh -c 'cat /proc/uptime; cut -d\" \" -f22 /proc/$$/stat; getconf CLK_TCK' \
             2>/dev/null"
        ))?;
        let nums = out.lines().map(first_number).collect::<Result<Vec<_>>>()?;
        match nums[..] {
            [uptime, start, hz] => Ok((uptime, start, hz)),
            _ => bail!("expected uptime, start ticks and CLK_TCK, got {out:?}"),
        }
    }

    /// `monit-exec -- true` `runs` times: the µs each logged as its time before exec.
    pub fn monit_exec_ready_micros(&self, runs: usize) -> Result<Vec<u64>> {
        let out = self.sh(&format!(
            "for i in $(seq {runs}); do {GUEST_HELPER} monit-exec -- true 2>&1 \
             | grep -o 'ready in [0-9]* µs'; done"
        ))?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
            .collect())
    }

    /// A fresh custom volume `volume` attached as LXD does for the CPI: a disk device at
    /// `/warden-cpi-dev/<cid>` and the `user.bosh.disk.<cid>` key.
    pub fn attach_disk(&self, pool: &str, volume: &str, cid: &str) -> Result<()> {
        let p = self.project;
        if p.lxc(&["storage", "volume", "show", pool, volume])?
            .success()
        {
            p.lxc_ok(&["storage", "volume", "delete", pool, volume])?;
        }
        p.lxc_ok(&["storage", "volume", "create", pool, volume, "size=64MiB"])?;
        let (pool, source) = (format!("pool={pool}"), format!("source={volume}"));
        let path = format!("path=/warden-cpi-dev/{cid}");
        p.lxc_ok(&[
            "config", "device", "add", &self.name, cid, "disk", &pool, &source, &path,
        ])?;
        let key = format!("user.bosh.disk.{cid}=/warden-cpi-dev/{cid}");
        p.lxc_ok(&["config", "set", &self.name, &key])?;
        Ok(())
    }

    /// Remove the disk device `cid` and its key (the volume stays).
    pub fn detach_disk(&self, cid: &str) -> Result<()> {
        let p = self.project;
        p.lxc_ok(&["config", "device", "remove", &self.name, cid])?;
        p.lxc_ok(&[
            "config",
            "unset",
            &self.name,
            &format!("user.bosh.disk.{cid}"),
        ])?;
        Ok(())
    }

    /// The kernel's uptime in seconds as the helper reads it in the guest (`sysinfo(2)`,
    /// whole seconds rounded up; lxcfs does not change it).
    pub fn kernel_uptime(&self) -> Result<f64> {
        let (_, doc) = self.check()?;
        doc["uptime"]["kernel"]
            .as_f64()
            .with_context(|| format!("no uptime.kernel in {doc}"))
    }

    /// `bosh-lxd-helper check --json`: (exit code, the JSON document).
    pub fn check(&self) -> Result<(i32, serde_json::Value)> {
        let out = self.sh_any(&format!("{GUEST_HELPER} check --json 2>/dev/null"))?;
        let doc = serde_json::from_str(&out.stdout)
            .with_context(|| format!("check --json printed {:?}", out.stdout))?;
        Ok((out.code, doc))
    }
}

/// Before the first start of `name`: its NIC `dev` on the test bridge with MAC `mac`
/// (`eth0`, from the profile, gets an override; another is added).
pub fn set_nic(project: &Project, name: &str, dev: &str, mac: &str) -> Result<()> {
    let (hwaddr, net) = (
        format!("hwaddr={mac}"),
        format!("network={}", crate::daemon().bridge),
    );
    let nic_name = format!("name={dev}");
    let args: Vec<&str> = if dev == "eth0" {
        vec!["config", "device", "override", name, dev, &hwaddr]
    } else {
        vec![
            "config", "device", "add", name, dev, "nic", &net, &nic_name, &hwaddr,
        ]
    };
    project.lxc_ok(&args)?;
    Ok(())
}

/// Three random bytes, for MACs and addresses no other test container uses.
fn random_bytes() -> [u8; 3] {
    let id = uuid::Uuid::new_v4();
    let b = id.as_bytes();
    [b[0], b[1], b[2]]
}

/// A random address in <net>.200.0-<net>.249.255, a range no set-up hands out.
pub fn random_address() -> String {
    let [a, b, _] = random_bytes();
    format!("{}.{}.{}", crate::daemon().net, 200 + a % 50, 2 + b % 250)
}

/// A random MAC in LXD's `00:16:3e` range.
pub fn random_mac() -> String {
    let [a, b, c] = random_bytes();
    format!("00:16:3e:{a:02x}:{b:02x}:{c:02x}")
}

/// An agent settings document: one manual /16 network on `mac` with the bridge as
/// default gateway and DNS, and `disks` as persistent disks (hint `/warden-cpi-dev/<cid>`).
pub fn network_settings(agent_id: &str, ip: &str, mac: &str, disks: &[&str]) -> String {
    let disks: serde_json::Map<String, serde_json::Value> = disks
        .iter()
        .map(|cid| (cid.to_string(), format!("/warden-cpi-dev/{cid}").into()))
        .collect();
    let gateway = crate::daemon().gateway();
    serde_json::json!({
        "agent_id": agent_id,
        "networks": {"n": {
            "type": "manual", "ip": ip, "netmask": "255.255.0.0", "gateway": gateway,
            "default": ["dns", "gateway"], "dns": [gateway], "mac": mac,
        }},
        "disks": {"persistent": disks},
    })
    .to_string()
}

/// The texts of the `bad` findings of a `check --json` document.
pub fn bad_texts(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|f| f["level"] == "bad")
                .map(|f| f["text"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The first whitespace-separated number of `text`.
pub fn first_number(text: &str) -> Result<f64> {
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no number in {text:?}"))
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir =
        std::env::temp_dir().join(format!("bosh-lxd-helper-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
