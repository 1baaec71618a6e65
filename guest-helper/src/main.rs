//! `bosh-lxd-helper`: the guest side of bosh-lxd, a static binary in the stemcell
//! (`ARCHITECTURE.md` §4). Subcommands `boot` and `release <cid>`; called as `mount` or
//! `umount` (links in `/var/vcap/bosh/bin`) it is the mount shim.

mod boot;
mod check;
mod garp;
mod guestapi;
mod logging;
mod monit_exec;
mod mountinfo;
mod netlink;
mod netsettings;
mod network;
mod note;
mod paths;
mod readiness;
mod release;
mod settings;
mod shim;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use paths::GuestRoot;
use shim::rules::Tool;

/// Exit code of `monit-exec` when the program could not be exec'd (as env(1) does).
const EXIT_EXEC_FAILED: u8 = 127;

/// Command line of the helper.
#[derive(Debug, Parser)]
#[command(name = "bosh-lxd-helper", version, about = "bosh-lxd guest helper")]
struct Args {
    /// Root of the guest filesystem (tests point it at a temporary directory).
    #[arg(long, hide = true, default_value = "/", global = true)]
    root: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// At container start, before the agent: put the last-mounted persistent disk back
    /// on /var/vcap/store and restore the /var/vcap/data layout.
    Boot {
        /// Longest wait, in seconds, for attached disks' device mounts to appear.
        #[arg(long, default_value_t = 10)]
        wait_secs: u64,
    },
    /// Unmount every mount of a disk's volume in every mount namespace of the
    /// container; exits 2 and names the holders if something keeps one busy. Prints the
    /// result on stdout as one JSON line (`bosh-lxd-contract`'s `ReleaseResult`).
    Release {
        /// The disk cid.
        cid: String,
    },
    /// Diagnose the VM: disks attached vs mounted, /var/vcap/store, monit's namespace
    /// and uptime, network vs settings. Exits 1 when something is wrong.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a program (monit) so that it reads the kernel's /proc/uptime: if lxcfs's is
    /// mounted on /proc/uptime, in a mount namespace of its own (`/` a recursive slave)
    /// with lxcfs's mounts there removed; if not, in the caller's namespace, as it is. On
    /// any failure it runs the program unchanged.
    MonitExec {
        /// The program and its arguments (after `--`).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<OsString>,
    },
    /// Internal: unmount targets inside the mount namespace of a process.
    #[command(hide = true)]
    UmountInNs {
        /// A process in the namespace.
        pid: u32,
        /// Mount points.
        targets: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let started = Instant::now();
    let argv: Vec<OsString> = std::env::args_os().collect();
    if let Some(tool) = argv.first().and_then(|a| Tool::from_argv0(a)) {
        logging::init(&GuestRoot::default(), logging::Sink::FileOnly);
        return shim::run(tool, argv);
    }
    let args = Args::parse_from(argv);
    let root = GuestRoot::new(&args.root);
    if !matches!(args.command, Cmd::UmountInNs { .. }) {
        logging::init(&root, logging::Sink::StderrAndFile);
    }
    if let Cmd::MonitExec { argv } = &args.command {
        // returns only when the exec itself failed
        let Err(e) = monit_exec::run(argv, started);
        tracing::error!("{e:#}");
        return ExitCode::from(EXIT_EXEC_FAILED);
    }
    match run(args.command, &root) {
        Ok(code) => code,
        Err(e) => {
            // the logger writes to stderr too (or only there, if the file cannot be opened)
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd, root: &GuestRoot) -> anyhow::Result<ExitCode> {
    match command {
        Cmd::Boot { wait_secs } => {
            let config = boot::BootConfig {
                root: root.clone(),
                wait: Duration::from_secs(wait_secs),
                api_timeout: Duration::from_secs(2),
                network: true,
            };
            boot::run(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Release { cid } => {
            let result = release::run(root, &cid);
            Ok(release::report(&cid, result, &mut std::io::stdout()))
        }
        Cmd::Check { json } => check::run(root, json),
        Cmd::MonitExec { .. } => Ok(ExitCode::from(EXIT_EXEC_FAILED)),
        Cmd::UmountInNs { pid, targets } => {
            let all = release::umount_in_ns(pid, &targets)?;
            Ok(if all {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
