//! What the tool prints: the `--dry-run` listing on stdout, warnings and a summary on stderr.

use std::io::{self, IsTerminal, Write};

use anyhow::Result;

use crate::image::Change;
use crate::overlay::Overlay;
use crate::stemcell::{Options, Outcome};

/// Lists what a repack would change, on stdout.
pub fn print_dry_run(opts: &Options, overlay: &Overlay, outcome: &Outcome) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "dry run: {} -> {} (nothing written)",
        opts.input.display(),
        opts.output.display()
    )?;
    writeln!(
        out,
        "helper {}, repack id {}",
        overlay.helper_version, overlay.repack_id
    )?;
    writeln!(out, "stemcell.MF:")?;
    if outcome.manifest.is_empty() {
        writeln!(out, "  unchanged")?;
    }
    for c in &outcome.manifest {
        let before = c.before.as_deref().unwrap_or("(none)");
        writeln!(out, "  {}: {before} -> {}", c.key, c.after)?;
    }
    writeln!(out, "image ({} members):", outcome.image.members)?;
    for change in &outcome.image.changes {
        let line = match change {
            Change::Replaced(p) => format!("  replace {p}"),
            Change::Same(p) => format!("  same    {p} (already the overlay's)"),
            Change::KeptDir(p) => format!("  keep    {p} (directory already there)"),
            Change::Added(p) => format!("  add     {p}"),
            Change::KeptAs { from, to } => {
                format!("  rename  {from} -> {to} (not a script: the monit binary, kept)")
            }
        };
        writeln!(out, "{line}")?;
    }
    for w in &outcome.image.warnings {
        writeln!(out, "warning: {w}")?;
    }
    if outcome.manifest.is_empty() && outcome.image.is_unchanged() {
        writeln!(
            out,
            "nothing would change: this is already a repack with this helper and overlay"
        )?;
    }
    Ok(())
}

/// Prints warnings, and on a terminal a one-line summary, on stderr.
pub fn print_warnings(opts: &Options, outcome: &Outcome) {
    for w in &outcome.image.warnings {
        eprintln!("repack-stemcell: warning: {w}");
    }
    if io::stderr().is_terminal() {
        eprintln!(
            "repack-stemcell: wrote {} ({} {})",
            opts.output.display(),
            outcome.name,
            outcome.version
        );
    }
}
