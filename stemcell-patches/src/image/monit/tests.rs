//! Unit tests of `image::monit`: a wrapper script replaced, a monit binary kept as
//! `monit-actual`, no monit at all, a monit that will refuse the agent, and the shapes that
//! are refused.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use crate::image::{ImageReport, repack_image};
use crate::overlay::{Overlay, Source, Tree};
use crate::testutil::{
    self, Listed, OVERLAY_MONIT, StockMonit, list, monit_binary, monit_binary_csrf,
};

const MONIT: &str = "./var/vcap/bosh/bin/monit";
const ACTUAL: &str = "./var/vcap/bosh/bin/monit-actual";

fn sha256(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::digest::hex(&Sha256::digest(data))
}

fn repack(monit: StockMonit) -> Result<(ImageReport, Vec<u8>, Vec<u8>)> {
    let tmp = tempfile::tempdir().unwrap();
    let (root, helper) = testutil::overlay_tree(tmp.path());
    let overlay = Overlay::load(Tree::Dir(&root), &Source::File(helper.clone())).unwrap();
    let stock = testutil::rootfs_with_monit(monit);
    let (report, out) = repack_image(&stock[..], Vec::new(), &overlay)?;
    let (again, twice) = repack_image(&out[..], Vec::new(), &overlay).unwrap();
    assert_eq!(out, twice, "repacking the repack gives the same bytes");
    assert!(again.is_unchanged(), "{:?}", again.changes);
    Ok((report, stock, out))
}

fn position(members: &[Listed], path: &str) -> usize {
    members
        .iter()
        .position(|m| m.path == path)
        .unwrap_or_else(|| panic!("no member {path}"))
}

fn header(m: &Listed) -> Header {
    Header::from_byte_slice(&m.header).clone()
}

#[test]
fn a_wrapper_script_is_replaced_in_place_and_monit_actual_kept() {
    let (report, stock, out) = repack(StockMonit::Wrapper).unwrap();
    let (before, after) = (list(&stock[..]), list(&out[..]));
    assert_eq!(position(&before, MONIT), position(&after, MONIT));
    let wrapper = &after[position(&after, MONIT)];
    assert_eq!(wrapper.sha256, sha256(OVERLAY_MONIT));
    assert_eq!(header(wrapper).mode().unwrap(), 0o755);
    assert_eq!(
        after[position(&after, ACTUAL)],
        before[position(&before, ACTUAL)],
        "the stock monit-actual is untouched"
    );
    assert_eq!(
        after.iter().filter(|m| m.path.ends_with("/monit")).count(),
        1
    );
    assert!(report.changes.contains(&Change::Replaced(MONIT.into())));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn a_monit_binary_is_kept_as_monit_actual_and_the_wrapper_follows_it() {
    let (report, stock, out) = repack(StockMonit::Binary).unwrap();
    let (before, after) = (list(&stock[..]), list(&out[..]));
    let was = &before[position(&before, MONIT)];
    let at = position(&after, ACTUAL);
    assert_eq!(at, position(&before, MONIT), "kept where it was");
    let kept = &after[at];
    assert_eq!(
        kept.sha256,
        sha256(&monit_binary()),
        "the binary, byte for byte"
    );
    let (h, stock_h) = (header(kept), header(was));
    assert_eq!(h.mode().unwrap(), 0o750);
    assert_eq!(
        (h.uid().unwrap(), h.mtime().unwrap(), h.entry_type()),
        (
            stock_h.uid().unwrap(),
            stock_h.mtime().unwrap(),
            stock_h.entry_type()
        )
    );
    let pax = String::from_utf8_lossy(&kept.pax);
    assert!(
        pax.contains("SCHILY.xattr.user.kept=yes"),
        "xattr kept: {pax}"
    );
    assert!(!pax.contains("path="), "its old name is gone: {pax}");
    let wrapper = &after[at + 1];
    assert_eq!(
        (wrapper.path.as_str(), wrapper.sha256.as_str()),
        (MONIT, sha256(OVERLAY_MONIT).as_str()),
        "the wrapper right after it"
    );
    assert_eq!(
        after.iter().filter(|m| m.path.ends_with("/monit")).count(),
        1
    );
    let from = report
        .changes
        .iter()
        .position(|c| matches!(c, Change::KeptAs { .. }))
        .expect("a kept member");
    assert_eq!(
        &report.changes[from..from + 2],
        [
            Change::KeptAs {
                from: MONIT.into(),
                to: ACTUAL.into()
            },
            Change::Added(MONIT.into()),
        ]
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn without_any_monit_the_wrapper_is_added_with_a_warning() {
    let (report, _, out) = repack(StockMonit::Neither).unwrap();
    let after = list(&out[..]);
    assert_eq!(after[position(&after, MONIT)].sha256, sha256(OVERLAY_MONIT));
    assert!(report.changes.contains(&Change::Added(MONIT.into())));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("nothing to start"),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_binary_beside_a_monit_actual_and_a_link_are_refused() {
    for (shape, want) in [
        (
            StockMonit::BinaryThenActual,
            "will not guess which one is monit",
        ),
        (
            StockMonit::ActualThenBinary,
            "will not guess which one is monit",
        ),
        (StockMonit::Link, "is not a regular file"),
    ] {
        let err = repack(shape).unwrap_err();
        assert!(format!("{err:#}").contains(want), "{shape:?}: {err:#}");
    }
}

#[test]
fn pax_path_records_alone_are_dropped() {
    let records = b"30 mtime=1700000000.123456789\n34 path=./var/vcap/bosh/bin/monit\n";
    assert_eq!(
        pax_without_path(records).unwrap(),
        b"30 mtime=1700000000.123456789\n"
    );
    assert!(
        pax_without_path(b"99 path=x\n").is_err(),
        "a length past the end"
    );
}

#[test]
fn a_monit_with_the_csrf_check_is_warned_about_wherever_it_is() {
    for (monit, path) in [
        (StockMonit::WrapperCsrf, ACTUAL),
        (StockMonit::BinaryCsrf, ACTUAL),
    ] {
        let (report, stock, out) = repack(monit).unwrap();
        let warned: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.contains("CSRF") && w.contains("bosh-agent"))
            .collect();
        assert_eq!(warned.len(), 1, "{monit:?}: {:?}", report.warnings);
        assert!(warned[0].starts_with(path), "{monit:?}: {}", warned[0]);
        let (before, after) = (list(&stock[..]), list(&out[..]));
        let binary = sha256(&monit_binary_csrf());
        assert_eq!(after[position(&after, ACTUAL)].sha256, binary, "{monit:?}");
        assert!(before.iter().any(|m| m.sha256 == binary), "{monit:?}");
    }
}

#[test]
fn the_monit_stemcells_build_gets_no_csrf_warning() {
    for monit in [StockMonit::Wrapper, StockMonit::Binary] {
        let (report, _, _) = repack(monit).unwrap();
        assert!(
            !report.warnings.iter().any(|w| w.contains("CSRF")),
            "{monit:?}: {:?}",
            report.warnings
        );
    }
}
