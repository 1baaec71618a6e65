//! Unit tests of `overlay`: what is read from the tree, modes, parents, the helper, ids.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use crate::testutil;

fn load(dir: &Path, helper: &Path) -> Result<Overlay> {
    Overlay::load(Tree::Dir(dir), &Source::File(helper.to_path_buf()))
}

#[test]
fn the_tree_is_read_with_normalised_modes_and_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, helper) = testutil::overlay_tree(tmp.path());
    let o = load(&root, &helper).unwrap();
    let paths: Vec<&str> = o.entries.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "etc",
            "etc/sv",
            "etc/sv/monit",
            "etc/sv/monit/run",
            "etc/systemd",
            "etc/systemd/system",
            "etc/systemd/system/helper.service",
            "var",
            "var/vcap",
            "var/vcap/bosh",
            "var/vcap/bosh/bin",
            "var/vcap/bosh/bin/bosh-lxd-helper",
            "var/vcap/bosh/bin/monit",
            "var/vcap/bosh/bin/mount",
            "warden-cpi-dev",
        ],
        "README.md and .keep are not entries"
    );
    let mode = |p: &str| match o.get(p) {
        Some(Added::File { mode, .. }) => *mode,
        other => panic!("{p}: {other:?}"),
    };
    assert_eq!(mode("etc/sv/monit/run"), 0o755);
    assert_eq!(mode("etc/systemd/system/helper.service"), 0o644);
    assert_eq!(mode(HELPER_PATH), 0o755);
    assert_eq!(
        o.get("warden-cpi-dev"),
        Some(&Added::Dir { explicit: true })
    );
    assert_eq!(o.get("etc/sv"), Some(&Added::Dir { explicit: false }));
    assert_eq!(
        o.get("var/vcap/bosh/bin/mount"),
        Some(&Added::Symlink {
            target: b"bosh-lxd-helper".to_vec()
        })
    );
}

#[test]
fn the_helper_version_names_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, helper) = testutil::overlay_tree(tmp.path());
    let one = load(&root, &helper).unwrap();
    let (crate_version, hash) = one.helper_version.split_once('+').unwrap();
    assert_eq!(crate_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(hash.len(), 12);
    fs::write(&helper, testutil::static_elf(b"pretend helper v2")).unwrap();
    let two = load(&root, &helper).unwrap();
    assert_ne!(one.helper_version, two.helper_version);
    assert_ne!(one.repack_id, two.repack_id);
}

#[test]
fn the_repack_id_follows_content_not_times() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, helper) = testutil::overlay_tree(tmp.path());
    let id = || load(&root, &helper).unwrap().repack_id;
    let first = id();
    let unit = root.join("etc/systemd/system/helper.service");
    let text = fs::read(&unit).unwrap();
    fs::write(&unit, &text).unwrap(); // same bytes, new mtime
    assert_eq!(id(), first);
    fs::write(&unit, b"[Unit]\nDescription=changed\n").unwrap();
    assert_ne!(id(), first);
    fs::write(&unit, &text).unwrap();
    fs::set_permissions(&unit, fs::Permissions::from_mode(0o755)).unwrap();
    assert_ne!(id(), first, "a mode change changes the image");
}

#[test]
fn bad_helpers_and_overlays_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, helper) = testutil::overlay_tree(tmp.path());
    let text = tmp.path().join("script.sh");
    fs::write(&text, b"#!/bin/sh\n").unwrap();
    let own = tmp.path().join("own");
    fs::create_dir_all(own.join("var/vcap/bosh/bin")).unwrap();
    fs::write(own.join(HELPER_PATH), b"x").unwrap();
    let actual = tmp.path().join("actual");
    fs::create_dir_all(actual.join("var/vcap/bosh/bin")).unwrap();
    fs::write(actual.join(MONIT_ACTUAL_PATH), b"#!/bin/sh\n").unwrap();
    let dynamic = tmp.path().join("dynamic");
    fs::copy(std::env::current_exe().unwrap(), &dynamic).unwrap();
    let cases: [(&str, &Path, &Path, &str); 7] = [
        (
            "helper not ELF",
            &root,
            &text,
            "not a 64-bit ELF executable",
        ),
        ("helper dynamic", &root, &dynamic, "dynamically linked"),
        (
            "helper missing",
            &root,
            &tmp.path().join("nope"),
            "nope: No such file or directory (os error 2); give --helper the static helper",
        ),
        (
            "helper a directory",
            &root,
            tmp.path(),
            "not a regular file",
        ),
        (
            "overlay missing",
            &tmp.path().join("none"),
            &helper,
            "none: No such file or directory (os error 2); give --overlay a directory",
        ),
        (
            "overlay has the helper",
            &own,
            &helper,
            "comes from --helper",
        ),
        (
            "overlay has a monit-actual",
            &actual,
            &helper,
            "kept for the image's monit binary",
        ),
    ];
    for (what, dir, helper, want) in cases {
        let err = load(dir, helper).expect_err(what);
        assert!(format!("{err:#}").contains(want), "{what}: {err:#}");
    }
}

#[test]
fn the_built_static_helper_passes_when_there_is_one() {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/x86_64-unknown-linux-gnu/release/bosh-lxd-helper");
    if let Ok(head) = fs::read(&built) {
        assert_eq!(elf_interpreter(&head), Some(false), "{}", built.display());
    }
    let head = fs::read("/bin/sh").unwrap();
    assert_eq!(elf_interpreter(&head), Some(true), "/bin/sh is dynamic");
}

#[test]
fn the_built_in_tree_is_the_source_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, helper) = testutil::overlay_tree(tmp.path());
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("overlay");
    let from_dir = load(&source, &helper).unwrap();
    let helper = Source::File(helper);
    let built_in = Overlay::load(Tree::BuiltIn, &helper).unwrap();
    assert_eq!(built_in.repack_id, from_dir.repack_id);
    assert_eq!(built_in.helper_version, from_dir.helper_version);
    assert_eq!(
        built_in.entries.keys().collect::<Vec<_>>(),
        from_dir.entries.keys().collect::<Vec<_>>()
    );
    let mut files = 0;
    for (path, added) in &built_in.entries {
        match (added, &from_dir.entries[path]) {
            (
                Added::File {
                    source: Source::BuiltIn(bytes),
                    mode,
                    ..
                },
                Added::File {
                    source: Source::File(file),
                    mode: file_mode,
                    ..
                },
            ) => {
                assert_eq!(*bytes, fs::read(file).unwrap().as_slice(), "{path}");
                assert_eq!(mode, file_mode, "{path}");
                files += 1;
            }
            (Added::File { source, .. }, _) => assert_eq!(source, &helper, "{path}"),
            (a, b) => assert_eq!(a, b, "{path}"),
        }
    }
    assert!(files >= 6, "{files} built-in files");
    let run = &built_in.entries["etc/sv/monit/run"];
    assert!(matches!(run, Added::File { mode: 0o755, .. }), "{run:?}");
}
