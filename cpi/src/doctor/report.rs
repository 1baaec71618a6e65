//! The doctor's report: one line per check (`ok`, `WARN`, `FAIL`, `skip`) printed as it is
//! made, a closing count, and whether anything failed (the exit status).

use std::fmt;
use std::io::Write;

/// How a check came out. Only [`Status::Fail`] makes `cpi doctor` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// As the CPI needs it.
    Ok,
    /// Works, but probably not as the operator wants; says what happens.
    Warn,
    /// The CPI cannot work this way; says what to do.
    Fail,
    /// Not checked, and why.
    Skip,
}

impl Status {
    /// The line's first word, padded to one width.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One check's line: `FAIL project "bosh": not found: create it with ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// How it came out.
    pub status: Status,
    /// What was checked (`daemon`, `project "bosh"`...).
    pub subject: String,
    /// What was found and, when it is not ok, what to do.
    pub message: String,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.label(),
            self.subject,
            self.message
        )
    }
}

/// Every line so far; printed to stdout as they come when `echo` is set.
#[derive(Debug, Default)]
pub struct Report {
    lines: Vec<Line>,
    echo: bool,
}

impl Report {
    /// A report that prints each line to stdout as it is added.
    pub fn printing() -> Self {
        Report {
            lines: Vec::new(),
            echo: true,
        }
    }

    /// Adds a line.
    pub fn add(&mut self, status: Status, subject: impl Into<String>, message: impl Into<String>) {
        let line = Line {
            status,
            subject: subject.into(),
            message: message.into(),
        };
        if self.echo {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                // stdout is gone (a closed pipe): the exit status still tells.
            }
        }
        self.lines.push(line);
    }

    /// An `ok` line.
    pub fn ok(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.add(Status::Ok, subject, message);
    }

    /// A `WARN` line.
    pub fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.add(Status::Warn, subject, message);
    }

    /// A `FAIL` line.
    pub fn fail(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.add(Status::Fail, subject, message);
    }

    /// A `skip` line.
    pub fn skip(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.add(Status::Skip, subject, message);
    }

    /// The lines so far.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// True when any check failed.
    pub fn failed(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    fn count(&self, status: Status) -> usize {
        self.lines.iter().filter(|l| l.status == status).count()
    }

    /// `cpi doctor: 7 ok, 1 warning, 1 failed, 3 skipped`.
    pub fn summary(&self) -> String {
        format!(
            "cpi doctor: {} ok, {} warning(s), {} failed, {} skipped",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failure_fails_and_lines_read_as_documented() {
        let mut r = Report::default();
        r.ok("daemon", "LXD 5.0.2 at unix:///var/lib/lxd/unix.socket");
        r.warn("storage pool \"default\"", "driver dir");
        r.skip("lxcfs", "over HTTPS");
        assert!(!r.failed());
        r.fail("project \"bosh\"", "not found");
        assert!(r.failed());
        let text: Vec<String> = r.lines().iter().map(ToString::to_string).collect();
        assert_eq!(
            text.first().map(String::as_str),
            Some("ok   daemon: LXD 5.0.2 at unix:///var/lib/lxd/unix.socket")
        );
        assert_eq!(
            text.last().map(String::as_str),
            Some("FAIL project \"bosh\": not found")
        );
        assert_eq!(
            r.summary(),
            "cpi doctor: 1 ok, 1 warning(s), 1 failed, 1 skipped"
        );
    }
}
