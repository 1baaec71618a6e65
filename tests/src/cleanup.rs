//! Clean-up with a deadline: what a test's `Drop` runs against the daemon (`lxc`, `incus`,
//! `scripts/lib/lxd.sh`'s `delete_project`) never waits for ever, and says what it gave up on.
//!
//! Each command runs as a child process. It is waited for until its limit and killed by its
//! own PID when it overstays; then the clean-up prints on stderr the command it was waiting
//! for and moves on. What a clean-up leaves is in a `bosh-lxd-test-*` project, which
//! `scripts/test` deletes when the run ends (and `scripts/setup-host` once its owner is gone).
//! The `cpi` crate's LXD client tests use this module too.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::lxc::ExecResult;

/// How long one clean-up command may take.
pub const CLEANUP_LIMIT: Duration = Duration::from_secs(60);
/// How long `delete_project` may take in all (each of its daemon calls has
/// [`CLEANUP_LIMIT`] inside the script).
pub const DELETE_PROJECT_LIMIT: Duration = Duration::from_secs(300);

/// Runs the clean-up command `cmd`, described by `what` (e.g. `lxc image delete <fp>
/// --project P`), for at most [`CLEANUP_LIMIT`]. True when it exited 0; otherwise stderr
/// says why (with what the command printed there).
pub fn cleanup(what: &str, cmd: &mut Command) -> bool {
    cleanup_within(what, cmd, CLEANUP_LIMIT)
}

/// [`cleanup`] with a limit of its own.
pub fn cleanup_within(what: &str, cmd: &mut Command, limit: Duration) -> bool {
    match bounded_output(what, cmd, &[], limit) {
        Some(r) if r.success() => true,
        Some(r) => {
            eprintln!("clean-up: {what} exited {}", r.code);
            for line in r.stderr.lines().filter(|l| !l.trim().is_empty()) {
                eprintln!("clean-up:   {line}");
            }
            false
        }
        None => false,
    }
}

/// Runs `cmd` with `input` on its stdin for at most `limit` and returns what it printed;
/// `None`, said on stderr, when it could not start or did not return in time (it is then
/// killed by its PID).
pub fn bounded_output(
    what: &str,
    cmd: &mut Command,
    input: &[u8],
    limit: Duration,
) -> Option<ExecResult> {
    let spawned = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            eprintln!("clean-up: {what} could not start: {e}");
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A child that does not read its input fails on its own; the wait below is bounded.
        stdin.write_all(input).ok();
    }
    // Reader threads, so that a chatty child never blocks on a full pipe. A grandchild may
    // keep a pipe open after a kill: its thread is then left to end with it.
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let Some(status) = wait_until(&mut child, Instant::now() + limit) else {
        eprintln!(
            "clean-up: {what} did not return in {} s; left for scripts/test's project sweep",
            limit.as_secs()
        );
        return None;
    };
    let text =
        |rx: mpsc::Receiver<String>| rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    Some(ExecResult {
        code: status.code().unwrap_or(-1),
        stdout: text(stdout),
        stderr: text(stderr),
    })
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).ok();
            tx.send(String::from_utf8_lossy(&bytes).into_owned()).ok();
        });
    }
    rx
}

/// The child's exit status, or `None` once `deadline` passed (the child is then killed by
/// its PID and reaped).
fn wait_until(child: &mut std::process::Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            // Overstayed, or the wait itself failed: stop it either way.
            Ok(None) | Err(_) => {
                child.kill().ok();
                child.wait().ok();
                return None;
            }
        }
    }
}

/// Deletes project `name` and everything in it with `scripts/lib/lxd.sh`'s
/// `delete_project` through `cli` (`lxc` or `incus`), bounded as above.
pub fn delete_project(name: &str, cli: &str) -> bool {
    let script = crate::workspace_root().join("scripts/lib/lxd.sh");
    let cmd = format!(
        ". '{}' && delete_project '{name}' '{cli}'",
        script.display()
    );
    cleanup_within(
        &format!("delete_project {name} ({cli})"),
        Command::new("bash").args(["-c", &cmd]),
        DELETE_PROJECT_LIMIT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_overstays_is_killed_and_reported_false() {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let pid_file = std::env::temp_dir().join(format!("bosh-lxd-cleanup-{id}.pid"));
        let script = format!("echo $$ > '{}'; exec sleep 3600", pid_file.display());
        let ok = cleanup_within(
            "sleep 3600",
            Command::new("bash").args(["-c", &script]),
            Duration::from_secs(1),
        );
        let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        std::fs::remove_file(&pid_file).ok();
        assert!(!ok, "an overstaying command is no success");
        // Killed before it wrote its PID (a very busy machine) is killed too.
        let pid = pid.trim();
        assert!(
            pid.is_empty() || !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still there after the clean-up gave up on it"
        );
    }

    #[test]
    fn exit_codes_are_success_or_failure() {
        assert!(cleanup("true", &mut Command::new("true")));
        assert!(!cleanup("false", &mut Command::new("false")));
        assert!(!cleanup(
            "no such program",
            &mut Command::new("/nonexistent/bosh-lxd-cleanup")
        ));
    }
}
