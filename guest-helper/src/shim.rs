//! The `mount`/`umount` shim: runs when the helper is called through the links in
//! `/var/vcap/bosh/bin`, applies [`rules`] and otherwise execs the real program with
//! the argv byte for byte. Job scripts inherit that PATH, so a call the rules do not
//! name must behave exactly as the real one: same argv, environment, stdio, exit code.

pub mod rules;

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, umount2};

use crate::mountinfo::MountTable;
use crate::paths::{REAL_MOUNT, REAL_MOUNT_USR, REAL_UMOUNT, REAL_UMOUNT_USR, SELF_MOUNTINFO};
use rules::{Decision, Tool};

/// Exit code of util-linux `umount` and `mount` for a failed (un)mount.
const EXIT_MOUNT_FAILURE: u8 = 32;
/// Exit code for a call the shim could not hand over at all.
const EXIT_USAGE: u8 = 1;

/// Handle one call; returns only when the real program was not exec'd.
pub fn run(tool: Tool, argv: Vec<OsString>) -> ExitCode {
    let mounts = if rules::needs_table(tool, &argv) {
        match MountTable::read(Path::new(SELF_MOUNTINFO)) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!("shim: {e:#}; only table-free rules apply");
                None
            }
        }
    } else {
        None
    };
    let decision = rules::decide(tool, &argv, mounts.as_ref());
    match decision {
        Decision::PassThrough => exec_real(tool, &argv),
        Decision::Rewrite {
            argv: new_argv,
            why,
        } => {
            tracing::info!("shim: {why}: {argv:?} -> {new_argv:?}");
            exec_real(tool, &new_argv)
        }
        Decision::NoOp { why } => {
            tracing::info!("shim: {why}: {argv:?} not run");
            ExitCode::SUCCESS
        }
        Decision::UnmountFirst { targets, why } => {
            tracing::info!("shim: {why}: unmounting {targets:?} before {argv:?}");
            for target in &targets {
                if let Err(e) = umount2(target, MntFlags::empty()) {
                    // the agent retries unmount_disk's umount; the device mount stays until
                    // its binds are gone, so list_disk keeps reporting the disk meanwhile
                    eprintln!("umount: {}: {}", target.display(), e.desc());
                    tracing::error!(
                        "shim: umount {} failed: {e}; {argv:?} not run",
                        target.display()
                    );
                    return ExitCode::from(EXIT_MOUNT_FAILURE);
                }
            }
            exec_real(tool, &argv)
        }
        Decision::Listing { sources } => match listing(tool, &argv, &sources) {
            Ok(code) => code,
            Err(e) => {
                tracing::error!("shim: {e:#}");
                eprintln!("mount: {e:#}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

/// The real program for `tool`, refusing one that is this helper (a loop).
fn real_program(tool: Tool) -> Result<PathBuf> {
    let candidates = match tool {
        Tool::Mount => [REAL_MOUNT, REAL_MOUNT_USR],
        Tool::Umount => [REAL_UMOUNT, REAL_UMOUNT_USR],
    };
    let Some(program) = candidates.iter().map(PathBuf::from).find(|p| p.exists()) else {
        bail!("none of {candidates:?} exists");
    };
    let me = std::fs::metadata("/proc/self/exe").context("stat /proc/self/exe")?;
    let it = std::fs::metadata(&program).with_context(|| format!("stat {}", program.display()))?;
    if (me.dev(), me.ino()) == (it.dev(), it.ino()) {
        bail!(
            "{} is this helper itself; refusing to loop",
            program.display()
        );
    }
    Ok(program)
}

fn exec_real(tool: Tool, argv: &[OsString]) -> ExitCode {
    let result = real_program(tool).and_then(|program| {
        let mut command = Command::new(&program);
        if let Some((argv0, rest)) = argv.split_first() {
            command.arg0(argv0).args(rest);
        }
        // exec only returns on failure
        let err = command.exec();
        Err(err).with_context(|| format!("exec {}", program.display()))
    });
    let err = match result {
        Ok(()) => anyhow::anyhow!("exec returned"),
        Err(e) => e,
    };
    tracing::error!("shim: {err:#}");
    eprintln!("bosh-lxd-helper: {err:#}");
    ExitCode::from(EXIT_USAGE)
}

fn listing(tool: Tool, argv: &[OsString], sources: &[(PathBuf, String)]) -> Result<ExitCode> {
    let program = real_program(tool)?;
    let mut command = Command::new(&program);
    if let Some((argv0, rest)) = argv.split_first() {
        command.arg0(argv0).args(rest);
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    let rewritten = rules::rewrite_listing(&output.stdout, sources);
    std::io::stdout()
        .write_all(&rewritten)
        .context("writing the listing")?;
    std::io::stdout().flush().context("writing the listing")?;
    let code = output
        .status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(EXIT_USAGE);
    Ok(ExitCode::from(code))
}
