//! Unit tests of `image`: members kept as stored, the overlay replacing and appending,
//! idempotence and the rootfs check, on the synthetic rootfs of `testutil`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use crate::overlay::{Source, Tree};
use crate::testutil::{self, LONG_NAME, Listed, OVERLAY_MONIT_RUN, list};

fn overlay(dir: &std::path::Path) -> Overlay {
    let (root, helper) = testutil::overlay_tree(dir);
    Overlay::load(Tree::Dir(&root), &Source::File(helper.clone())).unwrap()
}

fn repack(input: &[u8], overlay: &Overlay) -> (ImageReport, Vec<u8>) {
    repack_image(input, Vec::new(), overlay).unwrap()
}

fn find<'a>(members: &'a [Listed], path: &str) -> &'a Listed {
    members
        .iter()
        .find(|m| m.path == path)
        .unwrap_or_else(|| panic!("no member {path}"))
}

#[test]
fn stock_members_are_kept_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let stock = testutil::rootfs_tar(true);
    let (_, out) = repack(&stock, &overlay);
    let before = list(&stock[..]);
    let after = list(&out[..]);
    for m in &before {
        if m.path == "./etc/sv/monit/run" || m.path == "./var/vcap/bosh/bin/monit" {
            continue;
        }
        assert_eq!(find(&after, &m.path), m, "member {} changed", m.path);
    }
    // the pax records (xattrs) and the device node are among them
    let ping = find(&after, "./usr/bin/ping");
    assert!(ping.pax.windows(7).any(|w| w == b"user.no"), "{ping:?}");
    let null = Header::from_byte_slice(&find(&after, "./dev/null").header).clone();
    assert_eq!(null.entry_type(), EntryType::Char);
    assert_eq!(null.device_major().unwrap(), Some(1));
    assert_eq!(
        find(&after, LONG_NAME).sha256,
        find(&before, LONG_NAME).sha256
    );
}

#[test]
fn an_overlay_file_replaces_the_stock_member_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let stock = testutil::rootfs_tar(true);
    let (report, out) = repack(&stock, &overlay);
    let before = list(&stock[..]);
    let after = list(&out[..]);
    let pos = |ms: &[Listed]| ms.iter().position(|m| m.path == "./etc/sv/monit/run");
    assert_eq!(pos(&before), pos(&after), "replaced where it was");
    assert_eq!(
        after
            .iter()
            .filter(|m| m.path.ends_with("monit/run"))
            .count(),
        1
    );
    let run = find(&after, "./etc/sv/monit/run");
    let header = Header::from_byte_slice(&run.header);
    assert_eq!(header.mode().unwrap(), 0o755, "source 0700 → 0755");
    assert_eq!(header.uid().unwrap(), 0);
    assert_eq!(header.mtime().unwrap(), ADDED_MTIME);
    assert_eq!(header.username().unwrap(), Some("root"));
    let mut hasher = HashingWriter::<_, Sha256>::new(io::sink());
    hasher.write_all(OVERLAY_MONIT_RUN).unwrap();
    assert_eq!(run.sha256, crate::digest::hex(&hasher.finish().1));
    assert!(
        report
            .changes
            .contains(&Change::Replaced("./etc/sv/monit/run".into()))
    );
}

#[test]
fn missing_entries_are_appended_in_path_order_and_existing_directories_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let stock = testutil::rootfs_tar(true);
    let (report, out) = repack(&stock, &overlay);
    let after = list(&out[..]);
    let appended: Vec<&str> = after[list(&stock[..]).len()..]
        .iter()
        .map(|m| m.path.as_str())
        .collect();
    assert_eq!(
        appended,
        [
            "./etc/systemd/",
            "./etc/systemd/system/",
            "./etc/systemd/system/helper.service",
            "./var/vcap/bosh/bin/bosh-lxd-helper",
            "./var/vcap/bosh/bin/mount",
            "./warden-cpi-dev/",
        ]
    );
    let helper =
        Header::from_byte_slice(&find(&after, "./var/vcap/bosh/bin/bosh-lxd-helper").header);
    assert_eq!(
        (helper.mode().unwrap(), helper.entry_type()),
        (0o755, EntryType::Regular)
    );
    let mount = Header::from_byte_slice(&find(&after, "./var/vcap/bosh/bin/mount").header);
    assert_eq!(mount.entry_type(), EntryType::Symlink);
    assert_eq!(
        mount.link_name_bytes().unwrap().as_ref(),
        b"bosh-lxd-helper"
    );
    let unit = Header::from_byte_slice(&find(&after, "./etc/systemd/system/helper.service").header);
    assert_eq!(unit.mode().unwrap(), 0o644, "source 0600 → 0644");
    // /var/vcap/bosh stays 0700: an existing directory is not replaced
    let bosh = Header::from_byte_slice(&find(&after, "./var/vcap/bosh/").header);
    assert_eq!(bosh.mode().unwrap(), 0o700);
    assert!(
        report
            .changes
            .contains(&Change::KeptDir("./var/vcap/bosh/".into()))
    );
    assert!(
        report
            .changes
            .contains(&Change::Added("./warden-cpi-dev/".into()))
    );
}

#[test]
fn repacking_a_repack_gives_the_same_bytes_and_reports_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let (first, once) = repack(&testutil::rootfs_tar(true), &overlay);
    assert!(!first.is_unchanged());
    let (second, twice) = repack(&once, &overlay);
    assert_eq!(once, twice);
    assert!(second.is_unchanged(), "{:?}", second.changes);
    assert!(
        second
            .changes
            .iter()
            .all(|c| !matches!(c, Change::Added(_)))
    );
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let stock = testutil::rootfs_tar(true);
    assert_eq!(repack(&stock, &overlay).1, repack(&stock, &overlay).1);
}

#[test]
fn an_archive_without_etc_is_not_a_rootfs() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let err = repack_image(&testutil::rootfs_tar(false)[..], Vec::new(), &overlay).unwrap_err();
    assert!(
        format!("{err:#}").contains("not a root filesystem tarball"),
        "{err:#}"
    );
}

#[test]
fn an_image_without_the_agent_is_not_a_stemcell() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let err =
        repack_image(&testutil::rootfs_without_agent()[..], Vec::new(), &overlay).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("not a BOSH stemcell") && msg.contains("/var/vcap/bosh/bin/bosh-agent"),
        "{msg}"
    );
}

#[test]
fn a_hard_link_to_a_replaced_file_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = overlay(tmp.path());
    let mut b = tar::Builder::new(Vec::new());
    let stock = testutil::rootfs_tar(true);
    let mut archive = tar::Archive::new(&stock[..]);
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let path = e.path().unwrap().into_owned();
        b.append_data(&mut h, path, &mut e).unwrap();
    }
    let h = testutil::header(EntryType::Link, 0o755, 0, 0);
    testutil::append_raw(&mut b, h, "./etc/sv/monit/run2", "./etc/sv/monit/run", &[]);
    let (report, _) = repack(&b.into_inner().unwrap(), &overlay);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("./etc/sv/monit/run2"));
}

#[test]
fn a_long_overlay_path_gets_a_gnu_long_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, helper) = testutil::overlay_tree(tmp.path());
    let long = format!("etc/{}/unit.conf", "d".repeat(120));
    std::fs::create_dir_all(root.join(&long).parent().unwrap()).unwrap();
    std::fs::write(root.join(&long), b"x=1\n").unwrap();
    let overlay = Overlay::load(Tree::Dir(&root), &Source::File(helper.clone())).unwrap();
    let (_, out) = repack(&testutil::rootfs_tar(true), &overlay);
    let after = list(&out[..]);
    assert_eq!(
        find(&after, &format!("./{long}")).path.len(),
        long.len() + 2
    );
    let (_, again) = repack(&out, &overlay);
    assert_eq!(out, again, "a long name is recognised on the next repack");
}

#[test]
fn paths_are_normalised() {
    let cases: [(&[u8], usize, &[u8]); 7] = [
        (b"./etc/", 2, b"etc"),
        (b"etc", 0, b"etc"),
        (b"/etc//", 1, b"etc"),
        (b"./", 2, b""),
        (b".", 0, b""),
        (b"././var/vcap", 4, b"var/vcap"),
        (b"./a/./b", 2, b"a/./b"),
    ];
    for (i, (path, lead, norm)) in cases.iter().enumerate() {
        assert_eq!(normalize(path), (*lead, *norm), "case {i}");
    }
}
