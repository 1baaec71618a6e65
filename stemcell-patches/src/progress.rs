//! A progress line on stderr while a stream is read, shown only on a terminal.

use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const EVERY: Duration = Duration::from_millis(200);

/// One progress line: `label  42% (17 / 40 MB)`, redrawn in place.
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    shown: Option<Instant>,
    enabled: bool,
}

impl Progress {
    /// A line for `total` bytes, drawn only when `enabled` and stderr is a terminal.
    pub fn new(label: impl Into<String>, total: u64, enabled: bool) -> Progress {
        Progress {
            label: label.into(),
            total,
            done: 0,
            shown: None,
            enabled: enabled && io::stderr().is_terminal(),
        }
    }

    /// Counts `n` more bytes done and redraws if it is time.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if !self.enabled || self.shown.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.shown = Some(Instant::now());
        let pct = (self.done * 100)
            .checked_div(self.total)
            .unwrap_or(100)
            .min(100);
        let bar_len = 30;
        let filled = (pct * bar_len / 100).min(bar_len);
        let bar: String = (0..bar_len)
            .map(|i| if i < filled { '#' } else { '.' })
            .collect();
        let mut err = io::stderr().lock();
        // A failed progress write is not worth failing the repack for: stop drawing.
        if write!(
            err,
            "\r{} [{bar}] {pct:3}% ({} / {} MB)\x1b[K",
            self.label,
            self.done / 1_000_000,
            self.total / 1_000_000
        )
        .is_err()
        {
            self.enabled = false;
        }
    }

    /// Clears the line once the stream is done.
    pub fn finish(&mut self) {
        if self.enabled && self.shown.is_some() {
            // Nothing to do if stderr is gone.
            if write!(io::stderr().lock(), "\r\x1b[K").is_err() {
                self.enabled = false;
            }
        }
        self.shown = None;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Counts what is read through it into a [`Progress`].
pub struct ProgressReader<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> ProgressReader<R> {
    /// Reads `inner`, reporting to `progress`.
    pub fn new(inner: R, progress: Progress) -> Self {
        ProgressReader { inner, progress }
    }

    /// Clears the progress line and returns the inner reader.
    pub fn finish(mut self) -> R {
        self.progress.finish();
        self.inner
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}
