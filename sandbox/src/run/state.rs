//! The per-user state directory: the probe cache and the empty file used as the source
//! of bwrap's file masks, hidden from the command.
//!
//! Layout: `<$XDG_RUNTIME_DIR or /tmp>/sandbox-placeholders-<euid>/` (mode 0700, owned by
//! the user; the name is historical, see `DIR_PREFIX`). It holds no placeholders: those
//! are the empty directories a run creates on the host where a mask needs a mount point,
//! see [`super::placeholders`].

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::launcher::cache::ProbeCache;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
#[error("sandbox state directory {path}: cannot {action}: {source}")]
pub struct StateError {
    /// The path involved.
    pub path: PathBuf,
    /// What was being done.
    pub action: &'static str,
    /// The error.
    pub source: io::Error,
}

fn fail<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |source| StateError {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// The state directory's name before the euid. Only a name: earlier versions kept their
/// placeholder registry there, and keeping it keeps existing probe caches valid.
const DIR_PREFIX: &str = "sandbox-placeholders-";

/// The state directory of one user.
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (creating if needed) the current user's state directory, refusing one that
    /// another user could write.
    pub fn open() -> Result<StateDir, StateError> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_dir())
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let euid = nix::unistd::geteuid().as_raw();
        let dir = base.join(format!("{DIR_PREFIX}{euid}"));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(&dir, "create")(e)),
        }
        let meta = fs::symlink_metadata(&dir).map_err(fail(&dir, "inspect"))?;
        if !meta.is_dir() || meta.uid() != euid || meta.mode() & 0o077 != 0 {
            return Err(fail(&dir, "trust it")(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("it must be a directory owned by uid {euid} with mode 0700; remove it"),
            )));
        }
        Ok(StateDir { dir })
    }

    /// The directory (hidden from the command).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The probe answers remembered for this user (files `probe-*` here).
    pub fn probe_cache(&self) -> ProbeCache {
        ProbeCache::new(&self.dir)
    }

    /// An empty file with mode 000 owned by the user, (re)created if anything else is
    /// found: the source of every file mask. Only this user can change it, and the
    /// sandboxed command never sees this directory.
    pub fn empty_file(&self) -> Result<PathBuf, StateError> {
        let path = self.dir.join("empty");
        let euid = nix::unistd::geteuid().as_raw();
        let good = fs::symlink_metadata(&path).is_ok_and(|m| {
            m.is_file() && m.len() == 0 && m.uid() == euid && m.mode() & 0o7777 == 0
        });
        if good {
            return Ok(path);
        }
        let temp = self.dir.join(format!("empty.{}", std::process::id()));
        let _ = fs::remove_file(&temp);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o000)
            .open(&temp)
            .map_err(fail(&temp, "create"))?;
        fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o000))
            .map_err(fail(&temp, "chmod"))?;
        fs::rename(&temp, &path).map_err(fail(&path, "create"))?;
        Ok(path)
    }
}
