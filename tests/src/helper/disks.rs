//! Persistent disks in test containers: a container from the repacked fixture image (boot
//! unit, mount shim) with an ephemeral volume, the stand-in agent's disk actions run with the agent's
//! `PATH`, restarts that wait for the agent's next boot, and what its log says about it.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Guest;
use crate::TEST_POOL;
use crate::lxc::{ExecResult, wait_for};
use crate::project::Project;

/// The stand-in agent (fixture stemcell).
pub const AGENT: &str = "/var/vcap/bosh/bin/bosh-agent";
/// The agent's `PATH` as its runit run script sets it: the shim comes first.
pub const AGENT_PATH: &str = "/var/vcap/bosh/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The stand-in agent's log: one `BOOT count=N store_mounted=...` line per start.
pub const AGENT_LOG: &str = "/var/vcap/bosh/log/stand-in-agent.log";
/// The helper's log in the guest; the settings file the fixture's agent.json names (the
/// CPI writes it); the agent's record of the last mounted disk.
pub use bosh_lxd_contract::paths::{AGENT_SETTINGS as SETTINGS, HELPER_LOG, MANAGED_DISK};
/// How a test restarts a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// `lxc restart` (graceful).
    Graceful,
    /// `lxc stop --force` then `lxc start`.
    ForceStopStart,
}

impl<'a> Guest<'a> {
    /// A container from the repacked fixture image with an ephemeral volume `<name>-eph`
    /// on `/var/vcap/data` (as the CPI attaches one), settings without disks, and the
    /// stand-in agent booted with them.
    pub fn launch_repacked(project: &'a Project, name: &str) -> Result<Guest<'a>> {
        let eph = format!("{name}-eph");
        let guest = Guest::launch(project, name, |p, n| {
            recreate_volume(p, &eph)?;
            let (pool, source) = (format!("pool={TEST_POOL}"), format!("source={eph}"));
            p.lxc_ok(&[
                "config",
                "device",
                "add",
                n,
                "eph",
                "disk",
                &pool,
                &source,
                "path=/var/vcap/data",
            ])?;
            Ok(())
        })?;
        let before = guest.booted_count()?;
        guest.write_settings(&[])?;
        guest.wait_agent_booted(before, "the first boot with settings")?;
        Ok(guest)
    }

    /// The stand-in agent's CLI with the agent's `PATH`, so that its `mount` and
    /// `umount` calls go through the shim as the real agent's do.
    pub fn agent(&self, args: &[&str]) -> Result<ExecResult> {
        let path = format!("PATH={AGENT_PATH}");
        let mut cmd = vec!["env", path.as_str(), AGENT];
        cmd.extend(args);
        self.project.exec(&self.name, &cmd)
    }

    /// Write the settings file with `cids` as `disks.persistent`, as the CPI does.
    pub fn write_settings(&self, cids: &[&str]) -> Result<()> {
        let disks: serde_json::Map<String, serde_json::Value> = cids
            .iter()
            .map(|cid| (cid.to_string(), format!("/warden-cpi-dev/{cid}").into()))
            .collect();
        let doc = serde_json::json!({
            "agent_id": format!("agent-{}", self.name),
            "disks": {"persistent": disks},
        });
        self.write(SETTINGS, &doc.to_string(), "0600")
    }

    /// Attach a fresh volume named `cid` as the CPI does (device, key, settings), then
    /// the agent's add_persistent_disk and mount_disk; both must answer `{}`.
    pub fn attach_and_mount(&self, cid: &str) -> Result<()> {
        self.attach_disk(TEST_POOL, cid, cid)?;
        self.write_settings(&[cid])?;
        let hint = format!("/warden-cpi-dev/{cid}");
        for args in [
            &["add_persistent_disk", cid, &hint][..],
            &["mount_disk", cid],
        ] {
            let out = self.agent(args)?;
            if !out.success() || out.stdout.trim() != "{}" {
                bail!("agent {args:?}: {out:?}\n{}", self.logs());
            }
        }
        Ok(())
    }

    /// How many times the stand-in agent has finished booting (`BOOTED` lines).
    pub fn booted_count(&self) -> Result<u32> {
        let out = self.sh(&format!("grep -c ' BOOTED count=' {AGENT_LOG} || true"))?;
        out.trim()
            .parse()
            .with_context(|| format!("counting BOOTED lines: {out:?}"))
    }

    /// Wait until the agent has booted more than `before` times; the `BOOT` line of the
    /// start that got there (what `/var/vcap/store` was when that agent process started).
    pub fn wait_agent_booted(&self, before: u32, what: &str) -> Result<String> {
        let waited = wait_for(
            &format!("the agent of {} to boot ({what})", self.name),
            Duration::from_secs(120),
            || Ok((self.booted_count()? > before).then_some(())),
        );
        if let Err(e) = waited {
            bail!("{e:#}\n{}", self.logs());
        }
        let last = self.sh(&format!("grep ' BOOTED count=' {AGENT_LOG} | tail -n1"))?;
        let count = last
            .split(" BOOTED count=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .with_context(|| format!("no count in {last:?}"))?;
        let boot = self.sh(&format!(
            "grep ' BOOT count={count} ' {AGENT_LOG} | tail -n1"
        ))?;
        Ok(boot.trim().to_string())
    }

    /// Restart the container `how`, then wait for the agent's next boot; its `BOOT` line.
    pub fn restart(&self, how: Restart) -> Result<String> {
        let before = self.booted_count()?;
        // systemd may refuse a graceful stop while it is still starting units
        self.sh_any("timeout 60 systemctl is-system-running --wait")?;
        let p = self.project;
        match how {
            Restart::Graceful => {
                p.lxc_ok(&["restart", &self.name, "--timeout", "60"])?;
            }
            Restart::ForceStopStart => {
                p.lxc_ok(&["stop", "--force", &self.name])?;
                p.lxc_ok(&["start", &self.name])?;
            }
        }
        self.wait_agent_booted(before, &format!("after {how:?}"))
    }

    /// How many mounts `/proc/self/mountinfo` of a guest shell lists at `path`.
    pub fn mounts_on(&self, path: &str) -> Result<usize> {
        let out = self.sh(&format!(
            "awk -v p='{path}' '$5 == p' /proc/self/mountinfo | wc -l"
        ))?;
        out.trim()
            .parse()
            .with_context(|| format!("counting mounts on {path}: {out:?}"))
    }

    /// How mountinfo roots name the custom volume `cid`: `custom/<project>_<cid>`.
    pub fn volume_root(&self, cid: &str) -> String {
        format!("custom/{}_{cid}", self.project.name())
    }

    /// Every mountinfo line, in every mount namespace of the guest, whose root is the
    /// volume of `cid` (sub-paths included): `<root> <mount point>`.
    pub fn volume_mounts(&self, cid: &str) -> Result<Vec<String>> {
        let needle = self.volume_root(cid);
        let out = self.sh(&format!(
            "for f in /proc/[0-9]*/mountinfo; do cat $f 2>/dev/null; done \
             | awk -v n='{needle}' 'index($4, n) {{ print $4, $5 }}' | sort -u"
        ))?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// The tails of the agent's and the helper's logs, for failure messages.
    pub fn logs(&self) -> String {
        let tail = |path: &str| {
            self.sh_any(&format!("tail -n 15 {path}"))
                .map(|r| r.stdout)
                .unwrap_or_else(|e| format!("({e:#})"))
        };
        format!(
            "--- {AGENT_LOG}:\n{}--- {HELPER_LOG}:\n{}",
            tail(AGENT_LOG),
            tail(HELPER_LOG)
        )
    }

    /// Delete the container, its ephemeral volume and the volumes `cids`.
    pub fn delete_with_volumes(&self, cids: &[&str]) -> Result<()> {
        self.project.delete_instance(&self.name)?;
        let eph = format!("{}-eph", self.name);
        for volume in cids.iter().copied().chain([eph.as_str()]) {
            let p = self.project;
            if p.lxc(&["storage", "volume", "show", TEST_POOL, volume])?
                .success()
            {
                p.lxc_ok(&["storage", "volume", "delete", TEST_POOL, volume])?;
            }
        }
        Ok(())
    }
}

/// The pieces of a `BOOT` line that say the store was bound from `/warden-cpi-dev/<cid>`
/// when the agent started.
pub fn store_bound_from(cid: &str) -> String {
    format!("store_mounted=yes store_mounts=1 store_from=/warden-cpi-dev/{cid} ")
}

/// A fresh, empty custom volume `name` on the test pool.
fn recreate_volume(project: &Project, name: &str) -> Result<()> {
    if project
        .lxc(&["storage", "volume", "show", TEST_POOL, name])?
        .success()
    {
        project.lxc_ok(&["storage", "volume", "delete", TEST_POOL, name])?;
    }
    project.lxc_ok(&["storage", "volume", "create", TEST_POOL, name, "size=64MiB"])?;
    Ok(())
}
