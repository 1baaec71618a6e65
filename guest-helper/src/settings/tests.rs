//! Tests of the settings readers, table-driven over real and broken shapes.

use super::*;

fn parse_str(text: &str) -> Result<AgentSettings> {
    parse_agent_settings(&serde_json::from_str(text)?)
}

#[test]
fn agent_settings_shapes() {
    /// name, settings text, expected disks and mount options (`None`: an error)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<(&'a [(&'a str, &'a str)], &'a [&'a str])>,
    );
    let cases: [Case; 8] = [
        (
            "string hint",
            r#"{"disks":{"system":"","persistent":{"disk-a":"/warden-cpi-dev/disk-a"}}}"#,
            Some((&[("disk-a", "/warden-cpi-dev/disk-a")], &[])),
        ),
        (
            "object hint",
            r#"{"disks":{"persistent":{"disk-a":{"path":"/warden-cpi-dev/disk-a","volume_id":"disk-a"}}}}"#,
            Some((&[("disk-a", "/warden-cpi-dev/disk-a")], &[])),
        ),
        (
            "object hint without path",
            r#"{"disks":{"persistent":{"disk-a":{"volume_id":"disk-a"}}}}"#,
            Some((&[("disk-a", "")], &[])),
        ),
        ("no disks", r#"{"agent_id":"x"}"#, Some((&[], &[]))),
        (
            "null persistent",
            r#"{"disks":{"persistent":null}}"#,
            Some((&[], &[])),
        ),
        (
            "mount options",
            r#"{"disks":{"persistent":{}},"env":{"persistent_disk_mount_options":["noatime","nodev"]}}"#,
            Some((&[], &["noatime", "nodev"])),
        ),
        (
            "persistent is a list",
            r#"{"disks":{"persistent":["disk-a"]}}"#,
            None,
        ),
        (
            "options not strings",
            r#"{"env":{"persistent_disk_mount_options":[1]}}"#,
            None,
        ),
    ];
    for (name, text, want) in cases {
        let got = parse_str(text);
        match want {
            None => assert!(got.is_err(), "{name}: expected an error, got {got:?}"),
            Some((disks, options)) => {
                let got = got.unwrap_or_else(|e| panic!("{name}: {e:#}"));
                let disks: DiskMap = disks
                    .iter()
                    .map(|(c, p)| (c.to_string(), p.to_string()))
                    .collect();
                assert_eq!(got.persistent, disks, "{name}");
                assert_eq!(got.mount_options, options, "{name}");
            }
        }
    }
}

#[test]
fn hints_file_uses_the_agents_capitalised_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("persistent_disk_hints.json");
    assert_eq!(read_hints(&path), Source::Missing, "missing file");
    std::fs::write(
        &path,
        r#"{"disk-a":{"ID":"disk-a","DeviceID":"","VolumeID":"/warden-cpi-dev/disk-a","Lun":"","HostDeviceID":"","Path":"/warden-cpi-dev/disk-a","ISCSISettings":{},"FileSystemType":"","MountOptions":null,"Partitioner":""}}"#,
    )
    .expect("write");
    let hints = read_hints(&path);
    let want: DiskMap = [("disk-a".to_string(), "/warden-cpi-dev/disk-a".to_string())].into();
    assert_eq!(hints, Source::Parsed(want), "agent-written hints");
    for (name, text) in [
        ("empty", ""),
        ("truncated", "{\"disk-a\":"),
        ("a list", "[]"),
    ] {
        std::fs::write(&path, text).expect("write");
        match read_hints(&path) {
            Source::Corrupt(why) => {
                assert!(why.contains("persistent_disk_hints.json"), "{name}: {why}")
            }
            other => panic!("{name}: expected corrupt, got {other:?}"),
        }
    }
}

#[test]
fn managed_cid_is_a_bare_trimmed_string() {
    let cases: [(&str, &[u8], ManagedCid); 8] = [
        (
            "bare, no newline",
            b"disk-a",
            ManagedCid::Cid("disk-a".into()),
        ),
        (
            "trailing newline",
            b"disk-a\n",
            ManagedCid::Cid("disk-a".into()),
        ),
        ("empty", b"", ManagedCid::Empty),
        ("whitespace only", b" \n", ManagedCid::Empty),
        (
            "json quoted",
            b"\"disk-a\"",
            ManagedCid::Corrupt(String::new()),
        ),
        ("a path", b"../etc", ManagedCid::Corrupt(String::new())),
        (
            "two words",
            b"disk-a disk-b",
            ManagedCid::Corrupt(String::new()),
        ),
        ("not utf-8", b"\xff\xfe", ManagedCid::Corrupt(String::new())),
    ];
    for (name, bytes, want) in cases {
        let got = parse_managed_cid(bytes);
        match (&got, &want) {
            (ManagedCid::Corrupt(_), ManagedCid::Corrupt(_)) => {}
            _ => assert_eq!(got, want, "{name}"),
        }
    }
}

#[test]
fn managed_cid_file_states() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("managed_disk_settings.json");
    assert_eq!(read_managed_cid(&path), ManagedCid::Missing, "missing");
    std::fs::write(&path, "disk-a").expect("write");
    assert_eq!(
        read_managed_cid(&path),
        ManagedCid::Cid("disk-a".into()),
        "present"
    );
    let settings = dir.path().join("warden-cpi-agent-env.json");
    std::fs::write(&settings, "{not json").expect("write");
    match read_agent_settings(&settings) {
        Source::Corrupt(why) => assert!(why.contains("warden-cpi-agent-env.json"), "{why}"),
        other => panic!("corrupt settings read as {other:?}"),
    }
}
