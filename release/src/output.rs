//! The output tarball: written to a hidden temporary file beside OUT and given OUT's name
//! only when complete, never replacing an existing file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Mode of the finished tarball, whatever the umask.
const MODE: u32 = 0o644;

/// Fails if `out` exists (checked before any work, so a refusal leaves nothing behind).
pub fn refuse_existing(out: &Path) -> Result<()> {
    if out.symlink_metadata().is_ok() {
        bail!(
            "{} exists; remove it or choose another --out",
            out.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `out` through a temporary file in the same directory. The temporary
/// file is removed on any failure; `out` appearing meanwhile is an error.
pub fn write_new(out: &Path, bytes: &[u8]) -> Result<()> {
    refuse_existing(out)?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} names no file", out.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{base}.partial-"))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes).context("writing the tarball")?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(MODE))
        .context("setting the tarball's mode")?;
    tmp.as_file().sync_all().context("syncing the tarball")?;
    tmp.persist_noclobber(out)
        .map_err(|e| e.error)
        .with_context(|| format!("naming the tarball {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_written_with_mode_0644_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.tgz");
        write_new(&out, b"data").unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"data");
        assert_eq!(
            fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_existing_file_is_kept_and_nothing_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.tgz");
        fs::write(&out, b"old").unwrap();
        let err = write_new(&out, b"new").unwrap_err();
        assert!(format!("{err:#}").contains("exists"), "{err:#}");
        assert_eq!(fs::read(&out).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
