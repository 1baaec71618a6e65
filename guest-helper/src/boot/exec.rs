//! Carries out a boot [`Plan`]: every action through an [`Ops`] seam, each logged with
//! its path, and a failure of one action does not stop the others.

use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::decide::{Action, Plan};
use crate::paths::{GuestRoot, MANAGED_DISK, REAL_MOUNT, REAL_MOUNT_USR, STORE};

/// The system calls a plan needs, on host paths (already under the root).
pub trait Ops {
    /// `mkdir` with `mode`, then make root the owner.
    fn create_dir(&mut self, path: &Path, mode: u32) -> Result<()>;
    /// `chmod`.
    fn set_mode(&mut self, path: &Path, mode: u32) -> Result<()>;
    /// `chown root:root`.
    fn set_root_owner(&mut self, path: &Path) -> Result<()>;
    /// `rmdir`.
    fn remove_empty_dir(&mut self, path: &Path) -> Result<()>;
    /// Truncate a file to zero length, keeping it.
    fn truncate(&mut self, path: &Path) -> Result<()>;
    /// Run `mount` with exactly `args`.
    fn mount(&mut self, args: &[OsString]) -> Result<()>;
}

/// The argv tail the agent uses for its bind (linux_mounter.go: options, then bind).
pub fn bind_args(source: &Path, target: &Path, options: &[String]) -> Vec<OsString> {
    let mut args = vec![source.as_os_str().to_owned(), target.as_os_str().to_owned()];
    for option in options.iter().map(String::as_str).chain(["bind"]) {
        args.push("-o".into());
        args.push(option.into());
    }
    args
}

/// Apply `plan`. Returns how many actions failed.
pub fn execute(plan: &Plan, root: &GuestRoot, ops: &mut dyn Ops) -> usize {
    let mut failures = 0;
    for action in &plan.actions {
        match apply(action, root, ops) {
            Ok(done) => tracing::info!("{done}"),
            Err(e) => {
                failures += 1;
                tracing::error!("{e:#}");
            }
        }
    }
    failures
}

fn apply(action: &Action, root: &GuestRoot, ops: &mut dyn Ops) -> Result<String> {
    match action {
        Action::CreateDir { path, mode } => {
            ops.create_dir(&root.host(path), *mode)?;
            Ok(format!("created {path} mode {mode:04o} owner root"))
        }
        Action::SetMode { path, mode } => {
            ops.set_mode(&root.host(path), *mode)?;
            Ok(format!("set mode of {path} to {mode:04o}"))
        }
        Action::SetRootOwner { path } => {
            ops.set_root_owner(&root.host(path))?;
            Ok(format!("gave {path} to root:root"))
        }
        Action::RemoveEmptyDir { path } => {
            ops.remove_empty_dir(&root.host(path))?;
            Ok(format!(
                "removed the stale empty directory {path}; the agent mounts its tmpfs there"
            ))
        }
        Action::EmptyManagedFile { cid } => {
            ops.truncate(&root.host(MANAGED_DISK))?;
            Ok(format!("emptied {MANAGED_DISK} (held the stale cid {cid})"))
        }
        Action::BindStore {
            cid,
            source,
            options,
        } => {
            let args = bind_args(&root.host(source), &root.host(STORE), options);
            ops.mount(&args)
                .with_context(|| format!("binding {source} onto {STORE} for disk {cid}"))?;
            Ok(format!(
                "bound {source} onto {STORE} (disk {cid}, options {options:?})"
            ))
        }
    }
}

/// The real system.
#[derive(Debug, Default)]
pub struct RealOps;

impl Ops for RealOps {
    fn create_dir(&mut self, path: &Path, mode: u32) -> Result<()> {
        DirBuilder::new()
            .mode(mode)
            .create(path)
            .with_context(|| format!("creating {}", path.display()))?;
        self.set_mode(path, mode)?;
        self.set_root_owner(path)
    }

    fn set_mode(&mut self, path: &Path, mode: u32) -> Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("chmod {mode:04o} {}", path.display()))
    }

    fn set_root_owner(&mut self, path: &Path) -> Result<()> {
        std::os::unix::fs::chown(path, Some(0), Some(0))
            .with_context(|| format!("chown root:root {}", path.display()))
    }

    fn remove_empty_dir(&mut self, path: &Path) -> Result<()> {
        std::fs::remove_dir(path).with_context(|| format!("rmdir {}", path.display()))
    }

    fn truncate(&mut self, path: &Path) -> Result<()> {
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .map(drop)
            .with_context(|| format!("truncating {}", path.display()))
    }

    fn mount(&mut self, args: &[OsString]) -> Result<()> {
        let program = [REAL_MOUNT, REAL_MOUNT_USR]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or(REAL_MOUNT);
        let output = Command::new(program)
            .args(args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} {:?} failed ({}): {}",
                args,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
