//! Unit tests of `manifest`: the keys a repack sets, the version rules, kept keys.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use crate::testutil;

const ID: &str = "0123456789ab";

fn choices<'a>(sha1: &'a str) -> Choices<'a> {
    Choices {
        name: None,
        version: None,
        helper_version: "0.1.0+aaaaaaaaaaaa",
        repack_id: ID,
        sha1,
    }
}

fn stock() -> Manifest {
    Manifest::parse(testutil::manifest_for(b"image").as_bytes()).unwrap()
}

#[test]
fn a_rewrite_sets_the_repack_keys_and_keeps_the_rest_in_place() {
    let (text, changes) = stock().rewrite(&choices("f00d")).unwrap();
    let want = "---\nname: bosh-test-stemcell\nversion: 1.10-lxd.0123456789ab\nbosh_protocol: 1\n\
                api_version: 3\nsha1: f00d\noperating_system: ubuntu-jammy\nstemcell_formats:\n\
                \x20 - warden-tar\n  - general-tar\nunknown_key: kept\ncloud_properties:\n\
                \x20 name: bosh-test-stemcell\n  version: 1.10-lxd.0123456789ab\n\
                \x20 infrastructure: warden\n  disk: 5120\n\
                \x20 bosh_lxd_helper_version: 0.1.0+aaaaaaaaaaaa\n";
    assert_eq!(text, want);
    let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "version",
            "sha1",
            "stemcell_formats",
            "cloud_properties.bosh_lxd_helper_version",
            "cloud_properties.version"
        ]
    );
}

#[test]
fn a_rewrite_of_a_rewrite_is_the_same_text_and_changes_nothing() {
    let (once, _) = stock().rewrite(&choices("f00d")).unwrap();
    let (twice, changes) = Manifest::parse(once.as_bytes())
        .unwrap()
        .rewrite(&choices("f00d"))
        .unwrap();
    assert_eq!(once, twice);
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn versions_follow_the_rules() {
    let other = "fedcba987654";
    let cases: [(&str, Option<&str>, Option<&str>, &str); 6] = [
        ("stock", None, None, "1.10-lxd.0123456789ab"),
        ("same repack", Some(ID), None, "1.10-lxd.0123456789ab"),
        ("other repack", Some(other), None, "1.10-lxd.0123456789ab"),
        ("--version", None, Some("7.7"), "7.7"),
        ("--version on a repack", Some(ID), Some("7.7"), "7.7"),
        (
            "number-like version kept as text",
            None,
            None,
            "1.10-lxd.0123456789ab",
        ),
    ];
    for (what, repacked_with, flag, want) in cases {
        let text = match repacked_with {
            None => "name: n\nversion: 1.10\n".to_string(),
            Some(id) => format!(
                "name: n\nversion: 1.10-lxd.{id}\ncloud_properties:\n  bosh_lxd_helper_version: x\n"
            ),
        };
        let m = Manifest::parse(text.as_bytes()).unwrap();
        let c = Choices {
            version: flag,
            ..choices("")
        };
        assert_eq!(m.new_version(&c).unwrap(), want, "{what}");
    }
}

#[test]
fn a_stock_version_that_looks_like_a_suffix_is_kept_whole() {
    let m = Manifest::parse(b"name: n\nversion: 2-lxd.0123456789aa\n").unwrap();
    assert_eq!(
        m.new_version(&choices("")).unwrap(),
        "2-lxd.0123456789aa-lxd.0123456789ab"
    );
}

#[test]
fn name_flag_renames_and_its_mirror_follows() {
    let c = Choices {
        name: Some("bosh-lxd-test"),
        ..choices("f00d")
    };
    let (text, _) = stock().rewrite(&c).unwrap();
    let again = Manifest::parse(text.as_bytes()).unwrap();
    assert_eq!(again.name().unwrap(), "bosh-lxd-test");
    assert!(text.contains("\n  name: bosh-lxd-test\n"), "{text}");
    assert_eq!(again.get("api_version").as_deref(), Some("3"));
    assert_eq!(
        again.get("operating_system").as_deref(),
        Some("ubuntu-jammy")
    );
}

#[test]
fn missing_formats_and_cloud_properties_are_created() {
    let m = Manifest::parse(b"name: n\nversion: '1'\nsha1: x\n").unwrap();
    let (text, _) = m.rewrite(&choices("f00d")).unwrap();
    let again = Manifest::parse(text.as_bytes()).unwrap();
    assert_eq!(
        again.helper_version().as_deref(),
        Some("0.1.0+aaaaaaaaaaaa")
    );
    assert!(
        text.contains("stemcell_formats:\n  - warden-tar\n  - general-tar\n"),
        "{text}"
    );
}

#[test]
fn bad_manifests_are_refused() {
    let cases: [(&str, &[u8], &str); 6] = [
        ("not yaml", b"name: [unclosed", "not valid YAML"),
        ("a list", b"- a\n- b\n", "not a YAML mapping"),
        ("no name", b"version: '1'\n", "no `name`"),
        ("no version", b"name: n\n", "no `version`"),
        ("binary", b"name: \xff\xfe\n", "not UTF-8"),
        (
            "two documents",
            b"name: a\n---\nname: b\n",
            "one YAML document",
        ),
    ];
    for (what, bytes, want) in cases {
        let err = Manifest::parse(bytes).expect_err(what);
        assert!(format!("{err:#}").contains(want), "{what}: {err:#}");
    }
    let odd = Manifest::parse(b"name: n\nversion: '1'\ncloud_properties: 3\n").unwrap();
    let err = odd.rewrite(&choices("x")).unwrap_err();
    assert!(format!("{err:#}").contains("not a mapping"), "{err:#}");
}
