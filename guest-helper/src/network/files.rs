//! `/etc/resolv.conf` (resolv.conf(5)) and the hostname (sethostname(2),
//! `/etc/hostname`) from the settings. Each is written only when it differs, so a second
//! `boot` changes nothing; a file is replaced through a temporary file and rename(2),
//! which also replaces a dangling symlink to a resolver stub that is not running.

use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::netsettings::NetSettings;
use crate::paths::{ETC_HOSTNAME, GuestRoot, RESOLV_CONF};

/// The resolv.conf text for `servers` (empty: none to write).
pub fn resolv_conf(servers: &[String]) -> Option<String> {
    if servers.is_empty() {
        return None;
    }
    let mut text = String::from("# written by bosh-lxd-helper boot from the BOSH agent settings\n");
    for server in servers {
        text.push_str(&format!("nameserver {server}\n"));
    }
    Some(text)
}

/// A name sethostname(2) takes and resolvers accept: 1-64 bytes of letters, digits,
/// `-` and `.`.
pub fn valid_hostname(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Write `content` to `path` unless it already holds exactly that. Returns whether it
/// wrote.
pub fn write_if_changed(path: &Path, content: &str) -> Result<bool> {
    match std::fs::read(path) {
        Ok(old) if old == content.as_bytes() => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("reading {}: {e}; rewriting it", path.display()),
    }
    let Some(name) = path.file_name() else {
        bail!("{} has no file name", path.display());
    };
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".bosh-lxd-tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, content).with_context(|| format!("writing {}", tmp.display()))?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        // a bind-mounted file (runtime-provided resolv.conf) cannot be renamed over
        std::fs::remove_file(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
        tracing::info!(
            "rename onto {} failed ({e}); writing in place",
            path.display()
        );
        std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(true)
}

/// Write resolv.conf and set the hostname; returns how many of them failed.
pub fn write_all(root: &GuestRoot, settings: &NetSettings) -> usize {
    let mut failures = 0;
    if let Some(text) = resolv_conf(&settings.nameservers()) {
        let path = root.host(RESOLV_CONF);
        match write_if_changed(&path, &text) {
            Ok(true) => tracing::info!("network: wrote {RESOLV_CONF}"),
            Ok(false) => {}
            Err(e) => {
                failures += 1;
                tracing::error!("network: {e:#}");
            }
        }
    }
    match &settings.hostname {
        None => {}
        Some(name) if !valid_hostname(name) => {
            tracing::warn!("network: {name:?} is not a usable hostname; hostname left alone");
        }
        Some(name) => {
            if let Err(e) = set_hostname(root, name) {
                failures += 1;
                tracing::error!("network: {e:#}");
            }
        }
    }
    failures
}

/// `/etc/hostname` under `root`, and the kernel's name when `root` is `/`.
fn set_hostname(root: &GuestRoot, name: &str) -> Result<()> {
    let path = root.host(ETC_HOSTNAME);
    if write_if_changed(&path, &format!("{name}\n"))? {
        tracing::info!("network: wrote {ETC_HOSTNAME} ({name})");
    }
    if *root != GuestRoot::default() {
        return Ok(());
    }
    let current = nix::unistd::gethostname().context("gethostname")?;
    if current != name {
        nix::unistd::sethostname(name).with_context(|| format!("sethostname {name}"))?;
        tracing::info!("network: hostname set to {name} (was {current:?})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_and_hostname_rules() {
        assert_eq!(resolv_conf(&[]), None);
        let text = resolv_conf(&["10.0.0.2".into(), "10.0.0.3".into()]).expect("text");
        assert!(
            text.ends_with("nameserver 10.0.0.2\nnameserver 10.0.0.3\n"),
            "{text}"
        );
        let cases = [
            ("vm-7f3c", true),
            ("a.b-c", true),
            ("", false),
            ("has space", false),
            ("under_score", false),
            (&"x".repeat(65), false),
        ];
        for (name, ok) in cases {
            assert_eq!(valid_hostname(name), ok, "{name:?}");
        }
    }

    #[test]
    fn files_are_written_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = GuestRoot::new(dir.path());
        std::fs::create_dir_all(root.host("/etc")).expect("mkdir");
        std::os::unix::fs::symlink("/run/no-such-stub", root.host(RESOLV_CONF)).expect("link");
        let settings = crate::netsettings::parse(&serde_json::json!({
            "vm": {"name": "vm-1"},
            "networks": {"n": {"ip": "10.0.0.5", "netmask": "255.0.0.0", "dns": ["10.0.0.2"]}}
        }));
        assert_eq!(write_all(&root, &settings), 0);
        let resolv = std::fs::read_to_string(root.host(RESOLV_CONF)).expect("resolv");
        assert!(resolv.contains("nameserver 10.0.0.2\n"), "{resolv}");
        assert!(
            !root.host(RESOLV_CONF).is_symlink(),
            "the dangling link is replaced"
        );
        assert_eq!(
            std::fs::read_to_string(root.host(ETC_HOSTNAME)).expect("hostname"),
            "vm-1\n"
        );
        let path = root.host(RESOLV_CONF);
        assert!(
            !write_if_changed(&path, &resolv).expect("same"),
            "unchanged: not written"
        );
    }
}
