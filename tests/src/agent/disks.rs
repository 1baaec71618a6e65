//! Persistent disks with the real agent, as the director drives them: the CPI's
//! `create_disk`/`attach_disk`/`detach_disk` and the agent's `add_persistent_disk`,
//! `mount_disk`, `update_settings`, `unmount_disk`, `remove_persistent_disk`; and what a
//! user would check in the guest: where `/var/vcap/store` is mounted in the container's
//! and in monit's mount namespace (the helper runs monit in its own), every mount of a
//! volume in any namespace, a checksummed file written by a process in monit's namespace
//! (where the jobs run), and whether the store was bound before the agent started.

use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use super::vm::AgentVm;
use crate::{TEST_POOL, daemon};

/// The agent's store directory.
pub const STORE: &str = "/var/vcap/store";
/// Where the agent mounts a second disk (the migration target).
pub const MIGRATION_TARGET: &str = "/var/vcap/store_migration_target";
/// The helper's log in the guest (its `boot` and the shim append to it).
pub const HELPER_LOG: &str = "/var/vcap/bosh/log/bosh-lxd-helper.log";
/// The helper's boot unit, ordered before runit (which starts the agent).
pub const HELPER_UNIT: &str = "bosh-lxd-helper-boot.service";
/// The checksummed file the tests write on the store.
pub const DATA_FILE: &str = "/var/vcap/store/job-data/data.bin";

/// The hint the CPI gives for disk `cid`.
pub fn hint(cid: &str) -> String {
    format!("/warden-cpi-dev/{cid}")
}

/// A mount namespace of the guest, named by a process in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ns {
    /// The container's own (where `exec` runs and the agent lives).
    Container,
    /// The namespace of process `pid` (monit's, and its jobs').
    Of(u32),
}

impl Ns {
    /// The mountinfo file that shows this namespace.
    fn mountinfo(&self) -> String {
        match self {
            Ns::Container => "/proc/self/mountinfo".to_owned(),
            Ns::Of(pid) => format!("/proc/{pid}/mountinfo"),
        }
    }

    /// A command prefix that runs in this namespace.
    fn enter(&self) -> String {
        match self {
            Ns::Container => String::new(),
            Ns::Of(pid) => format!("nsenter -t {pid} -m "),
        }
    }
}

impl AgentVm {
    /// `create_disk` of `size_mib` MiB for this VM, as the director asks for it.
    pub fn create_disk(&self, size_mib: u64) -> Result<String> {
        let cid = self
            .f
            .cpi
            .ok("create_disk", json!([size_mib, {}, self.vm]))?;
        cid.as_str()
            .map(str::to_owned)
            .with_context(|| format!("create_disk answered {cid}"))
    }

    /// The director's attach: the CPI's `attach_disk`, the agent's
    /// `add_persistent_disk` with the hint it answered, then `mount_disk`.
    pub fn attach_and_mount(&self, cid: &str) -> Result<()> {
        let answer = self.f.cpi.ok("attach_disk", json!([self.vm, cid]))?;
        ensure!(
            answer == json!(hint(cid)),
            "attach_disk answered {answer}, not the hint {}",
            hint(cid)
        );
        self.mbus
            .call("add_persistent_disk", json!([cid, answer]), 60)?;
        self.mbus.call("mount_disk", json!([cid]), 120)?;
        Ok(())
    }

    /// A deploy's first persistent disk, as the director gives it: `create_disk` of
    /// `size_mib`, the jobs stopped, attach and `mount_disk`, `update_settings`, the jobs
    /// started again. Returns the disk's CID.
    pub fn deploy_disk(&self, size_mib: u64) -> Result<String> {
        let cid = self.create_disk(size_mib)?;
        self.stop_jobs()?;
        self.attach_and_mount(&cid)?;
        self.update_settings()?;
        self.start_jobs()?;
        Ok(cid)
    }

    /// What the director sends after it changed disks (`update_instance_settings`): the
    /// trusted certificates and the associations of its unmanaged disks (none here).
    pub fn update_settings(&self) -> Result<()> {
        let settings = json!({"trusted_certs": "", "disk_associations": []});
        self.mbus.call("update_settings", json!([settings]), 60)?;
        Ok(())
    }

    /// The director's detach: `unmount_disk` when `list_disk` names the disk, the agent's
    /// `remove_persistent_disk`, then the CPI's `detach_disk`.
    pub fn unmount_and_detach(&self, cid: &str) -> Result<()> {
        let listed = self.mbus.call("list_disk", json!([]), 60)?;
        let listed = listed.as_array().cloned().unwrap_or_default();
        if listed.iter().any(|d| d == cid) {
            self.mbus.call("unmount_disk", json!([cid]), 120)?;
        }
        self.mbus.call("remove_persistent_disk", json!([cid]), 60)?;
        self.f.cpi.ok("detach_disk", json!([self.vm, cid]))?;
        Ok(())
    }

    /// The PID of the monit daemon (runit's `monit` service), which runs in a mount
    /// namespace of its own, not the container's.
    pub fn monit_ns(&self) -> Result<Ns> {
        let out = self.sh(
            "pid=$(cat /etc/sv/monit/supervise/pid) && echo $pid && cat /proc/$pid/comm && \
             readlink /proc/$pid/ns/mnt /proc/1/ns/mnt",
        )?;
        let lines: Vec<&str> = out.lines().collect();
        let [pid, comm, ns, init_ns] = lines[..] else {
            bail!("monit's pid, name and namespaces: {out:?}");
        };
        ensure!(comm == "monit-actual", "runit's monit is {comm:?}: {out:?}");
        ensure!(
            ns != init_ns,
            "monit runs in the container's mount namespace ({ns}), not its own"
        );
        Ok(Ns::Of(pid.parse().with_context(|| format!("pid {pid:?}"))?))
    }

    /// The PID of the monit job `sleeper` (a child of monit, in its namespace).
    pub fn sleeper_ns(&self) -> Result<Ns> {
        let pid = self.sh("cat /var/vcap/sys/run/sleeper.pid")?;
        let pid = pid.trim();
        Ok(Ns::Of(pid.parse().with_context(|| format!("pid {pid:?}"))?))
    }

    /// `<root> <source>` of every mount at `path` in namespace `ns`, top last.
    pub fn mounts_at(&self, ns: &Ns, path: &str) -> Result<Vec<String>> {
        let out = self.sh(&format!(
            "awk -v p='{path}' '$5 == p {{ for (i = 7; $i != \"-\"; i++); print $4, $(i + 2) }}' {}",
            ns.mountinfo()
        ))?;
        Ok(out.lines().map(str::to_owned).collect())
    }

    /// How mountinfo roots name the custom volume `cid`: `.../custom/<project>_<cid>`.
    pub fn volume_root(&self, cid: &str) -> String {
        format!("custom/{}_{cid}", self.f.project.name())
    }

    /// Fails unless `/var/vcap/store` is one mount of the volume `cid` and nothing is on
    /// the migration target, in namespace `ns`.
    pub fn expect_store_once(&self, ns: &Ns, cid: &str) -> Result<()> {
        let store = self.mounts_at(ns, STORE)?;
        let target = self.mounts_at(ns, MIGRATION_TARGET)?;
        let root = self.volume_root(cid);
        let from_volume = |m: &String| m.split(' ').next().is_some_and(|r| r.ends_with(&root));
        ensure!(
            store.len() == 1 && store.iter().all(from_volume) && target.is_empty(),
            "{ns:?}: {STORE} should be one mount of {root} and nothing on {MIGRATION_TARGET}; \
             store: {store:?}, migration target: {target:?}"
        );
        Ok(())
    }

    /// Fails unless the store is bound once from `cid` in the container, in monit's
    /// namespace and in the sleeper job's ([`AgentVm::expect_store_once`]).
    pub fn expect_store_everywhere(&self, cid: &str) -> Result<()> {
        for ns in [Ns::Container, self.monit_ns()?, self.sleeper_ns()?] {
            self.expect_store_once(&ns, cid)?;
        }
        Ok(())
    }

    /// `<mountinfo file>: <root> <mount point>` of every mount of volume `cid` in every
    /// process's mount namespace in the guest.
    pub fn volume_mounts_everywhere(&self, cid: &str) -> Result<Vec<String>> {
        let root = self.volume_root(cid);
        self.sh(&format!(
            "for f in /proc/[0-9]*/mountinfo; do awk -v f=$f -v r='{root}' \
             'index($4, r) {{ print f \": \" $4, $5 }}' $f 2>/dev/null; done; true"
        ))
        .map(|out| out.lines().map(str::to_owned).collect())
    }

    /// Writes 1 MiB of random bytes to [`DATA_FILE`] from namespace `ns` (as a job would);
    /// its SHA-256.
    pub fn write_data(&self, ns: &Ns) -> Result<String> {
        let dir = DATA_FILE.rsplit_once('/').map_or(STORE, |(d, _)| d);
        self.sh(&format!(
            "{e}mkdir -p {dir} && {e}sh -c 'head -c 1048576 /dev/urandom >{DATA_FILE} && sync'",
            e = ns.enter()
        ))?;
        self.data_sha(ns)
    }

    /// The SHA-256 of [`DATA_FILE`] as namespace `ns` sees it.
    pub fn data_sha(&self, ns: &Ns) -> Result<String> {
        let out = self.sh(&format!("{}sha256sum {DATA_FILE}", ns.enter()))?;
        out.split_whitespace()
            .next()
            .map(str::to_owned)
            .with_context(|| format!("sha256sum printed {out:?}"))
    }

    /// The volume `cid` on the host (the pool's directory for it).
    pub fn volume_dir(&self, cid: &str) -> PathBuf {
        PathBuf::from(format!(
            "{}/storage-pools/{TEST_POOL}/custom/{}_{cid}",
            daemon().dir,
            self.f.project.name()
        ))
    }

    /// The SHA-256 of [`DATA_FILE`] inside volume `cid`, read on the host.
    pub fn data_sha_on_volume(&self, cid: &str) -> Result<String> {
        let rel = DATA_FILE.trim_start_matches(STORE).trim_start_matches('/');
        let path = self.volume_dir(cid).join(rel);
        let out = std::process::Command::new("sha256sum")
            .arg(&path)
            .output()
            .context("running sha256sum")?;
        ensure!(
            out.status.success(),
            "sha256sum {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .next()
            .map(str::to_owned)
            .with_context(|| format!("sha256sum printed {text:?}"))
    }

    /// Lines in the helper's log.
    pub fn helper_log_lines(&self) -> Result<usize> {
        let out = self.sh(&format!("cat {HELPER_LOG} 2>/dev/null | wc -l"))?;
        out.trim()
            .parse()
            .with_context(|| format!("wc -l printed {out:?}"))
    }

    /// Fails unless, in this boot, the helper bound the volume `cid` onto the store (a log
    /// line after the first `skip` lines) and its boot unit was done before runit, which
    /// starts the agent, was started (systemd's monotonic timestamps of this boot).
    pub fn expect_store_bound_before_agent(&self, cid: &str, skip: usize) -> Result<()> {
        let log = self.sh(&format!("tail -n +{} {HELPER_LOG}", skip + 1))?;
        let bound = format!("bound {} onto {STORE} (disk {cid},", hint(cid));
        ensure!(
            log.lines()
                .any(|l| l.contains(&bound) && l.contains("INFO")),
            "the helper did not bind {cid} onto the store in this boot; its log since:\n{log}"
        );
        let helper_done = self.unit_monotonic(HELPER_UNIT, "ActiveEnterTimestampMonotonic")?;
        let runit = self.unit_monotonic("runit.service", "ExecMainStartTimestampMonotonic")?;
        ensure!(
            helper_done > 0 && runit > 0 && helper_done <= runit,
            "{HELPER_UNIT} was done at {helper_done} µs, runit (the agent) started at {runit} µs"
        );
        Ok(())
    }

    fn unit_monotonic(&self, unit: &str, property: &str) -> Result<u64> {
        let out = self.sh(&format!("systemctl show -P {property} {unit}"))?;
        out.trim()
            .parse()
            .with_context(|| format!("{unit} {property}={out:?}"))
    }

    /// Fails unless `get_state full` reports the persistent disk's vitals (the agent
    /// reports them only while `/var/vcap/store` is a mount point).
    pub fn expect_persistent_vitals(&self) -> Result<Value> {
        let state = self.mbus.call("get_state", json!(["full"]), 60)?;
        ensure!(
            state["vitals"]["disk"].get("persistent").is_some(),
            "get_state full has no vitals.disk.persistent: {state}"
        );
        Ok(state)
    }
}
