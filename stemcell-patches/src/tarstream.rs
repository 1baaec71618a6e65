//! Tar members as stored: reads each member's exact blocks and writes them back unchanged.
//!
//! A member is its extension members (pax `x`, GNU long name `L`, GNU long link `K`), its
//! own 512-byte header, any GNU sparse extension blocks, then its data padded to a block.
//! Nothing is re-derived: what is copied is the bytes that were read, so owners, modes,
//! types, times, links, device numbers and pax records (xattrs included) stay as they were.
//! The `tar` crate parses the header fields we need to look at (POSIX.1-2001 / GNU tar
//! formats, `info tar`, "Tar Internals").

use std::io::{self, Read, Write};

use anyhow::{Context, Result, bail};
use tar::{EntryType, GnuExtSparseHeader, Header, PaxExtensions};

/// Size of a tar block.
pub const BLOCK: u64 = 512;
/// Size of a tar block, as a length in memory.
pub const BLOCK_LEN: usize = 512;

/// Largest extension member (pax records, long names) we hold in memory.
const MAX_EXTENSION: u64 = 1 << 20;

/// One member of a tar stream, everything but its data.
#[derive(Debug, Clone)]
pub struct Member {
    /// The extension members before the header, as stored (headers and padded data).
    pub prefix: Vec<u8>,
    /// The member's own header block.
    pub header: Header,
    /// GNU sparse extension blocks that follow the header.
    pub sparse_blocks: Vec<u8>,
    /// The path: pax `path`, else the GNU long name, else the header's name.
    pub path: Vec<u8>,
    /// The link target of a symbolic or hard link: pax `linkpath`, GNU long link or header.
    pub link: Option<Vec<u8>>,
    /// Bytes of data that follow (unpadded).
    pub size: u64,
    /// True when a pax record overrides the header's size field.
    pub pax_size: bool,
}

impl Member {
    /// The member's entry type.
    pub fn entry_type(&self) -> EntryType {
        self.header.entry_type()
    }

    /// The path as text, for messages.
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Reads members from a tar stream; the data of each member must be taken or skipped
/// (or is skipped by the next call to [`TarReader::next_member`]).
pub struct TarReader<R> {
    inner: R,
    /// Data and padding of the current member not read yet.
    pending: u64,
    /// Padding after the current member's data.
    pending_pad: u64,
}

impl<R: Read> TarReader<R> {
    /// Wraps a stream positioned at the first header.
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            pending: 0,
            pending_pad: 0,
        }
    }

    /// The next member, or `None` at the end-of-archive block (or a clean end of stream).
    pub fn next_member(&mut self) -> Result<Option<Member>> {
        self.skip_data()?;
        let mut prefix = Vec::new();
        let mut long_name = None;
        let mut long_link = None;
        let mut pax: Option<Vec<u8>> = None;
        loop {
            let Some(header) = self.read_header(prefix.is_empty())? else {
                return Ok(None);
            };
            let kind = header.entry_type();
            if kind.is_pax_local_extensions() || kind.is_gnu_longname() || kind.is_gnu_longlink() {
                let size = header.entry_size().context("reading an extension header")?;
                if size > MAX_EXTENSION {
                    bail!("extension member of {size} bytes is larger than {MAX_EXTENSION}");
                }
                let data = self.read_exact_vec(padded(size))?;
                let body = data[..to_usize(size)?].to_vec();
                prefix.extend_from_slice(header.as_bytes());
                prefix.extend_from_slice(&data);
                if kind.is_pax_local_extensions() {
                    pax = Some(body);
                } else {
                    let text = trim_nul(&body).to_vec();
                    if kind.is_gnu_longname() {
                        long_name = Some(text);
                    } else {
                        long_link = Some(text);
                    }
                }
                continue;
            }
            return self.finish_member(header, prefix, pax, long_name, long_link);
        }
    }

    fn finish_member(
        &mut self,
        header: Header,
        prefix: Vec<u8>,
        pax: Option<Vec<u8>>,
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
    ) -> Result<Option<Member>> {
        let mut path = long_name.unwrap_or_else(|| header.path_bytes().into_owned());
        let mut link = long_link.or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
        let mut size = header.entry_size().context("reading a header's size")?;
        let mut pax_size = false;
        if let Some(records) = &pax {
            for record in PaxExtensions::new(records) {
                let record = record.context("reading pax records")?;
                match record.key_bytes() {
                    b"path" => path = record.value_bytes().to_vec(),
                    b"linkpath" => link = Some(record.value_bytes().to_vec()),
                    b"size" => {
                        let text = record.value().context("pax size record")?;
                        size = text.parse().context("pax size record")?;
                        pax_size = true;
                    }
                    _ => {}
                }
            }
        }
        let mut sparse_blocks = Vec::new();
        if header.entry_type().is_gnu_sparse()
            && let Some(gnu) = header.as_gnu()
        {
            let mut more = gnu.is_extended();
            while more {
                let mut ext = GnuExtSparseHeader::new();
                self.read_block(ext.as_mut_bytes())?;
                sparse_blocks.extend_from_slice(ext.as_bytes());
                more = ext.isextended[0] == 1;
            }
        }
        self.pending = size;
        self.pending_pad = padded(size) - size;
        Ok(Some(Member {
            prefix,
            header,
            sparse_blocks,
            path,
            link,
            size,
            pax_size,
        }))
    }

    /// Copies the current member's data (unpadded) to `out`.
    pub fn copy_data(&mut self, out: &mut impl Write) -> Result<()> {
        let want = self.pending;
        let got = io::copy(&mut (&mut self.inner).take(want), out)?;
        if got != want {
            return Err(truncated());
        }
        self.pending = 0;
        Ok(())
    }

    /// A reader of the current member's data (unpadded); it fails if the stream ends early.
    pub fn data(&mut self) -> MemberData<'_, R> {
        MemberData { reader: self }
    }

    /// Skips what is left of the current member's data and padding.
    pub fn skip_data(&mut self) -> Result<()> {
        let want = self.pending + self.pending_pad;
        let got = io::copy(&mut (&mut self.inner).take(want), &mut io::sink())?;
        if got != want {
            return Err(truncated());
        }
        self.pending = 0;
        self.pending_pad = 0;
        Ok(())
    }

    /// Reads the rest of the stream after the end-of-archive block, so that a compressed
    /// stream is checked to its end (a truncated gzip fails here), and returns it.
    pub fn finish(mut self) -> Result<R> {
        self.skip_data()?;
        io::copy(&mut self.inner, &mut io::sink())?;
        Ok(self.inner)
    }

    /// A header block, or `None` at a zero block or a clean end of stream (allowed only
    /// between members).
    fn read_header(&mut self, between_members: bool) -> Result<Option<Header>> {
        let mut header = Header::new_old();
        let got = read_full(&mut self.inner, header.as_mut_bytes())?;
        if got == 0 && between_members {
            return Ok(None);
        }
        if got < header.as_bytes().len() {
            return Err(truncated());
        }
        if header.as_bytes().iter().all(|b| *b == 0) {
            if between_members {
                return Ok(None);
            }
            bail!("end-of-archive block right after an extension member");
        }
        check_sum(&header)?;
        Ok(Some(header))
    }

    fn read_block(&mut self, block: &mut [u8]) -> Result<()> {
        if read_full(&mut self.inner, block)? < block.len() {
            return Err(truncated());
        }
        Ok(())
    }

    fn read_exact_vec(&mut self, len: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; to_usize(len)?];
        self.read_block(&mut buf)?;
        Ok(buf)
    }
}

/// The data of the member a [`TarReader`] is on.
pub struct MemberData<'a, R> {
    reader: &'a mut TarReader<R>,
}

impl<R: Read> Read for MemberData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.reader.pending).unwrap_or(usize::MAX);
        let max = buf.len().min(left);
        if max == 0 {
            return Ok(0);
        }
        let n = self.reader.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends in the middle of a member (truncated?)",
            ));
        }
        self.reader.pending -= n as u64;
        Ok(n)
    }
}

/// Writes members block by block; ends with the two zero blocks of an archive's end.
pub struct TarWriter<W> {
    inner: W,
}

impl<W: Write> TarWriter<W> {
    /// Writes to `inner`.
    pub fn new(inner: W) -> Self {
        TarWriter { inner }
    }

    /// The stream written to, for copying member data straight into it (then [`TarWriter::pad`]).
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Writes header-side bytes as they are (extension members, header, sparse blocks).
    pub fn write_blocks(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner.write_all(bytes)?;
        Ok(())
    }

    /// Writes `size` bytes of data from `data`, then the padding to a block.
    pub fn write_data(&mut self, data: &mut impl Read, size: u64) -> Result<()> {
        let got = io::copy(&mut data.take(size), &mut self.inner)?;
        if got != size {
            bail!("data source ended after {got} of {size} bytes");
        }
        self.pad(size)
    }

    /// Writes the padding after `size` bytes of data.
    pub fn pad(&mut self, size: u64) -> Result<()> {
        let zeros = [0u8; BLOCK_LEN];
        let pad = padded(size) - size;
        self.inner.write_all(&zeros[..to_usize(pad)?])?;
        Ok(())
    }

    /// Writes the end-of-archive blocks and returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        self.inner.write_all(&[0u8; 2 * BLOCK_LEN])?;
        Ok(self.inner)
    }
}

/// `size` rounded up to a whole number of blocks.
pub fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).context("size does not fit in memory")
}

fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Header checksums are summed as unsigned bytes; some old writers summed signed bytes.
fn check_sum(header: &Header) -> Result<()> {
    let bytes = header.as_bytes();
    let Ok(stored) = header.cksum() else {
        bail!("not a tar archive (no valid header checksum)");
    };
    let fields = bytes[..148].iter().chain(&bytes[156..]);
    let unsigned: u32 = fields.clone().map(|b| u32::from(*b)).sum::<u32>() + 8 * 32;
    let signed: i64 = fields.map(|b| i64::from(*b as i8)).sum::<i64>() + 8 * 32;
    if stored != unsigned && i64::from(stored) != signed {
        bail!("not a tar archive (header checksum mismatch)");
    }
    Ok(())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}

/// The error for a stream that ends inside a member: an `UnexpectedEof`, like a
/// truncated gzip stream's, so callers can tell a truncated file by its kind.
fn truncated() -> anyhow::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the archive ends in the middle of a member",
    )
    .into()
}

#[cfg(test)]
mod tests;
