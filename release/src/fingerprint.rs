//! Fingerprints of jobs and packages: the bosh CLI's "v2" algorithm with SHA-256
//! (cloudfoundry/bosh-cli `release/resource/fingerprint.go`).
//!
//! A fingerprint names content: the director reuses any stored blob with the same one,
//! so every change of a file's bytes, path or exec bit must change it.

use sha2::{Digest, Sha256};

use crate::tgz::Item;

/// Files of a package whose mode does not take part in its fingerprint.
const MODELESS_PACKAGE_FILES: [&str; 2] = ["packaging", "pre_packaging"];

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The mode string of a file: `100755` if any exec bit is set, else `100644`.
pub fn mode_string(exec: bool) -> &'static str {
    if exec { "100755" } else { "100644" }
}

/// One file as the fingerprint sees it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Path relative to the job or package root, without `./`.
    pub relpath: &'a str,
    /// The file's bytes.
    pub content: &'a [u8],
    /// Whether any exec bit is set.
    pub exec: bool,
    /// Whether the mode string is appended.
    pub with_mode: bool,
}

/// The fingerprint of `files` plus extra `chunks` (a package's dependency names).
///
/// Files are sorted by relative path (byte order); each contributes its path,
/// `sha256:<hex>` of its bytes and, if `with_mode`, its mode string. The list starts
/// with `v2`, and the sorted chunks follow joined by commas; all of it is concatenated
/// and hashed.
pub fn calculate(files: &[Input<'_>], chunks: &[&str]) -> String {
    let mut sorted: Vec<&Input<'_>> = files.iter().collect();
    sorted.sort_by(|a, b| a.relpath.as_bytes().cmp(b.relpath.as_bytes()));
    let mut text = String::from("v2");
    for file in sorted {
        text.push_str(file.relpath);
        text.push_str("sha256:");
        text.push_str(&sha256_hex(file.content));
        if file.with_mode {
            text.push_str(mode_string(file.exec));
        }
    }
    let mut chunks: Vec<&str> = chunks.to_vec();
    chunks.sort_unstable();
    text.push_str(&chunks.join(","));
    sha256_hex(text.as_bytes())
}

/// A job's fingerprint: every file in its archive (`job.MF`, `monit`, templates), with
/// modes, no chunks.
pub fn job(items: &[Item]) -> String {
    calculate(&inputs(items, |_| true), &[])
}

/// A package's fingerprint: its files (`packaging` without its mode) and its
/// dependencies' names.
pub fn package(items: &[Item], dependencies: &[String]) -> String {
    let with_mode = |i: &Item| !MODELESS_PACKAGE_FILES.contains(&i.path.as_str());
    let chunks: Vec<&str> = dependencies.iter().map(String::as_str).collect();
    calculate(&inputs(items, with_mode), &chunks)
}

/// The fingerprint inputs of `items`; `with_mode` says which carry their mode string.
fn inputs(items: &[Item], with_mode: impl Fn(&Item) -> bool) -> Vec<Input<'_>> {
    items
        .iter()
        .map(|i| Input {
            relpath: &i.path,
            content: &i.data,
            exec: i.exec,
            with_mode: with_mode(i),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §1.6, job vector: spec, empty monit, one template, all 0644.
    #[test]
    fn job_vector_from_the_reference() {
        let items = [
            Item::new(
                "job.MF",
                b"name: demo\ntemplates:\n  run.erb: bin/run\npackages: []\n",
                false,
            ),
            Item::new("monit", b"", false),
            Item::new("templates/run.erb", b"#!/bin/bash\necho hi\n", false),
        ];
        assert_eq!(
            job(&items),
            "b8e2849021bfe1727010107ed3f56978d95bcfa00e31016029e77fbad30fc34f"
        );
    }

    /// §1.6, package vector: packaging without mode, one exec file, deps `[b, a]`.
    #[test]
    fn package_vector_from_the_reference() {
        let items = [
            Item::new(
                "packaging",
                b"set -e\ncp demo/cpi ${BOSH_INSTALL_TARGET}/\n",
                false,
            ),
            Item::new("demo/cpi", b"x", true),
        ];
        assert_eq!(
            package(&items, &["b".into(), "a".into()]),
            "7e732046a3bba6017efe74e1c62300dadf0d3370a0d68fffd95676a98561003a"
        );
    }

    #[test]
    fn the_packaging_mode_does_not_count_but_other_modes_do() {
        let plain = [
            Item::new("packaging", b"p", false),
            Item::new("f", b"x", false),
        ];
        let exec_packaging = [
            Item::new("packaging", b"p", true),
            Item::new("f", b"x", false),
        ];
        let exec_file = [
            Item::new("packaging", b"p", false),
            Item::new("f", b"x", true),
        ];
        assert_eq!(package(&plain, &[]), package(&exec_packaging, &[]));
        assert_ne!(package(&plain, &[]), package(&exec_file, &[]));
        assert_ne!(job(&plain), job(&exec_packaging));
    }

    #[test]
    fn mode_strings() {
        assert_eq!(mode_string(true), "100755");
        assert_eq!(mode_string(false), "100644");
    }

    #[test]
    fn files_are_sorted_by_byte_order_whatever_their_order() {
        let a = [
            Item::new("b", b"1", false),
            Item::new("B", b"2", false),
            Item::new("a/c", b"3", true),
        ];
        let b = [
            Item::new("a/c", b"3", true),
            Item::new("b", b"1", false),
            Item::new("B", b"2", false),
        ];
        assert_eq!(job(&a), job(&b));
        // Byte order puts `B` (0x42) before `a` (0x61): the joined text starts `v2B`.
        let inputs = inputs(&a, |_| true);
        let expected = format!(
            "v2Bsha256:{}100644a/csha256:{}100755bsha256:{}100644",
            sha256_hex(b"2"),
            sha256_hex(b"3"),
            sha256_hex(b"1")
        );
        assert_eq!(calculate(&inputs, &[]), sha256_hex(expected.as_bytes()));
    }

    #[test]
    fn chunks_are_sorted_and_change_the_fingerprint() {
        let items = [Item::new("packaging", b"p", false)];
        assert_eq!(
            package(&items, &["x".into(), "y".into()]),
            package(&items, &["y".into(), "x".into()])
        );
        assert_ne!(package(&items, &["x".into()]), package(&items, &[]));
    }

    #[test]
    fn a_content_change_changes_the_fingerprint() {
        assert_ne!(
            job(&[Item::new("monit", b"", false)]),
            job(&[Item::new("monit", b" ", false)])
        );
    }
}
