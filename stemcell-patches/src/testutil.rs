//! Test material: small synthetic stemcells, overlays and helpers built in a tempdir, and
//! a reader that lists a tar stream's members with their raw blocks and content digests.
//!
//! Shared by the unit tests and (through `#[path]`) the integration tests in `tests/`.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tar::{Builder, EntryType, Header};

/// A long path (over 100 bytes), stored through a GNU long-name member (the `tar` crate
/// drops the leading `./` there).
pub const LONG_NAME: &str = "usr/share/a-directory-with-a-rather-long-name/and-another-long-directory-name/file-with-a-long-name.txt";

/// The stock content of the file the test overlay replaces.
pub const STOCK_MONIT_RUN: &[u8] = b"#!/bin/sh\nexec stock-monit\n";
/// The overlay's content for it.
pub const OVERLAY_MONIT_RUN: &[u8] = b"#!/bin/sh\nexec /var/vcap/bosh/bin/bosh-lxd-monit\n";
/// A stock access wrapper at `var/vcap/bosh/bin/monit` (Jammy's kind: a script).
pub const STOCK_MONIT_WRAPPER: &[u8] =
    b"#!/bin/bash\nset -e\njoin_a_cgroup\nexec /var/vcap/bosh/bin/monit-actual \"$@\"\n";
/// The test overlay's monit wrapper.
pub const OVERLAY_MONIT: &[u8] = b"#!/bin/bash\nexec /var/vcap/bosh/bin/monit-actual \"$@\"\n";

/// What passes for the monit binary.
pub fn monit_binary() -> Vec<u8> {
    static_elf(b"pretend monit 5.2.5")
}

/// A monit binary with the CSRF check of monit 5.20 and later (its cookie's name inside).
pub fn monit_binary_csrf() -> Vec<u8> {
    static_elf(b"pretend monit 5.33.0 Set-Cookie: securitytoken=%s")
}

/// What a synthetic rootfs has at `var/vcap/bosh/bin/monit` and `monit-actual`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockMonit {
    /// Jammy: the access wrapper script, then the binary as `monit-actual`.
    Wrapper,
    /// A line without the wrapper: the binary itself at `monit`, with an xattr and a pax
    /// `path` record (as some writers store every name).
    Binary,
    /// The binary at `monit`, then another `monit-actual`.
    BinaryThenActual,
    /// A `monit-actual`, then the binary at `monit`.
    ActualThenBinary,
    /// `monit` is a symbolic link.
    Link,
    /// [`StockMonit::Wrapper`] whose `monit-actual` has the CSRF check.
    WrapperCsrf,
    /// [`StockMonit::Binary`] with the CSRF check.
    BinaryCsrf,
    /// Neither (the fixture stemcell).
    Neither,
}

/// A GNU header with the given fields and a fixed mtime.
pub fn header(kind: EntryType, mode: u32, uid: u64, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_mtime(1_700_000_000 + uid);
    h.set_size(size);
    h
}

/// Appends a member named exactly `path` (the `tar` crate's own setters drop `./`, which
/// GNU tar's `tar -C root .` writes and real images have).
pub fn append_raw(b: &mut Builder<Vec<u8>>, mut h: Header, path: &str, link: &str, data: &[u8]) {
    let gnu = h.as_gnu_mut().unwrap();
    gnu.name[..path.len()].copy_from_slice(path.as_bytes());
    gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn file(b: &mut Builder<Vec<u8>>, path: &str, mode: u32, uid: u64, data: &[u8]) {
    let h = header(EntryType::Regular, mode, uid, data.len() as u64);
    append_raw(b, h, path, "", data);
}

fn dir(b: &mut Builder<Vec<u8>>, path: &str, mode: u32) {
    append_raw(b, header(EntryType::Directory, mode, 0, 0), path, "", &[]);
}

fn link(b: &mut Builder<Vec<u8>>, kind: EntryType, path: &str, target: &str) {
    append_raw(b, header(kind, 0o777, 0, 0), path, target, &[]);
}

/// A small rootfs tarball: directories, files of two owners, a symlink, a hard link, a
/// character device, a file with xattrs (pax records), a long name, stock files at paths
/// the test overlay replaces, Jammy's monit wrapper and binary. With `etc` false it has
/// no `./etc`.
pub fn rootfs_tar(etc: bool) -> Vec<u8> {
    rootfs(etc, true, StockMonit::Wrapper)
}

/// [`rootfs_tar`] without `var/vcap/bosh/bin/bosh-agent`.
pub fn rootfs_without_agent() -> Vec<u8> {
    rootfs(true, false, StockMonit::Wrapper)
}

/// [`rootfs_tar`] with `monit` at the monit paths.
pub fn rootfs_with_monit(monit: StockMonit) -> Vec<u8> {
    rootfs(true, true, monit)
}

fn stock_monit(b: &mut Builder<Vec<u8>>, monit: StockMonit) {
    const MONIT: &str = "./var/vcap/bosh/bin/monit";
    const ACTUAL: &str = "./var/vcap/bosh/bin/monit-actual";
    let csrf = matches!(monit, StockMonit::WrapperCsrf | StockMonit::BinaryCsrf);
    let binary = if csrf {
        monit_binary_csrf()
    } else {
        monit_binary()
    };
    let kept_binary = |b: &mut Builder<Vec<u8>>| {
        b.append_pax_extensions([
            ("path", MONIT.as_bytes()),
            ("SCHILY.xattr.user.kept", b"yes"),
        ])
        .unwrap();
        file(b, MONIT, 0o750, 0, &binary);
    };
    match monit {
        StockMonit::Wrapper | StockMonit::WrapperCsrf => {
            file(b, ACTUAL, 0o755, 0, &binary);
            file(b, MONIT, 0o755, 0, STOCK_MONIT_WRAPPER);
        }
        StockMonit::Binary | StockMonit::BinaryCsrf => kept_binary(b),
        StockMonit::BinaryThenActual => {
            kept_binary(b);
            file(b, ACTUAL, 0o755, 0, &binary);
        }
        StockMonit::ActualThenBinary => {
            file(b, ACTUAL, 0o755, 0, &binary);
            kept_binary(b);
        }
        StockMonit::Link => link(b, EntryType::Symlink, MONIT, "/usr/bin/monit"),
        StockMonit::Neither => {}
    }
}

fn rootfs(etc: bool, agent: bool, monit: StockMonit) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    dir(&mut b, "./", 0o755);
    if etc {
        dir(&mut b, "./etc/", 0o755);
        file(&mut b, "./etc/hostname", 0o644, 0, b"stock\n");
        dir(&mut b, "./etc/sv/", 0o755);
        dir(&mut b, "./etc/sv/monit/", 0o755);
        file(&mut b, "./etc/sv/monit/run", 0o755, 0, STOCK_MONIT_RUN);
    }
    link(&mut b, EntryType::Symlink, "./bin", "usr/bin");
    dir(&mut b, "./usr/", 0o755);
    dir(&mut b, "./usr/bin/", 0o755);
    file(&mut b, "./usr/bin/sh", 0o755, 0, b"\x7fELF pretend shell");
    link(&mut b, EntryType::Link, "./usr/bin/dash", "./usr/bin/sh");
    dir(&mut b, "./dev/", 0o755);
    let mut null = header(EntryType::Char, 0o666, 0, 0);
    null.set_device_major(1).unwrap();
    null.set_device_minor(3).unwrap();
    append_raw(&mut b, null, "./dev/null", "", &[]);
    b.append_pax_extensions([
        ("SCHILY.xattr.security.capability", &b"\x01\x00\x00\x02"[..]),
        ("SCHILY.xattr.user.note", &b"kept"[..]),
    ])
    .unwrap();
    file(&mut b, "./usr/bin/ping", 0o755, 0, b"\x7fELF pretend ping");
    let mut long = header(EntryType::Regular, 0o644, 1000, 5);
    b.append_data(&mut long, LONG_NAME, &b"long\n"[..]).unwrap();
    dir(&mut b, "./var/", 0o755);
    dir(&mut b, "./var/vcap/", 0o755);
    dir(&mut b, "./var/vcap/bosh/", 0o700);
    dir(&mut b, "./var/vcap/bosh/bin/", 0o755);
    stock_monit(&mut b, monit);
    if agent {
        file(
            &mut b,
            "./var/vcap/bosh/bin/bosh-agent",
            0o755,
            0,
            b"\x7fELF pretend agent",
        );
    }
    file(&mut b, "./home-of-vcap", 0o600, 1000, b"vcap's\n");
    b.into_inner().unwrap()
}

/// Gzip of `data` (level 6).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Gunzip of `data` (all members).
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

/// A warden-style `stemcell.MF` for `image`.
pub fn manifest_for(image: &[u8]) -> String {
    let sha1 = crate_sha1(image);
    format!(
        "---\nname: bosh-test-stemcell\nversion: '1.10'\nbosh_protocol: 1\napi_version: 3\n\
         sha1: {sha1}\noperating_system: ubuntu-jammy\nstemcell_formats:\n- warden-tar\n\
         unknown_key: kept\ncloud_properties:\n  name: bosh-test-stemcell\n  version: '1.10'\n\
         \x20 infrastructure: warden\n  disk: 5120\n"
    )
}

fn crate_sha1(data: &[u8]) -> String {
    use sha1::Sha1;
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An outer stemcell tarball (gzip) of `members` in order.
pub fn stemcell_tgz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = header(EntryType::Regular, 0o644, 0, data.len() as u64);
        b.append_data(&mut h, name, *data).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

/// A complete synthetic stemcell: `stemcell.MF`, `image`, `packages.txt`.
pub fn stemcell() -> Vec<u8> {
    stemcell_with_monit(StockMonit::Wrapper)
}

/// [`stemcell`] with `monit` at the image's monit paths.
pub fn stemcell_with_monit(monit: StockMonit) -> Vec<u8> {
    let image = gzip(&rootfs_with_monit(monit));
    let manifest = manifest_for(&image);
    stemcell_tgz(&[
        ("stemcell.MF", manifest.as_bytes()),
        ("image", &image),
        ("packages.txt", b"ii  bash 5.2\n"),
    ])
}

/// Writes the test overlay under `dir/overlay` and a fake helper at `dir/helper`;
/// returns (overlay dir, helper path).
pub fn overlay_tree(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("overlay");
    let put = |rel: &str, data: &[u8], mode: u32| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    };
    put("README.md", b"not part of the overlay\n", 0o644);
    put("etc/sv/monit/run", OVERLAY_MONIT_RUN, 0o700);
    put("etc/systemd/system/helper.service", b"[Unit]\n", 0o600);
    put("var/vcap/bosh/bin/monit", OVERLAY_MONIT, 0o755);
    put("warden-cpi-dev/.keep", b"", 0o644);
    let bin = root.join("var/vcap/bosh/bin");
    fs::create_dir_all(&bin).unwrap();
    symlink("bosh-lxd-helper", bin.join("mount")).unwrap();
    let helper = dir.join("helper");
    fs::write(&helper, static_elf(b"pretend helper v1")).unwrap();
    (root, helper)
}

/// A file that passes for a static 64-bit ELF executable (a header, no program headers),
/// followed by `payload`.
pub fn static_elf(payload: &[u8]) -> Vec<u8> {
    let mut head = vec![0u8; 64];
    head[..6].copy_from_slice(b"\x7fELF\x02\x01");
    head[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    head[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize, e_phnum 0
    head.extend_from_slice(payload);
    head
}

/// One member of a tar stream as the `tar` crate reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Logical path.
    pub path: String,
    /// The header block.
    pub header: Vec<u8>,
    /// pax records (xattrs among them), raw.
    pub pax: Vec<u8>,
    /// SHA-256 of the data.
    pub sha256: String,
}

/// Every member of the (uncompressed) tar stream `data`.
pub fn list(data: impl Read) -> Vec<Listed> {
    let mut archive = tar::Archive::new(data);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let pax = match entry.pax_extensions().unwrap() {
            Some(exts) => exts
                .map(|e| {
                    let e = e.unwrap();
                    [e.key_bytes(), b"=", e.value_bytes(), b"\n"].concat()
                })
                .collect::<Vec<_>>()
                .concat(),
            None => Vec::new(),
        };
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let header = entry.header().as_bytes().to_vec();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        let sha256 = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push(Listed {
            path,
            header,
            pax,
            sha256,
        });
    }
    out
}

/// The members of an outer stemcell tarball by name: (name, data).
pub fn outer_members(tgz: &[u8]) -> Vec<(String, Vec<u8>)> {
    let plain = gunzip(tgz);
    let mut archive = tar::Archive::new(&plain[..]);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

/// SHA-1 hex of `data`.
pub fn sha1_hex(data: &[u8]) -> String {
    crate_sha1(data)
}
