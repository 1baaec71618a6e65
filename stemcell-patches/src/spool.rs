//! Gzip on a thread of its own, into a file: the recompressed image spooled beside the
//! output (its size and SHA-1 must be known before the outer tarball is written), and the
//! outer tarball itself.
//!
//! The writing side hands over fixed-size chunks through a bounded channel, so memory
//! stays flat; the thread that reads and inflates the input runs beside the one that
//! deflates, which is what two cores buy.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result, anyhow};
use flate2::{Compression, GzBuilder};
use sha1::Sha1;

use crate::digest::{HashingWriter, hex};

/// Bytes per chunk handed to the compressing thread.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the threads.
const IN_FLIGHT: usize = 4;

/// The finished gzip file, rewound, with its length and SHA-1 (hex).
#[derive(Debug)]
pub struct Spooled {
    /// The file, positioned at its start.
    pub file: File,
    /// Bytes of gzip written.
    pub size: u64,
    /// SHA-1 of those bytes, lower-case hex.
    pub sha1: String,
}

/// A writer whose bytes are gzip-compressed into a file by a worker thread.
pub struct GzipSpool {
    tx: Option<SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
    worker: Option<JoinHandle<Result<Spooled>>>,
}

impl GzipSpool {
    /// Starts the worker that compresses into `file` at `level` (0–9). The gzip header
    /// carries no name and mtime 0, so equal input gives equal output.
    pub fn new(file: File, level: u32) -> GzipSpool {
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
        let worker = thread::spawn(move || compress(rx, file, level));
        GzipSpool {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK),
            worker: Some(worker),
        }
    }

    /// Compresses what is left and returns the rewound file. If the worker failed, this
    /// is its error (a full disk, say), which is the cause of any failed write before.
    pub fn finish(mut self) -> Result<Spooled> {
        let flushed = self.send_buf();
        drop(self.tx.take());
        let worker = self
            .worker
            .take()
            .context("the compressing thread was already joined")?;
        let spooled = worker
            .join()
            .map_err(|_| anyhow!("the compressing thread panicked"))??;
        flushed?;
        Ok(spooled)
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(chunk).map_err(|_| stopped())
    }
}

impl Write for GzipSpool {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn stopped() -> io::Error {
    io::Error::other("the compressing thread stopped")
}

fn compress(rx: Receiver<Vec<u8>>, file: File, level: u32) -> Result<Spooled> {
    let out = HashingWriter::<_, Sha1>::new(BufWriter::with_capacity(CHUNK, file));
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(out, Compression::new(level));
    for chunk in rx {
        gz.write_all(&chunk).context("writing a spool file")?;
    }
    let (buffered, sha1, size) = gz.finish().context("writing a spool file")?.finish();
    let mut file = buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .context("writing a spool file")?;
    file.seek(SeekFrom::Start(0))
        .context("rewinding a spool file")?;
    Ok(Spooled {
        file,
        size,
        sha1: hex(&sha1),
    })
}
