//! The run's LXD project: created once per run, torn down at the end; instances and images in it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::built::{env_file, script_path};
use crate::lxc::{ExecResult, lxc, lxc_ok, require_lxd, run, wait_for};
use crate::{PROJECT_PREFIX, TEST_POOL, daemon};

/// Alias of the fixture stemcell's image inside a test project.
pub const FIXTURE_ALIAS: &str = "fixture";

/// An LXD project for tests. Shared by the run when `BOSH_LXD_TEST_RUN_ID` is set
/// (then `scripts/test` deletes it), else owned by this value and deleted on drop.
#[derive(Debug)]
pub struct Project {
    name: String,
    owned: bool,
}

impl Project {
    /// The run's project, created (once, under a lock) when missing, with the
    /// images/profiles/volumes features on and a default profile whose root disk is on
    /// the btrfs pool and whose `eth0` is on the isolated bridge.
    pub fn for_run() -> Result<Project> {
        require_lxd()?;
        let (name, owned) = match std::env::var("BOSH_LXD_TEST_RUN_ID") {
            Ok(id) if !id.is_empty() => (format!("{PROJECT_PREFIX}{id}"), false),
            _ => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                (format!("{PROJECT_PREFIX}own-{}", &id[..12]), true)
            }
        };
        let project = Project { name, owned };
        let _lock = lock(&format!("project-{}", project.name))?;
        project.ensure_created()?;
        Ok(project)
    }

    /// Another project of the run, `bosh-lxd-test-<run id>-<suffix>-<random>` (so
    /// `scripts/test` deletes it with the run's), set up like the run's project and deleted
    /// (bounded) when dropped.
    pub fn extra(suffix: &str) -> Result<Project> {
        require_lxd()?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let run = match std::env::var("BOSH_LXD_TEST_RUN_ID") {
            Ok(run) if !run.is_empty() => run,
            _ => format!("own-{}", &id[8..20]),
        };
        let name = format!("{PROJECT_PREFIX}{run}-{suffix}-{}", &id[..8]);
        let project = Project { name, owned: true };
        project.ensure_created()?;
        Ok(project)
    }

    fn ensure_created(&self) -> Result<()> {
        let p = self.name.as_str();
        // scripts/setup-host sweeps test projects whose owner process is gone: the project
        // is made with its owner's marks, never without them.
        let owner = owner_keys()?;
        if lxc(&["project", "show", p])?.success() {
            let mut set = vec!["project", "set", p];
            set.extend(owner.iter().map(String::as_str));
            lxc_ok(&set)?;
        } else {
            let mut create = vec![
                "project",
                "create",
                p,
                "-c",
                "features.images=true",
                "-c",
                "features.profiles=true",
                "-c",
                "features.storage.volumes=true",
            ];
            for key in &owner {
                create.extend(["-c", key.as_str()]);
            }
            lxc_ok(&create)?;
        }
        if !lxc(&[
            "profile",
            "device",
            "get",
            "default",
            "root",
            "pool",
            "--project",
            p,
        ])?
        .success()
        {
            let pool = format!("pool={TEST_POOL}");
            lxc_ok(&[
                "profile",
                "device",
                "add",
                "default",
                "root",
                "disk",
                "path=/",
                &pool,
                "--project",
                p,
            ])?;
        }
        if !lxc(&[
            "profile",
            "device",
            "get",
            "default",
            "eth0",
            "network",
            "--project",
            p,
        ])?
        .success()
        {
            let net = format!("network={}", daemon().bridge);
            lxc_ok(&[
                "profile",
                "device",
                "add",
                "default",
                "eth0",
                "nic",
                &net,
                "name=eth0",
                "--project",
                p,
            ])?;
        }
        Ok(())
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `lxc ARGS... --project <this>`.
    pub fn lxc(&self, args: &[&str]) -> Result<ExecResult> {
        let mut all = args.to_vec();
        all.extend(["--project", self.name.as_str()]);
        lxc(&all)
    }

    /// Like [`Project::lxc`], failing with stderr when `lxc` fails.
    pub fn lxc_ok(&self, args: &[&str]) -> Result<String> {
        let mut all = args.to_vec();
        all.extend(["--project", self.name.as_str()]);
        lxc_ok(&all)
    }

    /// Runs `cmd` inside `instance` and returns its exit code and output (recorded by the
    /// daemon, see [`crate::exec`]).
    pub fn exec(&self, instance: &str, cmd: &[&str]) -> Result<ExecResult> {
        crate::exec::exec(&self.name, instance, cmd)
    }

    /// `GET /1.0/instances/<name>` in this project: config, devices, status...
    pub fn instance(&self, name: &str) -> Result<Value> {
        self.query(&format!("/1.0/instances/{name}"))
    }

    /// `GET` of an API path in this project, as JSON.
    pub fn query(&self, path: &str) -> Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{sep}project={}", self.name);
        let out = lxc_ok(&["query", &url])?;
        serde_json::from_str(&out).with_context(|| format!("decoding lxc query {url}"))
    }

    /// True when the instance exists in this project.
    pub fn has_instance(&self, name: &str) -> Result<bool> {
        Ok(self.lxc(&["info", name])?.success())
    }

    /// Launches a container from the fixture stemcell and waits until its init is up.
    pub fn launch_fixture(&self, name: &str) -> Result<()> {
        let alias = fixture_image(self)?;
        self.lxc_ok(&["launch", &alias, name])?;
        self.wait_booted(name)
    }

    /// Waits until systemd in `name` has finished starting up (running or degraded).
    pub fn wait_booted(&self, name: &str) -> Result<()> {
        wait_for(
            &format!("{name} to finish booting"),
            Duration::from_secs(90),
            || {
                let r = self.exec(name, &["systemctl", "is-system-running"])?;
                let state = r.stdout.trim();
                Ok(matches!(state, "running" | "degraded").then_some(()))
            },
        )
    }

    /// Deletes instance `name` as a clean-up (a `Drop`): running or not, a missing one is
    /// fine; bounded and reported on stderr like every clean-up ([`crate::cleanup`]).
    pub fn cleanup_instance(&self, name: &str) -> bool {
        let (cli, p) = (daemon().cli, self.name.as_str());
        let script = format!(
            "{cli} info '{name}' --project '{p}' >/dev/null 2>&1 || exit 0; \
             exec {cli} delete --force '{name}' --project '{p}'"
        );
        crate::cleanup::cleanup(
            &format!("{cli} delete --force {name} --project {p}"),
            Command::new("bash").args(["-c", &script]),
        )
    }

    /// Deletes an instance, running or not; a missing one is fine.
    pub fn delete_instance(&self, name: &str) -> Result<()> {
        if self.has_instance(name)? {
            self.lxc_ok(&["delete", "--force", name])?;
        }
        Ok(())
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if self.owned {
            crate::cleanup::delete_project(&self.name, daemon().cli);
        }
    }
}

/// The config keys, as `KEY=VALUE`, that mark a test project with its owner process:
/// `user.bosh-lxd.owner-pid` and `user.bosh-lxd.owner-start`, that process's start time
/// (field 22 of `/proc/PID/stat`), so that a PID the kernel hands out again does not keep a
/// leftover project. The owner is `BOSH_LXD_TEST_OWNER_PID` (the `scripts/test` run) or
/// else this test process. `scripts/setup-host` deletes a test project only once its owner
/// is gone; give every project a test makes these keys (`project create -c KEY=VALUE`).
pub fn owner_keys() -> Result<Vec<String>> {
    let pid = match std::env::var("BOSH_LXD_TEST_OWNER_PID") {
        Ok(pid) if !pid.is_empty() => pid
            .parse::<u32>()
            .with_context(|| format!("BOSH_LXD_TEST_OWNER_PID={pid} is not a process id"))?,
        _ => std::process::id(),
    };
    let mut keys = vec![format!("user.bosh-lxd.owner-pid={pid}")];
    // An owner already gone gets the PID alone; the sweep then checks the PID only.
    if let Some(start) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .as_deref()
        .and_then(stat_start_time)
    {
        keys.push(format!("user.bosh-lxd.owner-start={start}"));
    }
    Ok(keys)
}

/// Field 22 (`starttime`) of a `/proc/PID/stat` line. Field 2, the command name in
/// parentheses, may itself hold spaces and parentheses: fields are counted after its last
/// `)`, which is field 3's start.
fn stat_start_time(stat: &str) -> Option<&str> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(22 - 3)
}

/// Takes an exclusive lock shared by every test process of this machine, by name.
pub fn lock(name: &str) -> Result<File> {
    let dir = Path::new("/run/bosh-lxd/locks");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening lock {}", path.display()))?;
    f.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(f)
}

/// Imports the fixture stemcell into `project` once and returns its alias.
///
/// The stemcell comes from `BOSH_LXD_FIXTURE_STEMCELL` (set by `scripts/test`) or is
/// built (cached by input hash) with `tests/fixtures/build-stemcell`.
pub fn fixture_image(project: &Project) -> Result<String> {
    let _lock = lock(&format!("image-{}", project.name()))?;
    if project.lxc(&["image", "show", FIXTURE_ALIAS])?.success() {
        return Ok(FIXTURE_ALIAS.to_string());
    }
    let rootfs = fixture_rootfs(&fixture_stemcell()?)?;
    import_split_image(project, &rootfs, FIXTURE_ALIAS)?;
    Ok(FIXTURE_ALIAS.to_string())
}

/// Imports `rootfs` into `project` as a split image with alias `alias`. Its `metadata.yaml`
/// names the project, so the image is the project's own: the daemon shares one image file
/// between projects, and a delete in one project can remove it under another's import
/// (`docs/decisions.md` §7).
pub fn import_split_image(project: &Project, rootfs: &Path, alias: &str) -> Result<()> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("bosh-lxd-meta-{}", &id[..12]));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let yaml = format!(
        "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: debian\n  \
         test_project: {}\n",
        project.name()
    );
    let result = (|| {
        std::fs::write(dir.join("metadata.yaml"), yaml)?;
        let (d, meta) = (dir.to_string_lossy(), dir.join("meta.tar.gz"));
        let meta = meta.to_string_lossy();
        run(Command::new("tar").args(["-czf", &meta, "-C", &d, "metadata.yaml"]))?
            .ok("packing the image metadata")?;
        project.lxc_ok(&[
            "image",
            "import",
            &meta,
            &rootfs.to_string_lossy(),
            "--alias",
            alias,
        ])
    })();
    std::fs::remove_dir_all(&dir).ok();
    result.map(drop)
}

/// Path of the fixture stemcell tarball, building it when needed.
pub fn fixture_stemcell() -> Result<PathBuf> {
    if let Some(path) = env_file("BOSH_LXD_FIXTURE_STEMCELL") {
        return Ok(path);
    }
    let _lock = lock("fixture-build")?;
    script_path("tests/fixtures/build-stemcell", &[])
}

/// The stemcell's `image` (the rootfs of a split image), extracted once next to the stemcell.
fn fixture_rootfs(stemcell: &Path) -> Result<PathBuf> {
    let _lock = lock("fixture-split")?;
    let rootfs = stemcell.with_extension("image");
    if !rootfs.is_file() {
        let cmd = format!(
            "set -e; t=$(mktemp -d); trap 'rm -rf $t' EXIT; \
             tar -xzf '{s}' -C $t image; mv $t/image '{r}'",
            s = stemcell.display(),
            r = rootfs.display()
        );
        run(Command::new("bash").args(["-c", &cmd]))?.ok("extracting the fixture image")?;
    }
    Ok(rootfs)
}

#[cfg(test)]
mod tests {
    use super::stat_start_time;

    #[test]
    fn the_start_time_is_field_22_counted_after_the_command_name() {
        let fields: Vec<String> = (3..=52).map(|n| format!("f{n}")).collect();
        let stat = format!("4242 (a) (b c) {}\n", fields.join(" "));
        assert_eq!(stat_start_time(&stat), Some("f22"));
        assert_eq!(stat_start_time("4242 (short) S 1"), None);
        assert_eq!(stat_start_time("no command name"), None);
    }

    #[test]
    fn this_process_has_a_start_time() {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        let start = stat_start_time(&stat).expect("field 22");
        assert!(start.parse::<u64>().is_ok(), "{start}");
    }
}
