//! The command line: the options, this program's version text, and the refusal of the
//! old `--version V` (the stemcell's version is `--stemcell-version V` now).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::embedded;
use crate::overlay::Overlay;

/// Command line of the repack tool.
#[derive(Debug, Parser)]
#[command(
    name = "repack-stemcell",
    about = "Repack a warden stemcell for bosh-lxd: add the guest helper and its boot hooks",
    long_about = "Repack a warden stemcell for bosh-lxd: add the guest helper and its boot \
                  hooks to the image, and rewrite stemcell.MF (image SHA-1, \
                  cloud_properties.bosh_lxd_helper_version, stemcell_formats, version). \
                  A monit binary at var/vcap/bosh/bin/monit (not a script) is kept as \
                  monit-actual, behind the overlay's monit wrapper. \
                  Repacking a repack with the same helper and overlay changes nothing. \
                  The overlay, and the static helper in a build by scripts/build-repack, \
                  are built into this program: it needs no other file."
)]
pub struct Args {
    /// The stock stemcell tarball.
    pub input: PathBuf,
    /// Where to write the repacked stemcell (must not exist).
    pub output: PathBuf,
    /// The static guest helper binary (`scripts/build-helper` prints its path); default:
    /// the one built into this program (see --version), else `bosh-lxd-helper` beside it.
    #[arg(long, value_name = "PATH")]
    pub helper: Option<PathBuf>,
    /// The overlay tree; default: the one built into this program (the source tree's
    /// `stemcell-patches/overlay` when it was built).
    #[arg(long, value_name = "DIR")]
    pub overlay: Option<PathBuf>,
    /// Name of the repacked stemcell (default: the stock name).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// Version of the repacked stemcell (default: the stock version + `-lxd.<repack id>`).
    #[arg(long, value_name = "V")]
    pub stemcell_version: Option<String>,
    /// List what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The parsed command line; exits with clap's message (status 2) on a usage error, and
/// with this program's version on `-V`/`--version`.
pub fn parse() -> Args {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let mut cmd = command();
    if let Some(value) = old_version_value(&argv) {
        let msg = format!(
            "`--version` takes no value any more: give the stemcell's version as \
             `--stemcell-version {value}` (`--version` alone prints this program's version)"
        );
        cmd.error(ErrorKind::ArgumentConflict, msg).exit();
    }
    let matches = cmd.get_matches_from(argv);
    Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The clap command, with this program's version text.
pub fn command() -> clap::Command {
    // Computed once per process; clap keeps a `&'static str`.
    let text: &'static str = Box::leak(version_text().into_boxed_str());
    Args::command().version(text)
}

/// What `-V`/`--version` prints after the program's name: its version and commit, and
/// what is built in.
pub fn version_text() -> String {
    let commit = embedded::COMMIT.map_or(String::new(), |c| format!(" (commit {c})"));
    let helper = match (embedded::HELPER, Overlay::built_in_helper_version()) {
        (Some(bytes), Some(version)) => {
            format!("bosh-lxd-helper {version} built in ({} bytes)", bytes.len())
        }
        _ => "none built in: give --helper PATH, or use a build of scripts/build-repack \
              or scripts/dist"
            .to_string(),
    };
    let files = embedded::OVERLAY
        .iter()
        .filter(|raw| raw.path != "README.md" && !raw.path.ends_with(".keep"))
        .count();
    format!(
        "{}{commit}\nhelper: {helper}\noverlay: built in ({files} files and links)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The value of an old-style `--version V` or `--version=V`, if `argv` has one.
fn old_version_value(argv: &[OsString]) -> Option<String> {
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    for (i, arg) in args.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--version=") {
            return Some(value.to_string());
        }
        if arg == "--version"
            && let Some(next) = args.get(i + 1)
            && !next.starts_with('-')
        {
            return Some(next.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{command, old_version_value};

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn the_old_version_spelling_is_recognised() {
        let argv = |args: &[&str]| -> Vec<OsString> {
            std::iter::once("repack-stemcell")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect()
        };
        let cases: [(&[&str], Option<&str>); 6] = [
            (&["in", "out", "--version", "1.2"], Some("1.2")),
            (&["in", "out", "--version=1.2"], Some("1.2")),
            (&["--version"], None),
            (&["-V"], None),
            (&["in", "out", "--version", "--dry-run"], None),
            (&["in", "out", "--", "--version", "1.2"], None),
        ];
        for (args, want) in cases {
            assert_eq!(old_version_value(&argv(args)).as_deref(), want, "{args:?}");
        }
    }
}
