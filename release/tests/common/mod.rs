//! Shared helpers of the integration tests: a fake CPI, running `build-release`, and
//! GNU tar to unpack and repack archives the way the director and the bosh CLI do.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// The source tree's root: the release directory `build-release` uses by default.
pub fn source_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fake CPI's bytes: a shell script, so the packaging test can run what it installs.
pub const FAKE_CPI: &[u8] = b"#!/bin/sh\necho fake-cpi \"$@\"\n";

/// A scratch directory with a fake CPI in it (mode 0644: the build must add the exec bit).
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub cpi: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let cpi = dir.path().join("fake-cpi");
        fs::write(&cpi, FAKE_CPI).unwrap();
        fs::set_permissions(&cpi, fs::Permissions::from_mode(0o644)).unwrap();
        Scratch { dir, cpi }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `build-release build --cpi <fake> --out <name> <extra>`.
    pub fn build(&self, out: &str, extra: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_build-release"));
        cmd.arg("build")
            .arg("--cpi")
            .arg(&self.cpi)
            .arg("--out")
            .arg(self.path(out));
        cmd.args(extra).output().unwrap()
    }

    /// Builds `out` and asserts it worked; returns its path.
    pub fn build_ok(&self, out: &str, extra: &[&str]) -> PathBuf {
        let o = self.build(out, extra);
        assert!(o.status.success(), "build failed: {}", text(&o.stderr));
        let path = self.path(out);
        assert_eq!(text(&o.stdout).lines().last(), Some(path.to_str().unwrap()));
        path
    }

    /// Unpacks the tarball `archive` with GNU tar into a new directory `name`.
    pub fn unpack(&self, archive: &Path, name: &str) -> PathBuf {
        let dir = self.path(name);
        fs::create_dir_all(&dir).unwrap();
        gnu_tar(&[
            "-xzf",
            archive.to_str().unwrap(),
            "-C",
            dir.to_str().unwrap(),
        ]);
        dir
    }
}

/// Runs `build-release verify TARBALL`.
pub fn verify(tarball: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_build-release"))
        .arg("verify")
        .arg(tarball)
        .output()
        .unwrap()
}

/// Runs GNU tar with `args`, asserting success; returns its stdout.
pub fn gnu_tar(args: &[&str]) -> String {
    let o = Command::new("tar")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(o.status.success(), "tar {args:?}: {}", text(&o.stderr));
    text(&o.stdout)
}

/// `tar -tzf` of `archive`, one name a line.
pub fn list(archive: &Path) -> Vec<String> {
    gnu_tar(&["-tzf", archive.to_str().unwrap()])
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A release tarball unpacked for tampering, repacked as the bosh CLI packs one.
pub struct Unpacked {
    pub outer: PathBuf,
}

impl Unpacked {
    /// Unpacks the outer archive of `tarball` into `<scratch>/outer`.
    pub fn new(scratch: &Scratch, tarball: &Path) -> Unpacked {
        Unpacked {
            outer: scratch.unpack(tarball, "outer"),
        }
    }

    pub fn release_mf(&self) -> String {
        fs::read_to_string(self.outer.join("release.MF")).unwrap()
    }

    pub fn set_release_mf(&self, text: &str) {
        fs::write(self.outer.join("release.MF"), text).unwrap();
    }

    /// Unpacks the inner archive `rel` (`jobs/lxd_cpi.tgz`), lets `edit` change the
    /// files, repacks it with `tar -czf X -C dir .` and puts its new digest in release.MF.
    pub fn edit_inner(&self, scratch: &Scratch, rel: &str, edit: impl FnOnce(&Path)) {
        let archive = self.outer.join(rel);
        let old = sha256_hex(&fs::read(&archive).unwrap());
        let dir = scratch.unpack(&archive, &format!("inner-{}", rel.replace('/', "-")));
        edit(&dir);
        fs::remove_file(&archive).unwrap();
        gnu_tar(&[
            "-czf",
            archive.to_str().unwrap(),
            "-C",
            dir.to_str().unwrap(),
            ".",
        ]);
        let new = sha256_hex(&fs::read(&archive).unwrap());
        let mf = self.release_mf();
        assert!(mf.contains(&old), "release.MF lacks the digest of {rel}");
        self.set_release_mf(&mf.replace(&old, &new));
    }

    /// Packs the outer archive as `tar -czf OUT release.MF jobs packages`.
    pub fn repack(&self, out: &Path) {
        gnu_tar(&[
            "-czf",
            out.to_str().unwrap(),
            "-C",
            self.outer.to_str().unwrap(),
            "release.MF",
            "jobs",
            "packages",
        ]);
    }
}
