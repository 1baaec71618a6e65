//! Who keeps a mount busy: processes whose cwd, root, open files or mapped files lie on
//! or under one of the mount points being released (proc(5) `cwd`, `root`, `fd/`, `maps`).

use std::path::{Path, PathBuf};

pub use bosh_lxd_contract::release::Holder;

use crate::paths::GuestRoot;

/// Whether `path` is `mount_point` or lies below it.
pub fn is_under(path: &Path, mount_point: &Path) -> bool {
    path.starts_with(mount_point)
}

/// The file path of one `/proc/<pid>/maps` line, if it maps a file.
pub fn maps_path(line: &str) -> Option<&str> {
    let path = line.splitn(6, ' ').nth(5)?.trim_start();
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    path.starts_with('/').then_some(path)
}

/// Every process under `root`'s `/proc` (except `skip`) holding something under
/// `mount_points`.
pub fn find(root: &GuestRoot, mount_points: &[PathBuf], skip: u32) -> Vec<Holder> {
    let Ok(entries) = std::fs::read_dir(root.host("/proc")) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|p| *p != skip)
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|pid| holder(root, pid, mount_points))
        .collect()
}

fn holder(root: &GuestRoot, pid: u32, mount_points: &[PathBuf]) -> Option<Holder> {
    let under = |p: &Path| mount_points.iter().any(|m| is_under(p, m));
    let mut refs = Vec::new();
    for link in ["cwd", "root"] {
        if let Ok(target) = std::fs::read_link(root.proc_entry(pid, link))
            && under(&target)
            && target != Path::new("/")
        {
            refs.push(format!("{link} {}", target.display()));
        }
    }
    if let Ok(fds) = std::fs::read_dir(root.proc_entry(pid, "fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && under(&target)
            {
                refs.push(format!(
                    "fd {} {}",
                    fd.file_name().to_string_lossy(),
                    target.display()
                ));
            }
        }
    }
    if let Ok(maps) = std::fs::read_to_string(root.proc_entry(pid, "maps")) {
        let mut mapped: Vec<&str> = maps
            .lines()
            .filter_map(maps_path)
            .filter(|p| under(Path::new(p)))
            .collect();
        mapped.dedup();
        refs.extend(mapped.into_iter().map(|p| format!("maps {p}")));
    }
    if refs.is_empty() {
        return None;
    }
    let command = std::fs::read_to_string(root.proc_entry(pid, "comm"))
        .unwrap_or_default()
        .trim()
        .to_string();
    Some(Holder {
        pid,
        command,
        holds: refs,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn maps_lines() {
        let cases = [
            (
                "file",
                "7f00-7f01 r--p 00000000 fe:00 123   /var/vcap/store/lib.so",
                Some("/var/vcap/store/lib.so"),
            ),
            (
                "deleted",
                "7f00-7f01 r--p 00000000 fe:00 123   /var/vcap/store/x (deleted)",
                Some("/var/vcap/store/x"),
            ),
            ("anonymous", "7f00-7f01 rw-p 00000000 00:00 0", None),
            (
                "heap",
                "5600-5601 rw-p 00000000 00:00 0          [heap]",
                None,
            ),
        ];
        for (name, line, want) in cases {
            assert_eq!(maps_path(line), want, "case: {name}");
        }
    }

    #[test]
    fn finds_cwd_fd_and_maps_under_the_mounts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = GuestRoot::new(dir.path());
        let proc_dir = |pid: u32| root.host(format!("/proc/{pid}"));
        for pid in [10, 11, 12] {
            std::fs::create_dir_all(proc_dir(pid).join("fd")).expect("mkdir");
            symlink("/", proc_dir(pid).join("root")).expect("root link");
        }
        std::fs::write(proc_dir(10).join("comm"), "postgres\n").expect("comm");
        symlink("/var/vcap/store/postgres", proc_dir(10).join("cwd")).expect("cwd");
        symlink("/var/vcap/store/postgres/pg.log", proc_dir(10).join("fd/3")).expect("fd");
        symlink("/var/vcap/storex/other", proc_dir(11).join("fd/4")).expect("fd");
        symlink("/", proc_dir(11).join("cwd")).expect("cwd");
        std::fs::write(
            proc_dir(12).join("maps"),
            "7f00-7f01 r-xp 0 fe:00 9 /var/vcap/store_migration_target/bin/x\n",
        )
        .expect("maps");
        std::fs::create_dir_all(root.host("/proc/self")).expect("not a pid");
        let mounts = [
            PathBuf::from("/var/vcap/store"),
            PathBuf::from("/var/vcap/store_migration_target"),
        ];
        let got = find(&root, &mounts, 0);
        let shown: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "pid 10 (postgres): cwd /var/vcap/store/postgres, fd 3 /var/vcap/store/postgres/pg.log".to_string(),
                "pid 12 (): maps /var/vcap/store_migration_target/bin/x".to_string(),
            ],
            "a sibling path with the same prefix (/var/vcap/storex) is not a holder"
        );
        assert!(
            find(&root, &mounts, 10).iter().all(|h| h.pid != 10),
            "skip excludes a pid"
        );
    }
}
