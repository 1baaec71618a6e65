//! Digests while copying: a writer that hashes and counts what passes through it.

use std::io::{self, Write};

use sha2::Digest;

/// Passes writes on to `inner`, feeding every byte to a digest and counting them.
pub struct HashingWriter<W, D> {
    inner: W,
    digest: D,
    count: u64,
}

impl<W: Write, D: Digest> HashingWriter<W, D> {
    /// Hashes what is written to `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            digest: D::new(),
            count: 0,
        }
    }

    /// The inner writer, the digest of everything written and its length.
    pub fn finish(self) -> (W, Vec<u8>, u64) {
        (self.inner, self.digest.finalize().to_vec(), self.count)
    }
}

impl<W: Write, D: Digest> Write for HashingWriter<W, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first 12 hex digits of `bytes`.
pub fn hex12(bytes: &[u8]) -> String {
    let mut s = hex(bytes);
    s.truncate(12);
    s
}
