//! The one overlay path whose stock member may be a program to keep: `var/vcap/bosh/bin/monit`.
//!
//! Every monit call of a stemcell goes through that path (the daemon's start line, the
//! agent's `monit summary` through PATH), so the overlay puts its wrapper there. What the
//! image has there decides what happens to it:
//!
//! * a script (its data starts with `#!`, Jammy's access wrapper): replaced in place, like
//!   any other overlay file;
//! * any other regular file (the monit binary itself, on a line without the wrapper): kept
//!   byte for byte (owner, mode, times, xattrs) under the name `monit-actual`, the binary
//!   the wrapper starts, and the wrapper is written right after it;
//! * anything else (a link, a directory): refused, since what it leads to is unknown.
//!
//! An image with a non-script `monit` and a `monit-actual` as well is refused: which of
//! the two is monit cannot be told, and one would be lost. An image with neither
//! `monit-actual` nor a binary to keep under that name gets the wrapper and a warning, and
//! so does an image whose monit will refuse the agent's POSTs ([`scan`]).

mod scan;

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use tar::{EntryType, Header};

use super::{Change, fill, replace, write_added};
use crate::overlay::{Added, MONIT_ACTUAL_PATH};
use crate::tarstream::{BLOCK_LEN, Member, TarReader, TarWriter, padded};
pub use scan::CsrfScan;
pub use scan::Tee;

/// Where every monit call goes: the overlay's wrapper.
pub const MONIT_PATH: &str = "var/vcap/bosh/bin/monit";

/// What the image showed of monit so far, to catch a conflict in either member order.
#[derive(Debug, Default)]
pub struct MonitSeen {
    /// The image's `monit`, kept under the name `monit-actual` (its display path).
    kept: Option<String>,
    /// The image's own `monit-actual` (its display path).
    stock_actual: Option<String>,
    /// The monit binary (kept or stock `monit-actual`) that checks a CSRF token on POST.
    csrf: Option<String>,
}

impl MonitSeen {
    /// Notes a member the overlay has no entry for (`key` is its normalised path); true
    /// when it is the image's own `monit-actual`, whose data the caller then shows to a
    /// [`CsrfScan`] and reports with [`MonitSeen::note_scan`].
    pub fn note_stock(&mut self, key: Option<&str>, member: &Member) -> Result<bool> {
        if key != Some(MONIT_ACTUAL_PATH) {
            return Ok(false);
        }
        let path = member.display_path();
        if let Some(kept) = &self.kept {
            bail!(both(kept, &path));
        }
        self.stock_actual = Some(path);
        Ok(true)
    }

    /// Notes what a [`CsrfScan`] of the monit binary at `path` found.
    pub fn note_scan(&mut self, path: String, scan: &CsrfScan) {
        if scan.found() {
            self.csrf = Some(path);
        }
    }

    /// Writes the overlay's wrapper `added` for the image's member at [`MONIT_PATH`]
    /// (`lead_len` bytes of its path are the leading `./`); the changes, in output order.
    pub fn place<R: Read, W: Write>(
        &mut self,
        reader: &mut TarReader<R>,
        writer: &mut TarWriter<W>,
        member: &Member,
        lead_len: usize,
        added: &Added,
    ) -> Result<Vec<Change>> {
        let path = member.display_path();
        let lead = &member.path[..lead_len];
        let name = [lead, MONIT_PATH.as_bytes()].concat();
        let mut head = Vec::new();
        match member.entry_type() {
            EntryType::Regular | EntryType::Continuous => {
                reader
                    .data()
                    .take(2)
                    .read_to_end(&mut head)
                    .with_context(|| format!("reading {path}"))?;
            }
            // its stored data need not start at the file's start: not taken for a script
            EntryType::GNUSparse => {}
            other => bail!(
                "{path} is not a regular file ({other:?}): repack-stemcell replaces a monit \
                 wrapper script or keeps a monit binary as monit-actual, and will not guess \
                 what this leads to"
            ),
        }
        if head == b"#!" {
            return Ok(vec![replace(reader, writer, member, &name, added, &head)?]);
        }
        let actual = [lead, MONIT_ACTUAL_PATH.as_bytes()].concat();
        let actual_path = String::from_utf8_lossy(&actual).into_owned();
        if let Some(stock) = &self.stock_actual {
            bail!(both(&path, stock));
        }
        let scan = keep_renamed(reader, writer, member, &head, &actual)
            .with_context(|| format!("keeping {path} as {actual_path}"))?;
        self.note_scan(actual_path.clone(), &scan);
        write_added(writer, &name, added)?;
        self.kept = Some(path.clone());
        Ok(vec![
            Change::KeptAs {
                from: path.clone(),
                to: actual_path,
            },
            Change::Added(path),
        ])
    }

    /// Warnings: the wrapper will find no `monit-actual` to start, or the monit it starts
    /// will refuse the agent's start, stop and unmonitor requests.
    pub fn warnings(&self) -> Vec<String> {
        let missing = (self.kept.is_none() && self.stock_actual.is_none()).then(|| {
            format!(
                "the image has no /{MONIT_ACTUAL_PATH} and no monit binary at /{MONIT_PATH} \
                 to keep under that name: the overlay's monit wrapper has nothing to start \
                 until one is installed"
            )
        });
        let csrf = self.csrf.as_ref().map(|path| {
            format!(
                "{path} checks a CSRF token on every POST (monit 5.20 or later): the \
                 bosh-agent's start, stop and unmonitor requests will be refused with 403 \
                 \"Invalid CSRF Token\", so jobs cannot be started or stopped; use a \
                 stemcell with the monit that stemcells build (5.2.5)"
            )
        });
        missing.into_iter().chain(csrf).collect()
    }
}

fn both(monit: &str, actual: &str) -> String {
    format!(
        "the image has both {monit}, which is not a script, and {actual}: repack-stemcell \
         will not guess which one is monit (the overlay's wrapper takes the place of the \
         first and starts the second)"
    )
}

/// Copies `member` as stored under the new path `name` (the first bytes of its data,
/// `head`, already read): its header's name, with any GNU long name or pax `path` record
/// dropped, is the only change. Its data is scanned on the way.
fn keep_renamed<R: Read, W: Write>(
    reader: &mut TarReader<R>,
    writer: &mut TarWriter<W>,
    member: &Member,
    head: &[u8],
    name: &[u8],
) -> Result<CsrfScan> {
    let mut header = member.header.clone();
    let field = &mut header.as_old_mut().name;
    if name.len() > field.len() {
        bail!("{} is too long a name", String::from_utf8_lossy(name));
    }
    fill(field, name);
    if let Some(ustar) = header.as_ustar_mut() {
        ustar.prefix.fill(0);
    }
    header.set_cksum();
    writer.write_blocks(&prefix_without_path(&member.prefix)?)?;
    writer.write_blocks(header.as_bytes())?;
    writer.write_blocks(&member.sparse_blocks)?;
    let mut scan = CsrfScan::default();
    let mut tee = Tee {
        out: writer.inner_mut(),
        scan: &mut scan,
    };
    tee.write_all(head)?;
    reader.copy_data(&mut tee)?;
    writer.pad(member.size)?;
    Ok(scan)
}

/// The extension members of `prefix` without what names the member's path: GNU long-name
/// members, and pax `path` records (a pax member left empty goes too).
fn prefix_without_path(prefix: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < prefix.len() {
        let block = prefix
            .get(at..at + BLOCK_LEN)
            .context("a truncated extension header")?;
        let header = Header::from_byte_slice(block);
        let size = header.entry_size()?;
        let end = at + BLOCK_LEN + usize::try_from(padded(size))?;
        let size = usize::try_from(size)?;
        let body = prefix
            .get(at + BLOCK_LEN..at + BLOCK_LEN + size)
            .context("a truncated extension member")?;
        let kind = header.entry_type();
        if kind.is_pax_local_extensions() {
            let kept = pax_without_path(body)?;
            if !kept.is_empty() {
                let mut h = header.clone();
                h.set_size(kept.len() as u64);
                h.set_cksum();
                out.extend_from_slice(h.as_bytes());
                out.extend_from_slice(&kept);
                out.resize(out.len().div_ceil(BLOCK_LEN) * BLOCK_LEN, 0);
            }
        } else if !kind.is_gnu_longname() {
            out.extend_from_slice(&prefix[at..end]);
        }
        at = end;
    }
    Ok(out)
}

/// pax records (`<length> <key>=<value>\n` each) as stored, but for the `path` record.
fn pax_without_path(body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .context("a pax record without a length")?;
        let len: usize = std::str::from_utf8(&rest[..space])?
            .parse()
            .context("a pax record's length")?;
        if len <= space || len > rest.len() {
            bail!("a pax record's length {len} is out of range");
        }
        let (record, next) = rest.split_at(len);
        if !record[space + 1..].starts_with(b"path=") {
            out.extend_from_slice(record);
        }
        rest = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
