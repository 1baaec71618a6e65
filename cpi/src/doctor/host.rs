//! The daemon's host: whether lxcfs is mounted for the daemon (containers then see their
//! own memory, CPUs and uptime). Checkable only when the daemon is a process on this
//! machine, found by the PID it reports (`environment.server_pid`); skipped otherwise.

use super::report::Report;
use crate::lxd::Server;

/// The daemons' command names, as `/proc/PID/comm` shows them.
const DAEMONS: &[&str] = &["lxd", "incusd"];

/// lxcfs in the daemon's mount namespace.
pub fn check_lxcfs(server: &Server, report: &mut Report) {
    let subject = "lxcfs";
    let elsewhere = "check it on the daemon's host: `grep lxcfs /proc/mounts`";
    let Some(pid) = server
        .environment
        .extra
        .get("server_pid")
        .and_then(|p| p.as_u64())
    else {
        report.skip(
            subject,
            format!("the server does not report its PID; {elsewhere}"),
        );
        return;
    };
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if !DAEMONS.contains(&comm.trim()) {
        report.skip(
            subject,
            format!(
                "the daemon (PID {pid} on its host) is not a process of this machine; {elsewhere}"
            ),
        );
        return;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/mountinfo")) {
        Ok(mounts) => match lxcfs_mount_point(&mounts) {
            Some(at) => report.ok(
                subject,
                format!("mounted at {at} for the daemon (PID {pid})"),
            ),
            None => report.warn(
                subject,
                "not mounted for the daemon: containers see the host's \
                 memory, CPUs and uptime, so the VMs' vitals show the host's. Start lxcfs before \
                 the daemon (as scripts/setup-host does), then restart the VMs",
            ),
        },
        Err(e) => report.skip(
            subject,
            format!("cannot read the daemon's mounts: {e}; {elsewhere}"),
        ),
    }
}

/// The mount point of the first `fuse.lxcfs` mount in a `/proc/PID/mountinfo` text.
fn lxcfs_mount_point(mountinfo: &str) -> Option<&str> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let fstype = after.split_whitespace().next()?;
        (fstype == "fuse.lxcfs")
            .then(|| before.split_whitespace().nth(4))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_lxcfs_mount() {
        let with = "25 1 0:22 / / rw - ext4 /dev/vda rw\n\
                    40 25 0:35 / /var/lib/lxcfs rw,nosuid - fuse.lxcfs lxcfs rw,user_id=0\n";
        assert_eq!(lxcfs_mount_point(with), Some("/var/lib/lxcfs"));
        assert_eq!(
            lxcfs_mount_point("25 1 0:22 / / rw - ext4 /dev/vda rw\n"),
            None
        );
    }
}
