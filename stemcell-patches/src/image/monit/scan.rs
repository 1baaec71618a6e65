//! Tells, while a monit binary is copied, whether it checks a CSRF token on every POST.
//!
//! monit 5.20 and later refuse a POST to their HTTP interface unless a form field
//! `securitytoken` matches a cookie of that name, and answer 403 "Invalid CSRF Token"
//! otherwise. The bosh-agent POSTs `action=start|stop|unmonitor` with basic auth alone
//! (its `jobsupervisor/monit` client), so with such a monit it can read status but not
//! start or stop a job. Stemcells build monit 5.2.5, which has no such check. The cookie's
//! name is in the binary of every monit that checks it, and in no older one.

use std::io::{self, Write};

/// The bytes that mark a monit with the CSRF check.
pub const CSRF_MARK: &[u8] = b"securitytoken";

/// Looks for [`CSRF_MARK`] in data seen in pieces, across piece boundaries too.
#[derive(Debug, Default)]
pub struct CsrfScan {
    /// The last `CSRF_MARK.len() - 1` bytes seen, for a mark split between two pieces.
    tail: Vec<u8>,
    found: bool,
}

impl CsrfScan {
    /// Whether the mark was seen so far.
    pub fn found(&self) -> bool {
        self.found
    }

    /// Looks at the next piece of data.
    pub fn look(&mut self, data: &[u8]) {
        if self.found {
            return;
        }
        let keep = CSRF_MARK.len() - 1;
        let mut joint = std::mem::take(&mut self.tail);
        joint.extend_from_slice(&data[..data.len().min(keep)]);
        self.found = contains(&joint) || contains(data);
        self.tail = if data.len() >= keep {
            data[data.len() - keep..].to_vec()
        } else {
            joint[joint.len().saturating_sub(keep)..].to_vec()
        };
    }
}

fn contains(data: &[u8]) -> bool {
    data.windows(CSRF_MARK.len()).any(|w| w == CSRF_MARK)
}

/// A writer that passes everything to `out` and shows it to `scan`.
pub struct Tee<'a, W> {
    /// Where the data goes.
    pub out: &'a mut W,
    /// What looks at it on the way.
    pub scan: &'a mut CsrfScan,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.scan.look(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_pieces(data: &[u8], piece: usize) -> bool {
        let mut scan = CsrfScan::default();
        data.chunks(piece).for_each(|c| scan.look(c));
        scan.found()
    }

    #[test]
    fn the_mark_is_found_whatever_the_pieces() {
        let mut data = vec![0u8; 100];
        data.extend_from_slice(b"name=securitytoken;");
        data.extend_from_slice(&[7u8; 50]);
        for piece in 1..=data.len() {
            assert!(scan_in_pieces(&data, piece), "piece size {piece}");
        }
    }

    #[test]
    fn no_mark_no_finding() {
        let cases: [&[u8]; 4] = [
            b"",
            b"securitytoke",
            b"security token",
            b"pretend monit 5.2.5",
        ];
        for (i, data) in cases.iter().enumerate() {
            for piece in 1..=data.len().max(1) {
                assert!(!scan_in_pieces(data, piece), "case {i}, piece size {piece}");
            }
        }
    }

    #[test]
    fn the_tee_passes_everything_on() {
        let (mut out, mut scan) = (Vec::new(), CsrfScan::default());
        let data = b"x securitytoken y";
        io::copy(
            &mut &data[..],
            &mut Tee {
                out: &mut out,
                scan: &mut scan,
            },
        )
        .unwrap();
        assert_eq!(out, data);
        assert!(scan.found());
    }
}
