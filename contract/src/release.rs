//! The result of `bosh-lxd-helper release <cid>`, which the CPI's `detach_disk` runs in
//! the guest before it removes the disk device: one JSON document on one line of stdout,
//! and the exit code that goes with it. The helper's log on stderr is for people; the CPI
//! reads only this.
//!
//! A helper from before this result (a stemcell repacked by an older `repack-stemcell`)
//! prints nothing on stdout: [`ReleaseResult::from_stdout`] then gives `None`, and the
//! exit code alone says how it ended ([`EXIT_RELEASED`], [`EXIT_BUSY`], anything else).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Exit code of a release that left nothing mounted ([`ReleaseResult::Released`],
/// [`ReleaseResult::NotMounted`]).
pub const EXIT_RELEASED: u8 = 0;
/// Exit code of a release that failed ([`ReleaseResult::Error`]).
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a release refused because a mount is busy ([`ReleaseResult::Busy`]).
pub const EXIT_BUSY: u8 = 2;

/// How a release ended. On the wire: `{"result": "released", "unmounted": [..]}`,
/// `{"result": "not-mounted"}`, `{"result": "busy", "paths": [..], "holders": [..]}`,
/// `{"result": "error", "message": ".."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum ReleaseResult {
    /// Every mount of the volume is gone.
    Released {
        /// The mounts removed, in every mount namespace (at least one).
        unmounted: Vec<MountPoint>,
    },
    /// Nothing of the volume was mounted; nothing was done.
    NotMounted,
    /// Some mounts stay because something holds them: the disk must stay attached.
    Busy {
        /// The mounts that stayed.
        paths: Vec<StuckMount>,
        /// The processes using something under them (may be empty: none found).
        holders: Vec<Holder>,
    },
    /// The release could not be done (a bad cid, an unreadable mount table).
    Error {
        /// What went wrong, for the operator.
        message: String,
    },
}

/// One mount a release removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPoint {
    /// The mount point, as the namespace sees it.
    pub path: String,
    /// Which mount namespace: `own` (the helper's) or the namespace link, `mnt:[..]`.
    pub namespace: String,
}

/// One mount a release could not remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckMount {
    /// The mount point, as the namespace sees it.
    pub path: String,
    /// Which mount namespace: `own` (the helper's) or the namespace link, `mnt:[..]`.
    pub namespace: String,
    /// Why umount(2) refused (`Device or resource busy`).
    pub error: String,
}

/// One process keeping a mount busy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its PID in the container.
    pub pid: u32,
    /// Its `comm`.
    pub command: String,
    /// What it holds under the mounts: `cwd /var/vcap/store`, `fd 3 /var/vcap/store/f`,
    /// `maps /var/vcap/store/lib.so`, `root ...`.
    pub holds: Vec<String>,
}

/// Stdout that is not empty and not a [`ReleaseResult`].
#[derive(Debug)]
pub struct ParseError {
    text: String,
    source: serde_json::Error,
}

impl ReleaseResult {
    /// The exit code the helper ends with after printing this result.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReleaseResult::Released { .. } | ReleaseResult::NotMounted => EXIT_RELEASED,
            ReleaseResult::Busy { .. } => EXIT_BUSY,
            ReleaseResult::Error { .. } => EXIT_FAILED,
        }
    }

    /// Whether the volume is left with no mount in the guest.
    pub fn is_released(&self) -> bool {
        self.exit_code() == EXIT_RELEASED
    }

    /// The line the helper prints on stdout: the JSON document and a newline.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self).map(|json| json + "\n")
    }

    /// Reads the helper's whole stdout: `None` when it is empty (a helper from before this
    /// result), the result when it is one JSON document, an error otherwise.
    pub fn from_stdout(stdout: &[u8]) -> Result<Option<ReleaseResult>, ParseError> {
        let text = String::from_utf8_lossy(stdout);
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|source| ParseError {
                text: text.chars().take(300).collect(),
                source,
            })
    }
}

impl fmt::Display for ReleaseResult {
    /// One line for the operator: what was done, or what stays mounted and who holds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseResult::Released { unmounted } => {
                let points: Vec<String> = unmounted.iter().map(ToString::to_string).collect();
                write!(f, "unmounted {}", points.join(", "))
            }
            ReleaseResult::NotMounted => f.write_str("nothing was mounted"),
            ReleaseResult::Error { message } => f.write_str(message),
            ReleaseResult::Busy { paths, holders } => {
                let mut parts: Vec<String> = paths.iter().map(ToString::to_string).collect();
                if holders.is_empty() {
                    parts.push("no process found holding the mounts".to_owned());
                }
                parts.extend(holders.iter().map(|h| format!("held by {h}")));
                f.write_str(&parts.join("; "))
            }
        }
    }
}

impl fmt::Display for MountPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (namespace {})", self.path, self.namespace)
    }
}

impl fmt::Display for StuckMount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StuckMount {
            path,
            namespace,
            error,
        } = self;
        write!(f, "{path} stays mounted (namespace {namespace}): {error}")
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let holds = self.holds.join(", ");
        write!(f, "pid {} ({}): {holds}", self.pid, self.command)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the helper's stdout is not a release result ({}): {}",
            self.source, self.text
        )
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests;
