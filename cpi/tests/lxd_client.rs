//! The typed LXD client (`cpi::lxd`) against the real LXD daemon started by
//! `scripts/setup-host`: server info, not-found mapping, images, instances, exec,
//! files and volumes. Set-up and clean-up: `lxd_support`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed step stops the test with its message

mod lxd_support;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use cpi::lxd::{
    Edit, FileMode, InstanceExecPost, InstanceSource, InstancesPost, LxdError, LxdErrorKind,
    NotFoundExt, ServerKind, StorageVolumesPost,
};
use lxd_support::{ALIAS, BRIDGE, POOL, instance, setup};

#[tokio::test]
async fn server_info_and_not_found_mapping() {
    let t = setup().await;
    let c = &t.client;
    let server = c.server().await.expect("server");
    assert_eq!(server.kind(), ServerKind::Lxd);
    assert!(
        server.has_extension("etag"),
        "LXD 5.0.2 has the etag extension"
    );

    let missing = [
        ("instance", c.get_instance("ghost").await.map(drop)),
        ("instance delete", c.delete_instance("ghost").await),
        ("alias", c.get_image_alias("ghost").await.map(drop)),
        ("image", c.get_image("0123456789abcdef").await.map(drop)),
        ("volume", c.get_custom_volume(POOL, "ghost").await.map(drop)),
        ("network", c.get_network("ghost0").await.map(drop)),
        ("file", c.pull_file("ghost", "/etc/inittab").await.map(drop)),
    ];
    for (name, got) in missing {
        match got {
            Err(e) if e.kind() == &LxdErrorKind::NotFound => {
                let text = e.to_string();
                assert!(
                    text.contains(&t.name),
                    "case {name}: message names the path: {text}"
                );
            }
            other => panic!("case {name}: want NotFound, got {other:?}"),
        }
    }
    assert_eq!(
        c.get_instance("ghost").await.optional().expect("optional"),
        None
    );

    let net = c.get_network(BRIDGE).await.expect("network");
    assert_eq!(
        net.config.get("ipv4.address").map(String::as_str),
        Some("10.245.0.1/16")
    );
    let mut req = instance("vm-net");
    let nic = [
        ("type", "nic"),
        ("network", BRIDGE),
        ("name", "eth0"),
        ("ipv4.address", "10.245.77.7"),
    ];
    req.devices.insert(
        "eth0".to_owned(),
        nic.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    c.create_instance(&req)
        .await
        .expect("create with static address");
    let ours = c.network_leases(BRIDGE).await.expect("leases");
    assert!(
        ours.iter()
            .any(|l| l.address == "10.245.77.7" && l.hostname == "vm-net"),
        "project leases: {ours:?}"
    );
    let all = c
        .network_leases_all_projects(BRIDGE)
        .await
        .expect("all leases");
    assert!(
        all.iter().any(|l| l.lease_type == "gateway"),
        "gateway lease: {all:?}"
    );
}

#[tokio::test]
async fn image_split_upload_alias_and_delete() {
    let t = setup().await;
    let c = &t.client;
    let props = BTreeMap::from([
        ("bosh_lxd_helper_version".to_owned(), "0.1.0".to_owned()),
        ("name".to_owned(), "bosh-warden & co".to_owned()),
    ]);
    let meta = t.metadata(1_700_000_123).tarball().expect("meta");
    let first = c
        .upload_split_image(meta.clone(), &t.rootfs, &props)
        .await
        .expect("upload");
    assert!(first.created);
    assert_eq!(first.fingerprint.len(), 64, "sha256 fingerprint");

    let image = c.get_image(&first.fingerprint).await.expect("image");
    assert_eq!(image.architecture, "x86_64");
    assert_eq!(
        image.properties.get("name").map(String::as_str),
        Some("bosh-warden & co")
    );
    assert_eq!(
        image.properties.get("os").map(String::as_str),
        Some("busybox"),
        "from metadata.yaml"
    );

    let again = c
        .upload_split_image(meta, &t.rootfs, &props)
        .await
        .expect("re-upload");
    assert_eq!(
        (again.fingerprint.as_str(), again.created),
        (first.fingerprint.as_str(), false)
    );

    c.create_image_alias("stemcell-1", &first.fingerprint, "")
        .await
        .expect("alias 1");
    c.create_image_alias("stemcell-2", &first.fingerprint, "")
        .await
        .expect("alias 2");
    let dup = c
        .create_image_alias("stemcell-1", &first.fingerprint, "")
        .await;
    assert!(
        matches!(dup, Err(ref e) if matches!(e.kind(), LxdErrorKind::AlreadyExists)),
        "duplicate alias: {dup:?}"
    );
    let entry = c.get_image_alias("stemcell-2").await.expect("get alias");
    assert_eq!(entry.target, first.fingerprint);
    let mut aliases = c.image_aliases(&first.fingerprint).await.expect("aliases");
    aliases.sort();
    assert_eq!(aliases, vec!["stemcell-1", "stemcell-2"]);

    let extra = BTreeMap::from([("stemcell_version".to_owned(), "1.2".to_owned())]);
    c.set_image_properties(&first.fingerprint, &extra)
        .await
        .expect("set properties");
    let image = c.get_image(&first.fingerprint).await.expect("image");
    assert_eq!(
        image.properties.get("stemcell_version").map(String::as_str),
        Some("1.2")
    );
    assert_eq!(
        image.properties.get("name").map(String::as_str),
        Some("bosh-warden & co"),
        "kept"
    );

    c.delete_image_alias("stemcell-1")
        .await
        .expect("delete alias");
    let gone = c.get_image_alias("stemcell-1").await;
    assert!(
        matches!(gone, Err(ref e) if matches!(e.kind(), LxdErrorKind::NotFound)),
        "{gone:?}"
    );
    assert!(
        c.list_images()
            .await
            .expect("list")
            .contains(&first.fingerprint)
    );
    c.delete_image(&first.fingerprint)
        .await
        .expect("delete image");
    let gone = c.get_image(&first.fingerprint).await;
    assert!(
        matches!(gone, Err(ref e) if matches!(e.kind(), LxdErrorKind::NotFound)),
        "{gone:?}"
    );
    let gone = c.get_image_alias("stemcell-2").await;
    assert!(
        matches!(gone, Err(ref e) if matches!(e.kind(), LxdErrorKind::NotFound)),
        "alias goes with the image: {gone:?}"
    );
}

#[tokio::test]
async fn instance_lifecycle_exec_and_files() {
    let t = setup().await;
    let c = &t.client;
    c.create_instance(&instance("vm-1")).await.expect("create");
    let dup = c.create_instance(&instance("vm-1")).await;
    assert!(
        matches!(dup, Err(ref e) if matches!(e.kind(), LxdErrorKind::AlreadyExists)),
        "duplicate name: {dup:?}"
    );
    let fp = c.get_image_alias(ALIAS).await.expect("alias").target;
    let from_fp = InstancesPost::container("vm-2", InstanceSource::image_fingerprint(fp));
    c.create_instance(&from_fp)
        .await
        .expect("create from fingerprint");
    let mut names = c.list_instances().await.expect("list");
    names.sort();
    assert_eq!(names, vec!["vm-1", "vm-2"]);

    let inst = c.get_instance("vm-1").await.expect("get");
    assert_eq!(
        inst.config.get("user.bosh.managed-by").map(String::as_str),
        Some("bosh-lxd-cpi")
    );
    assert!(!inst.is_running());
    c.start_instance("vm-1").await.expect("start");
    assert!(c.instance_state("vm-1").await.expect("state").is_running());
    let again = c.start_instance("vm-1").await;
    assert!(
        matches!(again, Err(ref e) if matches!(e.kind(), LxdErrorKind::AlreadyInState)),
        "start running: {again:?}"
    );

    let script = "echo out; echo \"$FOO\"; echo err >&2; exit 3";
    let req = InstanceExecPost::new(["/bin/sh", "-c", script]).env("FOO", "bar");
    let out = c
        .exec("vm-1", &req, Duration::from_secs(30))
        .await
        .expect("exec");
    assert_eq!(out.exit_code, 3);
    assert_eq!(out.stdout_text(), "out\nbar\n");
    assert_eq!(out.stderr_text(), "err\n");
    let missing = InstanceExecPost::new(["/no/such/command"]);
    let out = c
        .exec("vm-1", &missing, Duration::from_secs(30))
        .await
        .expect("exec missing");
    assert_eq!(out.exit_code, 127, "command not found: {out:?}");
    let slow = InstanceExecPost::new(["/bin/sleep", "5"]);
    let late = c.exec("vm-1", &slow, Duration::from_millis(1500)).await;
    assert!(
        matches!(late, Err(ref e) if matches!(e.kind(), LxdErrorKind::Timeout { .. })),
        "exec deadline: {late:?}"
    );

    for dir in ["/var/vcap", "/var/vcap/bosh"] {
        c.create_directory("vm-1", dir, FileMode::root(0o755))
            .await
            .expect("mkdir");
    }
    let path = "/var/vcap/bosh/warden-cpi-agent-env.json";
    let body = Bytes::from_static(b"{\"agent_id\":\"a-1\"}\n");
    c.push_file("vm-1", path, body.clone(), FileMode::root(0o600))
        .await
        .expect("push");
    let pulled = c.pull_file("vm-1", path).await.expect("pull");
    assert_eq!(pulled.data, body);
    assert_eq!(
        (pulled.mode.mode, pulled.mode.uid, pulled.file_type.as_str()),
        (0o600, 0, "file")
    );
    let owned = FileMode {
        uid: 1000,
        gid: 1000,
        mode: 0o640,
    };
    c.push_file("vm-2", "/tmp/x", Bytes::from_static(b"stopped"), owned)
        .await
        .expect("push stopped");
    let st = InstanceExecPost::new(["/bin/stat", "-c", "%a %u %g", path]);
    let out = c
        .exec("vm-1", &st, Duration::from_secs(30))
        .await
        .expect("stat");
    assert_eq!(out.stdout_text(), "600 0 0\n");
    c.delete_file("vm-1", path).await.expect("delete file");
    let gone = c.pull_file("vm-1", path).await;
    assert!(
        matches!(gone, Err(ref e) if matches!(e.kind(), LxdErrorKind::NotFound)),
        "{gone:?}"
    );

    let busy = c.delete_instance("vm-1").await;
    assert!(
        matches!(busy, Err(ref e) if e.kind() == &LxdErrorKind::InstanceRunning),
        "delete running: {busy:?}"
    );
    c.stop_instance("vm-1", true, Duration::from_secs(10))
        .await
        .expect("stop");
    assert!(!c.instance_state("vm-1").await.expect("state").is_running());
    c.delete_instance("vm-1").await.expect("delete");
    assert!(
        c.get_instance("vm-1")
            .await
            .optional()
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn volume_attach_with_patch_and_detach_with_put() {
    let t = setup().await;
    let c = &t.client;
    c.create_custom_volume(POOL, &StorageVolumesPost::filesystem("disk-1", 64))
        .await
        .expect("create");
    let dup = c
        .create_custom_volume(POOL, &StorageVolumesPost::filesystem("disk-1", 64))
        .await;
    assert!(
        matches!(dup, Err(ref e) if matches!(e.kind(), LxdErrorKind::AlreadyExists)),
        "{dup:?}"
    );
    let vol = c
        .get_custom_volume(POOL, "disk-1")
        .await
        .expect("get volume");
    assert_eq!(vol.config.get("size").map(String::as_str), Some("64MiB"));
    assert_eq!(
        c.list_custom_volumes(POOL).await.expect("list"),
        vec!["disk-1"]
    );

    c.create_instance(&instance("vm-1")).await.expect("create");
    c.start_instance("vm-1").await.expect("start");
    let dev_path = "/warden-cpi-dev/disk-1";
    c.update_instance("vm-1", Edit::Merge, |i| {
        let dev = [
            ("type", "disk"),
            ("pool", POOL),
            ("source", "disk-1"),
            ("path", dev_path),
        ];
        i.devices.insert(
            "disk-1".to_owned(),
            dev.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        i.config
            .insert("user.bosh.disk.disk-1".to_owned(), dev_path.to_owned());
        Ok::<(), LxdError>(())
    })
    .await
    .expect("attach");
    let inst = c.get_instance("vm-1").await.expect("get");
    assert!(
        inst.devices.contains_key("disk-1") && inst.is_running(),
        "attached live"
    );
    let mounts = InstanceExecPost::new(["/bin/grep", "-c", dev_path, "/proc/mounts"]);
    let out = c
        .exec("vm-1", &mounts, Duration::from_secs(30))
        .await
        .expect("exec");
    assert_eq!(out.stdout_text(), "1\n", "mounted in the guest");

    let usage = c
        .custom_volume_state(POOL, "disk-1")
        .await
        .expect("state")
        .usage
        .expect("usage");
    assert_eq!(usage.total, 64 * 1024 * 1024, "btrfs reports the quota");
    c.create_volume_snapshot(POOL, "disk-1", "snap0")
        .await
        .expect("snapshot");
    assert_eq!(
        c.list_volume_snapshots(POOL, "disk-1").await.expect("list"),
        vec!["snap0"]
    );
    c.delete_volume_snapshot(POOL, "disk-1", "snap0")
        .await
        .expect("delete snapshot");
    assert!(
        c.list_volume_snapshots(POOL, "disk-1")
            .await
            .expect("list")
            .is_empty()
    );

    let refused = c
        .update_instance("vm-1", Edit::Merge, |i| {
            i.devices.remove("disk-1");
            Ok::<(), LxdError>(())
        })
        .await;
    assert!(
        matches!(refused, Err(ref e) if e.kind() == &LxdErrorKind::InvalidRequest),
        "PATCH cannot remove: {refused:?}"
    );
    c.update_instance("vm-1", Edit::Replace, |i| {
        i.devices.remove("disk-1");
        i.config.remove("user.bosh.disk.disk-1");
        Ok::<(), LxdError>(())
    })
    .await
    .expect("detach");
    let inst = c.get_instance("vm-1").await.expect("get");
    assert!(
        !inst.devices.contains_key("disk-1") && !inst.config.contains_key("user.bosh.disk.disk-1")
    );
    assert!(inst.is_running(), "detached live");

    c.update_storage_volume(POOL, "disk-1", Edit::Merge, |v| {
        v.config.insert("size".to_owned(), "128MiB".to_owned());
        Ok::<(), LxdError>(())
    })
    .await
    .expect("grow");
    let usage = c
        .custom_volume_state(POOL, "disk-1")
        .await
        .expect("state")
        .usage
        .expect("usage");
    assert_eq!(usage.total, 128 * 1024 * 1024);
    c.delete_custom_volume(POOL, "disk-1")
        .await
        .expect("delete volume");
    assert!(
        c.get_custom_volume(POOL, "disk-1")
            .await
            .optional()
            .expect("get")
            .is_none()
    );
}
