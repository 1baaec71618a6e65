//! Unit tests of `tarstream`: members come back as stored; damaged streams fail clearly.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use crate::testutil;

/// Copies every member of `data` through a reader and a writer.
fn copy_all(data: &[u8]) -> Result<(Vec<u8>, Vec<Member>)> {
    let mut reader = TarReader::new(data);
    let mut writer = TarWriter::new(Vec::new());
    let mut members = Vec::new();
    while let Some(m) = reader.next_member()? {
        writer.write_blocks(&m.prefix)?;
        writer.write_blocks(m.header.as_bytes())?;
        writer.write_blocks(&m.sparse_blocks)?;
        reader.copy_data(writer.inner_mut())?;
        writer.pad(m.size)?;
        members.push(m);
    }
    reader.finish()?;
    Ok((writer.finish()?, members))
}

#[test]
fn a_copy_is_the_same_bytes() {
    let stock = testutil::rootfs_tar(true);
    let (copy, members) = copy_all(&stock).unwrap();
    // the tar crate ends an archive with two zero blocks, as the writer does
    assert_eq!(copy, stock);
    let names: Vec<String> = members.iter().map(Member::display_path).collect();
    assert!(
        names.contains(&testutil::LONG_NAME.to_string()),
        "{names:?}"
    );
    let ping = members
        .iter()
        .find(|m| m.path == b"./usr/bin/ping")
        .unwrap();
    assert!(!ping.prefix.is_empty(), "pax member kept in the prefix");
    let dash = members
        .iter()
        .find(|m| m.path == b"./usr/bin/dash")
        .unwrap();
    assert_eq!(dash.link.as_deref(), Some(&b"./usr/bin/sh"[..]));
}

#[test]
fn pax_path_and_size_records_win_over_the_header() {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("path", &b"./from/pax"[..]), ("size", &b"3"[..])])
        .unwrap();
    let h = testutil::header(EntryType::Regular, 0o644, 0, 3);
    testutil::append_raw(&mut b, h, "./short", "", b"abc");
    let data = b.into_inner().unwrap();
    let mut reader = TarReader::new(&data[..]);
    let m = reader.next_member().unwrap().unwrap();
    assert_eq!(
        (m.path.as_slice(), m.size, m.pax_size),
        (&b"./from/pax"[..], 3, true)
    );
}

#[test]
fn damaged_streams_fail() {
    let stock = testutil::rootfs_tar(true);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "cut inside a member",
            stock[..stock.len() / 2 + 100].to_vec(),
            "ends in the middle",
        ),
        (
            "cut after a long-name member",
            stock[..lead_of_long_name(&stock)].to_vec(),
            "ends in the middle",
        ),
        (
            "text",
            b"hello, this is not a tar archive at all".repeat(20),
            "not a tar archive",
        ),
        ("bad checksum", flip(&stock, 10), "checksum mismatch"),
    ];
    for (what, data, want) in cases {
        let err = copy_all(&data).expect_err(what);
        assert!(format!("{err:#}").contains(want), "{what}: {err:#}");
    }
}

#[test]
fn truncation_is_an_unexpected_eof() {
    let stock = testutil::rootfs_tar(true);
    let err = copy_all(&stock[..stock.len() / 2 + 100]).unwrap_err();
    let io = err.downcast_ref::<io::Error>().unwrap();
    assert_eq!(io.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn an_empty_stream_has_no_members() {
    assert!(copy_all(&[]).unwrap().1.is_empty());
    assert!(copy_all(&[0u8; 1024]).unwrap().1.is_empty());
}

/// Offset just past the GNU long-name member (header + one data block).
fn lead_of_long_name(data: &[u8]) -> usize {
    let at = data
        .chunks(512)
        .position(|block| block.starts_with(b"././@LongLink"))
        .unwrap();
    (at + 2) * 512
}

fn flip(data: &[u8], at: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    out[at] ^= 0x20;
    out
}
