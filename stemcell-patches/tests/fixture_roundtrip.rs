//! Round trip on the real fixture stemcell: every member of the output image equals the
//! input's, in the same place, except the overlay's; `stemcell.MF`'s sha1 is the new
//! image's; repacking the output gives the same bytes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::testutil::{list, outer_members, sha1_hex};
use common::{fixture_stemcell, norm, overlay_dir, overlay_paths, release_binary, run};
use flate2::read::MultiGzDecoder;

fn image_members(image: &[u8]) -> Vec<common::testutil::Listed> {
    list(MultiGzDecoder::new(image))
}

#[test]
fn the_fixture_round_trips() {
    let stock = fixture_stemcell();
    let binary = release_binary();
    let tmp = tempfile::tempdir().unwrap();
    let (once, twice) = (tmp.path().join("once.tgz"), tmp.path().join("twice.tgz"));
    // A stand-in passes for the static helper here; the LXD test uses the real one.
    let helper_path = tmp.path().join("helper");
    std::fs::write(&helper_path, common::testutil::static_elf(&[7u8; 300_000])).unwrap();
    let helper = helper_path.to_str().unwrap();
    for (from, to) in [(&stock, &once), (&once, &twice)] {
        let out = run(
            &binary,
            &[
                from.to_str().unwrap(),
                to.to_str().unwrap(),
                "--helper",
                helper,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        std::fs::read(&once).unwrap() == std::fs::read(&twice).unwrap(),
        "repacking a repack changes nothing"
    );

    let stock_outer = outer_members(&std::fs::read(&stock).unwrap());
    let outer = outer_members(&std::fs::read(&once).unwrap());
    let names = |m: &[(String, Vec<u8>)]| m.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&outer), names(&stock_outer));
    let get = |m: &[(String, Vec<u8>)], n: &str| m.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(
        get(&outer, "packages.txt"),
        get(&stock_outer, "packages.txt")
    );
    let image = get(&outer, "image");
    let manifest = String::from_utf8(get(&outer, "stemcell.MF")).unwrap();
    assert!(
        manifest.contains(&format!("\nsha1: {}\n", sha1_hex(&image))),
        "{manifest}"
    );

    let overlay = overlay_paths(&overlay_dir());
    let before = image_members(&get(&stock_outer, "image"));
    let after = image_members(&image);
    assert!(after.len() >= before.len());
    let mut replaced = 0;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if overlay.contains(norm(&b.path)) {
            assert_eq!(norm(&a.path), norm(&b.path), "member {i} stays in place");
            replaced += 1;
        } else {
            assert_eq!(a, b, "member {i} ({}) is as it was", b.path);
        }
    }
    for a in &after[before.len()..] {
        assert!(
            overlay.contains(norm(&a.path)),
            "appended {} is the overlay's",
            a.path
        );
    }
    let present: std::collections::BTreeSet<&str> = after.iter().map(|a| norm(&a.path)).collect();
    for p in &overlay {
        assert!(present.contains(p.as_str()), "{p} is in the output");
    }
    eprintln!(
        "{} members, {replaced} at overlay paths, {} appended",
        after.len(),
        after.len() - before.len()
    );
}
