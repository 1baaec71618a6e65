//! The output file: nameless while it is written, given OUT's name only when complete.
//!
//! On Linux an `O_TMPFILE` file in OUT's directory has no name, so an interrupted repack
//! (an error, Ctrl-C, a kill) leaves nothing behind; once complete it is linked to OUT
//! through `/proc/self/fd` (`open(2)`, `O_TMPFILE`), which fails rather than replace a
//! file that appeared meanwhile. Where `O_TMPFILE` or `/proc` is missing, a hidden named
//! temporary file is renamed into place instead (removed on error, but not on a kill).

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use tempfile::NamedTempFile;

/// Mode of the finished stemcell, whatever the umask: a tarball anyone may read.
const MODE: u32 = 0o644;

/// An output being written.
#[derive(Debug)]
pub enum Pending {
    /// An `O_TMPFILE` file: no name yet.
    Unnamed(File),
    /// The fallback: `.<OUT name>.partial-XXXXXX` beside OUT.
    Named(NamedTempFile),
}

impl Pending {
    /// A new output file in `dir` for `target`.
    pub fn create(dir: &Path, target: &Path) -> Result<Pending> {
        let unnamed = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(MODE)
            .custom_flags(OFlag::O_TMPFILE.bits())
            .open(dir);
        if let Ok(file) = unnamed
            && Path::new(&proc_path(&file)).exists()
        {
            return Ok(Pending::Unnamed(file));
        }
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let named = tempfile::Builder::new()
            .prefix(&format!(".{base}.partial-"))
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(Pending::Named(named))
    }

    /// The file to write to.
    pub fn file(&self) -> &File {
        match self {
            Pending::Unnamed(f) => f,
            Pending::Named(t) => t.as_file(),
        }
    }

    /// Syncs the file and gives it the name `target`, unless something has that name.
    pub fn commit(self, target: &Path) -> Result<()> {
        let file = self.file();
        file.set_permissions(fs::Permissions::from_mode(MODE))
            .context("setting the mode")?;
        file.sync_all().context("syncing")?;
        match self {
            Pending::Unnamed(file) => {
                let from = PathBuf::from(proc_path(&file));
                let to = target.to_path_buf();
                match nix::unistd::linkat(None, &from, None, &to, AtFlags::AT_SYMLINK_FOLLOW) {
                    Ok(()) => Ok(()),
                    Err(Errno::EEXIST) => bail!("{} appeared meanwhile", target.display()),
                    Err(e) => Err(e).context("linking the finished file into place"),
                }
            }
            Pending::Named(tmp) => {
                tmp.persist_noclobber(target)
                    .map_err(|e| e.error)
                    .context("renaming the finished file into place")?;
                Ok(())
            }
        }
    }
}

fn proc_path(file: &File) -> String {
    format!("/proc/self/fd/{}", file.as_raw_fd())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use std::io::Write;

    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_file_has_no_name_until_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.tgz");
        let pending = Pending::create(tmp.path(), &target).unwrap();
        assert!(
            matches!(pending, Pending::Unnamed(_)),
            "O_TMPFILE works here"
        );
        pending.file().write_all(b"stemcell").unwrap();
        assert!(entries(tmp.path()).is_empty());
        pending.commit(&target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"stemcell");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, MODE);
    }

    #[test]
    fn a_dropped_output_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.tgz");
        let pending = Pending::create(tmp.path(), &target).unwrap();
        pending.file().write_all(b"half").unwrap();
        drop(pending);
        assert!(entries(tmp.path()).is_empty());
    }

    #[test]
    fn commit_does_not_replace_a_file_that_appeared() {
        for unnamed in [true, false] {
            let tmp = tempfile::tempdir().unwrap();
            let target = tmp.path().join("out.tgz");
            let pending = if unnamed {
                Pending::create(tmp.path(), &target).unwrap()
            } else {
                Pending::Named(NamedTempFile::new_in(tmp.path()).unwrap())
            };
            fs::write(&target, b"someone else's").unwrap();
            let err = pending.commit(&target).unwrap_err();
            assert!(
                format!("{err:#}").contains("exists") || format!("{err:#}").contains("appeared"),
                "{err:#}"
            );
            assert_eq!(fs::read(&target).unwrap(), b"someone else's");
            assert_eq!(entries(tmp.path()), ["out.tgz"], "unnamed={unnamed}");
        }
    }
}
