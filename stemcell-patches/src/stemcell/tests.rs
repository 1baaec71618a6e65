//! Unit tests of `stemcell`: the outer tarball end to end, and each bad input leaving
//! nothing behind.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::overlay::{Source, Tree};
use crate::testutil::{self, gunzip, gzip, list, outer_members, sha1_hex, stemcell_tgz};

struct Case {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    overlay: Overlay,
}

impl Case {
    fn new() -> Case {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let (root, helper) = testutil::overlay_tree(&dir);
        let overlay = Overlay::load(Tree::Dir(&root), &Source::File(helper.clone())).unwrap();
        fs::create_dir(dir.join("out")).unwrap();
        Case {
            _tmp: tmp,
            dir,
            overlay,
        }
    }

    fn opts(&self, input: &str, output: &str) -> Options {
        Options {
            input: self.dir.join(input),
            output: self.dir.join("out").join(output),
            name: None,
            version: None,
            dry_run: false,
            progress: false,
        }
    }

    fn put(&self, name: &str, data: &[u8]) {
        fs::write(self.dir.join(name), data).unwrap();
    }

    fn run(&self, input: &str, output: &str) -> Result<Outcome> {
        repack(&self.opts(input, output), &self.overlay)
    }

    fn read(&self, output: &str) -> Vec<u8> {
        fs::read(self.dir.join("out").join(output)).unwrap()
    }

    fn out_listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn a_repack_rewrites_the_manifest_and_copies_the_other_members() {
    let case = Case::new();
    let stock = testutil::stemcell();
    case.put("in.tgz", &stock);
    let outcome = case.run("in.tgz", "a.tgz").unwrap();
    let out = outer_members(&case.read("a.tgz"));
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["stemcell.MF", "image", "packages.txt"],
        "input order"
    );
    assert_eq!(out[2], outer_members(&stock)[2], "packages.txt as it was");
    let manifest = Manifest::parse(&out[0].1).unwrap();
    assert_eq!(manifest.get("sha1").unwrap(), sha1_hex(&out[1].1));
    assert_eq!(manifest.version().unwrap(), outcome.version);
    assert_eq!(
        outcome.version,
        format!("1.10-lxd.{}", case.overlay.repack_id)
    );
    assert_eq!(
        manifest.helper_version().unwrap(),
        case.overlay.helper_version
    );
    assert!(
        list(&gunzip(&out[1].1)[..])
            .iter()
            .any(|m| m.path.ends_with("bosh-lxd-helper"))
    );
    let mode = fs::metadata(case.dir.join("out/a.tgz"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    assert_eq!(
        case.out_listing(),
        ["a.tgz"],
        "no spool or temporary file left"
    );
}

#[test]
fn repacking_the_output_gives_the_same_bytes() {
    let case = Case::new();
    case.put("in.tgz", &testutil::stemcell());
    case.run("in.tgz", "a.tgz").unwrap();
    fs::copy(case.dir.join("out/a.tgz"), case.dir.join("a.tgz")).unwrap();
    let again = case.run("a.tgz", "b.tgz").unwrap();
    assert_eq!(case.read("a.tgz"), case.read("b.tgz"));
    assert!(again.manifest.is_empty() && again.image.is_unchanged());
}

#[test]
fn name_and_version_flags_are_used() {
    let case = Case::new();
    case.put("in.tgz", &testutil::stemcell());
    let mut opts = case.opts("in.tgz", "a.tgz");
    opts.name = Some("bosh-lxd-ubuntu".into());
    opts.version = Some("9.9".into());
    let outcome = repack(&opts, &case.overlay).unwrap();
    assert_eq!(
        (outcome.name.as_str(), outcome.version.as_str()),
        ("bosh-lxd-ubuntu", "9.9")
    );
    let out = outer_members(&case.read("a.tgz"));
    let m = Manifest::parse(&out[0].1).unwrap();
    assert_eq!(
        (m.name().unwrap(), m.version().unwrap()),
        outcome_pair(&outcome)
    );
}

fn outcome_pair(o: &Outcome) -> (String, String) {
    (o.name.clone(), o.version.clone())
}

#[test]
fn a_dry_run_writes_nothing_and_reports_the_changes() {
    let case = Case::new();
    case.put("in.tgz", &testutil::stemcell());
    let mut opts = case.opts("in.tgz", "a.tgz");
    opts.dry_run = true;
    let outcome = repack(&opts, &case.overlay).unwrap();
    assert!(case.out_listing().is_empty());
    assert!(
        outcome
            .image
            .changes
            .contains(&crate::image::Change::Replaced("./etc/sv/monit/run".into()))
    );
    assert!(outcome.manifest.iter().any(|c| c.key == "version"));
}

#[test]
fn plain_tar_layers_are_read_too() {
    let case = Case::new();
    let image = testutil::rootfs_tar(true);
    let manifest = testutil::manifest_for(&image);
    let outer = gunzip(&stemcell_tgz(&[
        ("./stemcell.MF", manifest.as_bytes()),
        ("./image", &image),
    ]));
    case.put("in.tar", &outer);
    case.run("in.tar", "a.tgz").unwrap();
    let out = outer_members(&case.read("a.tgz"));
    assert_eq!(out[1].0, "image");
    assert!(
        !list(&gunzip(&out[1].1)[..]).is_empty(),
        "the image is gzip now"
    );
}

#[test]
fn bad_inputs_fail_naming_the_file_and_leave_nothing() {
    let case = Case::new();
    let image = gzip(&testutil::rootfs_tar(true));
    let manifest = testutil::manifest_for(&image);
    let good = testutil::stemcell();
    let not_rootfs = gzip(&testutil::rootfs_tar(false));
    let inputs: [(&str, Vec<u8>, &str); 8] = [
        (
            "no-manifest.tgz",
            stemcell_tgz(&[("image", &image)]),
            "is not a stemcell: it has no stemcell.MF",
        ),
        (
            "no-image.tgz",
            stemcell_tgz(&[("stemcell.MF", manifest.as_bytes())]),
            "has no image",
        ),
        (
            "truncated.tgz",
            good[..good.len() * 2 / 3].to_vec(),
            "is truncated",
        ),
        (
            "not-rootfs.tgz",
            stemcell_tgz(&[("stemcell.MF", manifest.as_bytes()), ("image", &not_rootfs)]),
            "not a root filesystem tarball",
        ),
        (
            "text.tgz",
            b"just some text, no tar here\n".repeat(40),
            "not a tar archive",
        ),
        (
            "bad-manifest.tgz",
            stemcell_tgz(&[("stemcell.MF", b"- a list\n"), ("image", &image)]),
            "stemcell.MF: not a YAML mapping",
        ),
        (
            "image-not-tar.tgz",
            stemcell_tgz(&[
                ("stemcell.MF", manifest.as_bytes()),
                ("image", &gzip(&b"text ".repeat(300))),
            ]),
            "image: not a tar archive",
        ),
        (
            "truncated-image.tgz",
            stemcell_tgz(&[
                ("stemcell.MF", manifest.as_bytes()),
                ("image", &image[..image.len() / 2]),
            ]),
            "is truncated",
        ),
    ];
    for (name, data, want) in inputs {
        case.put(name, &data);
        let err = case.run(name, "out.tgz").expect_err(name);
        let text = format!("{err:#}");
        assert!(text.contains(want), "{name}: {text}");
        assert!(
            text.contains(name),
            "{name}: the message names the file: {text}"
        );
        assert!(
            case.out_listing().is_empty(),
            "{name}: left {:?}",
            case.out_listing()
        );
    }
}

#[test]
fn an_existing_output_is_refused_and_kept() {
    let case = Case::new();
    case.put("in.tgz", &testutil::stemcell());
    fs::write(case.dir.join("out/a.tgz"), b"precious").unwrap();
    let err = case.run("in.tgz", "a.tgz").unwrap_err();
    assert!(
        format!("{err:#}").contains("out/a.tgz already exists"),
        "{err:#}"
    );
    assert_eq!(case.read("a.tgz"), b"precious");
    assert_eq!(case.out_listing(), ["a.tgz"]);
    let err = case.run("in.tgz", "missing-dir/a.tgz").unwrap_err();
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
}
