//! monit in test containers from the repacked fixture image: stand-ins for the monit
//! binary (the repack keeps a stemcell's binary as `monit-actual`) and for the stemcell's
//! access helper, and the ways monit is started and called, all through the overlay's
//! wrapper `/var/vcap/bosh/bin/monit`: the runit run script, a Noble-shaped unit, the
//! stock run line, and the agent's CLI calls.

use std::time::Duration;

use anyhow::{Result, bail};

use super::Guest;
use super::disks::AGENT_PATH;
use crate::lxc::{ExecResult, wait_for};

/// The overlay's wrapper, where every monit call goes.
pub const MONIT: &str = "/var/vcap/bosh/bin/monit";
/// The monit binary behind it (a stand-in in the tests).
pub const MONIT_ACTUAL: &str = "/var/vcap/bosh/bin/monit-actual";
/// Where the stemcell keeps `permit_monit_access`.
pub const ACCESS_HELPER: &str = "/var/vcap/bosh/etc/monit-access-helper.sh";
/// The command line of Jammy's stock run script and Noble's stock unit.
pub const STOCK_RUN_LINE: &str =
    "nice -n -10 /var/vcap/bosh/bin/monit -I -c /var/vcap/bosh/etc/monitrc";
/// Where [`Guest::start_stock_run_line`] sends the daemon's stderr.
pub const RUN_LINE_STDERR: &str = "/root/monit.stderr";

/// A monit stand-in: with `-I` the daemon (a loop whose process name is `monit-actual`),
/// otherwise a CLI call that answers on stdout with its arguments and its mount namespace.
pub const STAND_IN_MONIT: &str = "#!/bin/sh\n# stand-in for monit 5.2.5\n\
case \" $* \" in *' -I '*) while :; do sleep 1; done ;; esac\n\
echo \"args: $*\"\necho \"mnt: $(readlink /proc/$$/ns/mnt)\"\n";

/// A `monit.service` with the shape of Noble's stock unit (bosh-linux-stemcell-builder
/// `stemcell_builder/stages/bosh_monit/assets/monit.service`).
pub const NOBLE_LIKE_UNIT: &str = "[Unit]\nDescription=monit (Noble-shaped test unit)\n\
ConditionPathExists=/var/vcap/data/sys/run\n\n[Service]\n\
ExecStart=/bin/bash -c 'PATH=/var/vcap/bosh/bin:$PATH exec nice -n -10 /var/vcap/bosh/bin/monit -I -c /var/vcap/bosh/etc/monitrc'\n\
Restart=always\nKillMode=process\n";

/// An access helper like the stemcell's newer ones when they cannot set up a cgroup.
pub const FAILING_ACCESS_HELPER: &str =
    "permit_monit_access() { echo 'permit_monit_access: no cgroup to join' >&2; return 1; }\n";

/// An access helper that behaves like Jammy's: the net_cls mount point from
/// `/proc/self/mounts` (empty when there is none), a `monit-api-access` cgroup under it,
/// its classid, the caller's pid joined.
pub const JAMMY_LIKE_ACCESS_HELPER: &str = "permit_monit_access() {\n\
  net_cls_location=$(grep '^cgroup .*net_cls' /proc/self/mounts | cut -d' ' -f2)\n\
  mkdir -p \"${net_cls_location}/monit-api-access\"\n\
  echo 2958295041 > \"${net_cls_location}/monit-api-access/net_cls.classid\"\n\
  echo $$ > \"${net_cls_location}/monit-api-access/tasks\"\n}\n";

impl Guest<'_> {
    /// Installs the stand-in binary as `monit-actual` and `access_helper` as the
    /// stemcell's access helper.
    pub fn install_monit(&self, access_helper: &str) -> Result<()> {
        self.write(MONIT_ACTUAL, STAND_IN_MONIT, "0755")?;
        self.write(ACCESS_HELPER, access_helper, "0644")
    }

    /// With the overlay's Jammy wiring (runit run script, `bosh-lxd-monit`, the wrapper):
    /// installs the stand-ins, starts service `monit` and waits until its daemon runs.
    pub fn start_overlay_monit(&self, access_helper: &str) -> Result<u32> {
        self.install_monit(access_helper)?;
        self.sh("ln -sfn /etc/sv/monit /etc/service/monit")?;
        self.wait_monit()
    }

    /// With the overlay's Noble wiring (`monit.service.d/bosh-lxd.conf`, `bosh-lxd-monit`,
    /// the wrapper): installs a `monit.service` shaped like Noble's and the stand-in
    /// binary as `monit-actual` (where the repack keeps a monit binary it finds at
    /// `monit`), starts the unit and waits until its daemon runs.
    pub fn start_overlay_monit_noble(&self) -> Result<u32> {
        self.write(MONIT_ACTUAL, STAND_IN_MONIT, "0755")?;
        self.write("/etc/systemd/system/monit.service", NOBLE_LIKE_UNIT, "0644")?;
        self.sh(
            "mkdir -p /var/vcap/data/sys/run && systemctl daemon-reload && systemctl start monit",
        )?;
        self.wait_monit()
    }

    /// Starts the daemon with [`STOCK_RUN_LINE`] as the stock run script does (PATH first
    /// `/var/vcap/bosh/bin`), in the background, its stderr in [`RUN_LINE_STDERR`]; waits
    /// until it runs.
    pub fn start_stock_run_line(&self) -> Result<u32> {
        self.sh(&format!(
            "PATH={AGENT_PATH} setsid {STOCK_RUN_LINE} </dev/null >/dev/null \
             2>{RUN_LINE_STDERR} &"
        ))?;
        self.wait_monit()
    }

    /// Stops Jammy's service `monit` (`sv stop`) and waits until its daemon is gone.
    pub fn stop_overlay_monit(&self) -> Result<()> {
        self.sh("sv stop monit")?;
        wait_for("monit to stop", Duration::from_secs(20), || {
            let out = self.sh_any("pgrep -x monit-actual")?;
            Ok(out.stdout.trim().is_empty().then_some(()))
        })
    }

    /// Starts `monit-actual -I` directly, outside the wrapper and monit-exec; its pid.
    pub fn start_plain_monit(&self) -> Result<u32> {
        self.sh(&format!(
            "setsid {MONIT_ACTUAL} -I -c /var/vcap/bosh/etc/monitrc </dev/null >/dev/null 2>&1 &"
        ))?;
        self.wait_monit()
    }

    /// A monit CLI call as the agent makes it: `monit <args>` found through its PATH.
    pub fn monit_cli(&self, args: &str) -> Result<ExecResult> {
        self.sh_any(&format!("cd / && PATH={AGENT_PATH} monit {args}"))
    }

    /// The pid of the monit daemon (the stand-in, named `monit-actual`), once it runs.
    pub fn wait_monit(&self) -> Result<u32> {
        wait_for("the monit daemon", Duration::from_secs(30), || {
            let out = self.sh_any("pgrep -o -x monit-actual")?;
            Ok(out.stdout.trim().parse().ok())
        })
    }

    /// Fails when a cgroup v1 hierarchy with the net_cls controller is mounted in the
    /// guest. This host binds net_cls to cgroup2, so its containers have none: the case
    /// the wrapper's access-step tests are about.
    pub fn require_no_net_cls(&self) -> Result<()> {
        let out =
            self.sh("awk '$3 == \"cgroup\" && (\",\" $4 \",\") ~ /,net_cls,/' /proc/self/mounts")?;
        if !out.trim().is_empty() {
            bail!("a net_cls cgroup v1 hierarchy is mounted in the guest: {out}");
        }
        Ok(())
    }

    /// The command line of process `pid`, its arguments joined by spaces.
    pub fn cmdline(&self, pid: u32) -> Result<String> {
        Ok(self
            .sh(&format!("tr '\\0' ' ' </proc/{pid}/cmdline"))?
            .trim_end()
            .to_string())
    }

    /// Whether `path` exists in the guest.
    pub fn exists(&self, path: &str) -> Result<bool> {
        match self.sh_any(&format!("test -e '{path}'"))?.code {
            0 => Ok(true),
            1 => Ok(false),
            code => bail!("test -e {path} exited {code}"),
        }
    }
}
