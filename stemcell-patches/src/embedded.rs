//! What this binary carries from its build (`build.rs`): the overlay tree, the static guest
//! helper when the build was given one (`scripts/build-repack`), and the source commit.

/// A regular file or symbolic link of the overlay tree, as found at build time.
#[derive(Debug)]
pub struct Raw {
    /// Path relative to the overlay's root, without `./`.
    pub path: &'static str,
    /// What is there.
    pub kind: RawKind,
}

/// The kind and content of a [`Raw`] entry.
#[derive(Debug)]
pub enum RawKind {
    /// A regular file: whether any execute bit was set, and its bytes.
    File {
        /// Any execute bit set in the source tree.
        exec: bool,
        /// The content.
        bytes: &'static [u8],
    },
    /// A symbolic link's target.
    Symlink(&'static [u8]),
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
