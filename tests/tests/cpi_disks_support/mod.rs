//! What the disk tests share: a VM made by the CPI from the repacked fixture stemcell
//! (helper and boot unit in the image), disks made through `create_disk`, the stand-in
//! agent's disk actions, and the invariant every test checks after every call: the
//! settings file's `disks.persistent` == the `user.bosh.disk.*` keys == the disk devices.
#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use bosh_lxd_tests::TEST_POOL;
use bosh_lxd_tests::cpi::CallError;
use bosh_lxd_tests::cpi::fixture::{SETTINGS_PATH, VmFixture, manual_network, random_ip};
use bosh_lxd_tests::helper::{GUEST_HELPER, helper_binary};
use serde_json::{Value, json};

/// The stand-in agent's CLI in the guest.
pub const AGENT: &str = "/var/vcap/bosh/bin/bosh-agent";

/// Disk CID to hint path.
pub type Disks = BTreeMap<String, String>;

/// `/warden-cpi-dev/<cid>`.
pub fn hint(cid: &str) -> String {
    format!("/warden-cpi-dev/{cid}")
}

/// A running VM made by `create_vm` from the repacked stemcell; `with_helper` false
/// removes the helper binary from it (a VM whose helper went missing).
pub fn vm(f: &VmFixture, with_helper: bool) -> String {
    let (vm, _) = f
        .create_vm(
            &VmFixture::agent_id(),
            json!({"ephemeral_disk": 64}),
            json!({"default": manual_network(&random_ip(), true)}),
            json!({"bosh": {}}),
        )
        .expect("create_vm");
    if !with_helper {
        f.exec(&vm, &["rm", GUEST_HELPER])
            .expect("removing the helper");
    }
    vm
}

/// Pushes the static helper built by `scripts/build-helper` to its path in `vm`.
pub fn push_helper(f: &VmFixture, vm: &str) -> Result<()> {
    let bin = helper_binary()?;
    let target = format!("{vm}{GUEST_HELPER}");
    f.project.lxc_ok(&[
        "file",
        "push",
        "--quiet",
        &bin.to_string_lossy(),
        &target,
        "--mode",
        "0755",
    ])?;
    Ok(())
}

/// `create_disk(size_mib, {}, null)`.
pub fn disk(f: &VmFixture, size_mib: u64) -> String {
    f.cpi
        .ok("create_disk", json!([size_mib, {}, null]))
        .expect("create_disk")
        .as_str()
        .expect("create_disk answered no string")
        .to_owned()
}

/// The error of a call that must fail.
pub fn fails(f: &VmFixture, method: &str, args: Value) -> CallError {
    let r = f.cpi.call(method, args).expect("running the cpi");
    match r.error {
        Some(e) => e,
        None => panic!("{method} succeeded with {}; log:\n{}", r.result, r.stderr),
    }
}

/// The keys, the devices and the settings file of `vm` must list the same disks, with the
/// hint `/warden-cpi-dev/<cid>` each. Returns them.
pub fn invariant(f: &VmFixture, vm: &str) -> Result<Disks> {
    let inst = f.project.instance(vm)?;
    let keys: Disks = object(&inst["config"])
        .filter_map(|(k, v)| {
            Some((
                bosh_lxd_contract::keys::disk_of_key(k)?.to_owned(),
                v.as_str()?.to_owned(),
            ))
        })
        .collect();
    let devices: Disks = object(&inst["devices"])
        .filter(|(_, d)| d["type"] == "disk")
        .filter_map(|(name, d)| {
            let path = d["path"].as_str()?;
            path.starts_with("/warden-cpi-dev/")
                .then(|| (name.clone(), path.to_owned()))
        })
        .collect();
    let settings = settings_file(f, vm)?;
    let file: Disks = object(&settings["disks"]["persistent"])
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<not a string>").to_owned()))
        .collect();
    ensure!(
        keys == devices && keys == file,
        "{vm}: keys {keys:?}, devices {devices:?}, settings file {file:?}"
    );
    for (cid, path) in &keys {
        ensure!(*path == hint(cid), "{vm}: disk {cid} has hint {path}");
        let dev = &inst["devices"][cid.as_str()];
        ensure!(
            dev["source"] == cid.as_str() && dev["pool"].is_string(),
            "{vm}: device {cid} is {dev}"
        );
    }
    Ok(keys)
}

/// The settings file of `vm`, running or stopped (through LXD's file API).
pub fn settings_file(f: &VmFixture, vm: &str) -> Result<Value> {
    let source = format!("{vm}{SETTINGS_PATH}");
    let text = f.project.lxc_ok(&["file", "pull", &source, "-"])?;
    serde_json::from_str(&text).with_context(|| format!("{source} is not JSON: {text:?}"))
}

fn object(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// The init PID of `vm` (changes when the container restarts).
pub fn init_pid(f: &VmFixture, vm: &str) -> i64 {
    f.project
        .query(&format!("/1.0/instances/{vm}/state"))
        .expect("state")["pid"]
        .as_i64()
        .expect("pid")
}

/// Runs the stand-in agent's `action` in `vm`.
pub fn agent(f: &VmFixture, vm: &str, args: &[&str]) -> Result<String> {
    let mut cmd = vec![AGENT];
    cmd.extend(args);
    f.exec(vm, &cmd)
}

/// Every mount of volume `cid` in any mount namespace of `vm`: lines of every process's
/// mountinfo whose root names the volume (`.../custom/<project>_<cid>`).
pub fn volume_mounts(f: &VmFixture, vm: &str, cid: &str) -> Result<Vec<String>> {
    let needle = format!("custom/{}_{cid}", f.project.name());
    let script = format!(
        "for m in /proc/[0-9]*/mountinfo; do grep -F ' /{needle} ' \"$m\" | sed \"s|^|$m: |\"; done | sort -u -t: -k2; true"
    );
    let out = f.exec(vm, &["sh", "-c", &script])?;
    Ok(out.lines().map(str::to_owned).collect())
}

/// Host path of volume `cid` on the btrfs test pool (the tests run as root on the host).
pub fn volume_dir(f: &VmFixture, cid: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/storage-pools/{TEST_POOL}/custom/{}_{cid}",
        bosh_lxd_tests::daemon().dir,
        f.project.name()
    ))
}

/// Host path of snapshot `snap` of volume `cid`.
pub fn snapshot_dir(f: &VmFixture, cid: &str, snap: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/storage-pools/{TEST_POOL}/custom-snapshots/{}_{cid}/{snap}",
        bosh_lxd_tests::daemon().dir,
        f.project.name()
    ))
}

/// Host path of the settings file of `vm` (its rootfs on the btrfs pool).
pub fn settings_on_host(f: &VmFixture, vm: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/storage-pools/{TEST_POOL}/containers/{}_{vm}/rootfs{SETTINGS_PATH}",
        bosh_lxd_tests::daemon().dir,
        f.project.name()
    ))
}

/// Makes a host file immutable (`chattr +i`) or writable again: LXD's file API then cannot
/// write it, which is how the tests make a settings write fail.
pub fn immutable(path: &std::path::Path, on: bool) -> Result<()> {
    let flag = if on { "+i" } else { "-i" };
    let out = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .output()
        .context("running chattr")?;
    if !out.status.success() {
        bail!(
            "chattr {flag} {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `lxc storage volume get <pool> <cid> <key>`.
pub fn volume_key(f: &VmFixture, cid: &str, key: &str) -> Result<String> {
    Ok(f.project
        .lxc_ok(&["storage", "volume", "get", TEST_POOL, cid, key])?
        .trim()
        .to_owned())
}
