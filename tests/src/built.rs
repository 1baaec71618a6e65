//! Files the workspace's scripts build for the tests: a variable naming one that exists
//! (`scripts/test` exports them), else the path a script prints on its last line.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::workspace_root;

/// The file environment variable `var` names, when it is set and that file exists.
pub fn env_file(var: &str) -> Option<PathBuf> {
    std::env::var(var)
        .ok()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// Runs `script` (a path from the workspace root) with `args` in the workspace root, and
/// returns the file whose path it printed on its last line of stdout.
pub fn script_path(script: &str, args: &[&str]) -> Result<PathBuf> {
    let root = workspace_root();
    let mut cmd = Command::new(root.join(script));
    cmd.args(args).current_dir(&root);
    let what = format!("{script} {}", args.join(" "));
    let out = crate::lxc::run(&mut cmd)?.ok(what.trim_end())?;
    match out.lines().last().map(str::trim) {
        Some(line) if Path::new(line).is_file() => Ok(PathBuf::from(line)),
        _ => bail!("{} printed no path of a file: {out}", what.trim_end()),
    }
}
