//! The objects the config names: the project (and the features the CPI expects of it),
//! the profile, the network (a bridge with an IPv4 subnet) and the storage pool (and
//! whether its driver enforces sizes). Each missing one fails with the command that
//! makes it.

use serde_json::Value;

use super::reader::Reader;
use super::report::Report;
use crate::actions::ipv4::Subnet;
use crate::config::LxdConfig;
use crate::lxd::{Network, encode_component};

/// The project features the CPI expects on, and what happens when one is off.
const FEATURES: &[(&str, &str)] = &[
    (
        "features.images",
        "stemcells go to the default project's images",
    ),
    (
        "features.profiles",
        "lxd.profile and the CPI's lock profiles (bosh-lxd-lock.*) live in the default project",
    ),
    (
        "features.storage.volumes",
        "disks are custom volumes of the default project",
    ),
];

/// What the checks need besides the reader: the config's names and the daemon's CLI.
pub struct Names<'a> {
    /// The config's `lxd` section.
    pub lxd: &'a LxdConfig,
    /// `lxc` or `incus`, for commands in messages.
    pub cli: &'static str,
    /// Whether the CPI connects over HTTPS (with a certificate LXD may restrict).
    pub https: bool,
}

/// The project exists (true) and has the features on.
pub async fn check_project(reader: &Reader, n: &Names<'_>, report: &mut Report) -> bool {
    let (cli, name) = (n.cli, &n.lxd.project);
    let subject = format!("project {name:?}");
    let path = format!("/1.0/projects/{}", encode_component(name));
    let project: Value = match reader.find(&path).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            report.fail(
                subject,
                format!(
                    "not found: create it with `{cli} project create {name} \
                     -c features.images=true -c features.profiles=true \
                     -c features.storage.volumes=true` (README, LXD over HTTPS), or set \
                     lxd.project to an existing one"
                ),
            );
            return false;
        }
        Err(e) => {
            report.fail(subject, e.to_string());
            return false;
        }
    };
    let off: Vec<String> = FEATURES
        .iter()
        .filter(|(key, _)| project["config"][key].as_str() != Some("true"))
        .map(|(key, what)| format!("{key} is off ({what})"))
        .collect();
    if off.is_empty() {
        report.ok(
            subject,
            "exists, with its own images, profiles and storage volumes",
        );
    } else {
        report.warn(subject, format!(
            "exists, but {}: the CPI then shares them with everything else there. A feature can be \
             turned on while the project is empty: `{cli} project set {name} KEY=true`",
            off.join("; ")
        ));
    }
    true
}

/// The profile every VM gets exists (the CPI sets each VM's root disk, ephemeral disk and
/// NICs itself, so nothing in it is required).
pub async fn check_profile(reader: &Reader, n: &Names<'_>, report: &mut Report) {
    let (cli, name, project) = (n.cli, &n.lxd.profile, &n.lxd.project);
    let subject = format!("profile {name:?}");
    match reader.find::<Value>(&format!("/1.0/profiles/{}", encode_component(name))).await {
        Ok(Some(profile)) => {
            let devices: Vec<&str> = profile["devices"]
                .as_object()
                .map(|d| d.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let devices = if devices.is_empty() { "none".to_owned() } else { devices.join(", ") };
            report.ok(subject, format!(
                "exists (devices: {devices}); the CPI adds each VM's root disk, ephemeral disk and \
                 NICs, which replace profile devices of the same names"));
        }
        Ok(None) => report.fail(subject, format!(
            "not found in project {project}: create it with `{cli} profile create {name} --project \
             {project}`, or set lxd.profile to default (every project has one)")),
        Err(e) => report.fail(subject, e.to_string()),
    }
}

/// The network NICs go on by default: a managed bridge with an IPv4 subnet.
pub async fn check_network(reader: &Reader, n: &Names<'_>, report: &mut Report) {
    let (cli, name) = (n.cli, &n.lxd.network);
    let subject = format!("network {name:?}");
    match reader
        .find::<Network>(&format!("/1.0/networks/{}", encode_component(name)))
        .await
    {
        Ok(Some(net)) => network_verdict(&net, n, report),
        Ok(None) => report.fail(
            subject,
            format!(
                "not found: create a bridge, e.g. `{cli} network create {name} \
                 ipv4.address=10.245.0.1/16 ipv6.address=none`, or set lxd.network to an \
                 existing bridge"
            ),
        ),
        Err(e) => report.fail(subject, e.to_string()),
    }
}

fn network_verdict(net: &Network, n: &Names<'_>, report: &mut Report) {
    let (cli, name) = (n.cli, &net.name);
    let subject = format!("network {name:?}");
    let address = net
        .config
        .get("ipv4.address")
        .map(String::as_str)
        .unwrap_or("");
    if net.network_type != "bridge" {
        report.fail(subject, format!(
            "is a {:?} network, not a bridge: the CPI puts NICs on bridges; set lxd.network to one",
            net.network_type));
    } else if !net.managed {
        report.warn(
            subject,
            "a bridge LXD does not manage: LXD reserves no addresses on it and \
             the CPI cannot see its subnet, so only manual BOSH networks work",
        );
    } else if let Some(subnet) = Subnet::parse(address) {
        report.ok(
            subject,
            format!(
                "managed bridge, IPv4 subnet {}/{}",
                subnet.gateway, subnet.prefix
            ),
        );
    } else if net.config.is_empty() && n.https {
        report.warn(
            subject,
            "managed bridge, but LXD shows a restricted certificate none of its \
             config: the CPI cannot see its IPv4 subnet, so dynamic BOSH networks fail and manual \
             addresses are not reserved on it. Use manual networks over HTTPS",
        );
    } else {
        report.warn(
            subject,
            format!(
                "managed bridge without an IPv4 subnet (ipv4.address {address:?}): dynamic BOSH \
                 networks fail; give it one with `{cli} network set {name} ipv4.address=CIDR`"
            ),
        );
    }
}

/// The pool volumes and root disks go to, and whether its driver enforces sizes.
pub async fn check_pool(reader: &Reader, n: &Names<'_>, report: &mut Report) {
    let (cli, name) = (n.cli, &n.lxd.storage_pool);
    let subject = format!("storage pool {name:?}");
    let pool = match reader
        .find::<Value>(&format!("/1.0/storage-pools/{}", encode_component(name)))
        .await
    {
        Ok(Some(pool)) => pool,
        Ok(None) => {
            report.fail(subject, format!(
                "not found: create it, e.g. `{cli} storage create {name} btrfs size=50GiB` (btrfs \
                 enforces disk sizes, dir does not), or set lxd.storage_pool to an existing pool"));
            return;
        }
        Err(e) => {
            report.fail(subject, e.to_string());
            return;
        }
    };
    let driver = pool["driver"].as_str().unwrap_or("?");
    match pool["status"].as_str() {
        Some("Created") | Some("") | None => {}
        Some(status) => {
            report.fail(
                subject,
                format!("driver {driver}, status {status}: the daemon cannot use it"),
            );
            return;
        }
    }
    if driver == "dir" {
        report.warn(
            subject,
            "driver dir accepts disk sizes and ignores them: a VM can fill the \
             host's disk. Use a pool whose driver enforces them (btrfs, zfs, lvm)",
        );
    } else {
        report.ok(
            subject,
            format!("driver {driver}, which enforces disk sizes"),
        );
    }
}
