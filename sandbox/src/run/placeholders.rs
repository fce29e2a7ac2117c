//! The placeholder registry: which host paths are empty mount points created by live runs.
//!
//! bwrap creates a mount point on the host for a mask on a missing path inside a writable
//! root. Each run registers the placeholders of its plan under a lock, and after bwrap has
//! exited removes those no other live run still uses, and only while they are still an
//! empty file or an empty directory, so a real file is never removed. A path registered by
//! a run that is still going (or that was killed before it could clean up) is planned as
//! missing by the next run, which masks it again and removes it when it is the last user.
//!
//! Layout: `<$XDG_RUNTIME_DIR or /tmp>/sandbox-placeholders-<euid>/` (mode 0700, owned by
//! the user), a `lock` file, and per placeholder a directory named by the SHA-256 of its
//! path holding `path` (the path) and one empty marker file per registered pid.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use crate::launcher::cache::ProbeCache;

/// Why the registry could not be used.
#[derive(Debug, thiserror::Error)]
#[error("placeholder registry {path}: cannot {action}: {source}")]
pub struct RegistryError {
    /// The path involved.
    pub path: PathBuf,
    /// What was being done.
    pub action: &'static str,
    /// The error.
    pub source: io::Error,
}

fn fail<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> RegistryError + 'a {
    move |source| RegistryError {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// The registry of one user.
pub struct Registry {
    dir: PathBuf,
}

/// The registry, locked for the caller.
pub struct Locked<'a> {
    registry: &'a Registry,
    _lock: Flock<File>,
}

impl Registry {
    /// Opens (creating if needed) the current user's registry, refusing one that another
    /// user could write.
    pub fn open() -> Result<Registry, RegistryError> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_dir())
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let euid = nix::unistd::geteuid().as_raw();
        let dir = base.join(format!("sandbox-placeholders-{euid}"));
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
        Ok(Registry { dir })
    }

    /// The registry directory (hidden from the command).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the registry lock (blocking).
    pub fn lock(&self) -> Result<Locked<'_>, RegistryError> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(fail(&path, "open"))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| fail(&path, "lock")(io::Error::from(e)))?;
        Ok(Locked {
            registry: self,
            _lock: lock,
        })
    }

    /// The probe answers remembered for this user (files `probe-*` here).
    pub fn probe_cache(&self) -> ProbeCache {
        ProbeCache::new(&self.dir)
    }

    /// An empty file with mode 000 owned by the user, (re)created if anything else is
    /// found: the source of every file mask. Only this user can change it, and the
    /// sandboxed command never sees the registry.
    pub fn empty_file(&self) -> Result<PathBuf, RegistryError> {
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

    fn entry(&self, path: &Path) -> PathBuf {
        let digest = Sha256::digest(path.as_os_str().as_bytes());
        let name: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(name)
    }
}

impl Locked<'_> {
    /// Every registered placeholder path (of live runs and of runs that died). An entry
    /// whose runs all died and whose path is gone from the host (a deleted workspace) has
    /// nothing left to protect or remove: it is dropped, so that it is not read by every
    /// later run.
    pub fn known(&self) -> Result<HashSet<PathBuf>, RegistryError> {
        let dir = &self.registry.dir;
        let mut known = HashSet::new();
        for entry in fs::read_dir(dir).map_err(fail(dir, "list"))? {
            let entry = entry.map_err(fail(dir, "list"))?.path();
            let Ok(bytes) = fs::read(entry.join("path")) else {
                continue;
            };
            let path = PathBuf::from(OsStr::from_bytes(&bytes));
            let gone = matches!(fs::symlink_metadata(&path), Err(e) if e.kind() == io::ErrorKind::NotFound);
            if gone && live_markers(&entry) == 0 {
                fs::remove_dir_all(&entry).map_err(fail(&entry, "remove"))?;
                continue;
            }
            known.insert(path);
        }
        Ok(known)
    }

    /// Records that run `pid` uses `paths`.
    pub fn register(&self, paths: &[PathBuf], pid: u32) -> Result<(), RegistryError> {
        for path in paths {
            let entry = self.registry.entry(path);
            match fs::DirBuilder::new().mode(0o700).create(&entry) {
                Ok(()) => fs::write(entry.join("path"), path.as_os_str().as_bytes())
                    .map_err(fail(&entry, "write"))?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(&entry, "create")(e)),
            }
            let marker = entry.join(pid.to_string());
            File::create(&marker).map_err(fail(&marker, "create"))?;
        }
        Ok(())
    }

    /// Drops run `pid`'s use of `paths` and removes each placeholder no live run still
    /// uses, if it is still an empty file or directory. Returns the paths removed.
    pub fn release(&self, paths: &[PathBuf], pid: u32) -> Result<Vec<PathBuf>, RegistryError> {
        let mut removed = Vec::new();
        for path in paths {
            let entry = self.registry.entry(path);
            let _ = fs::remove_file(entry.join(pid.to_string()));
            if live_markers(&entry) > 0 {
                continue;
            }
            if remove_if_empty(path) {
                removed.push(path.clone());
            }
            fs::remove_dir_all(&entry).map_err(fail(&entry, "remove"))?;
        }
        Ok(removed)
    }
}

/// Counts the markers of processes that are still alive (removing the dead ones).
fn live_markers(entry: &Path) -> usize {
    let Ok(list) = fs::read_dir(entry) else {
        return 0;
    };
    let mut live = 0;
    for marker in list.flatten() {
        let Some(pid) = marker
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok() {
            live += 1;
        } else {
            let _ = fs::remove_file(marker.path());
        }
    }
    live
}

/// Removes `path` if it is an empty regular file or an empty directory (never a symlink).
fn remove_if_empty(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir(path).is_ok(),
        Ok(m) if m.is_file() && m.len() == 0 => fs::remove_file(path).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_empty_placeholders_after_the_last_live_user() {
        let registry = Registry::open().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("p-empty");
        let full = dir.path().join("p-full");
        fs::write(&empty, "").unwrap();
        fs::write(&full, "data").unwrap();
        let paths = vec![empty.clone(), full.clone()];
        let me = std::process::id();
        let lock = registry.lock().unwrap();
        lock.register(&paths, me).unwrap();
        lock.register(&paths[..1], 1).unwrap(); // pid 1 is alive: a concurrent run
        lock.register(&paths[..1], 0x3fff_fff0).unwrap(); // no such pid: a run that died
        assert!(lock.known().unwrap().contains(&empty));
        assert_eq!(lock.release(&paths, me).unwrap(), Vec::<PathBuf>::new());
        assert!(empty.exists(), "still used by a live run");
        assert!(full.exists(), "a file with content is never removed");
        assert_eq!(lock.release(&paths[..1], 1).unwrap(), vec![empty.clone()]);
        assert!(!empty.exists());
        assert!(!lock.known().unwrap().contains(&empty));
    }

    #[test]
    fn entries_of_dead_runs_are_dropped_once_their_path_is_gone() {
        let registry = Registry::open().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("still-there");
        let gone = dir.path().join("deleted");
        let live = dir.path().join("deleted-but-live");
        fs::write(&kept, "").unwrap();
        let lock = registry.lock().unwrap();
        let dead = 0x3fff_fff1; // no such pid: runs that were killed
        lock.register(&[kept.clone(), gone.clone()], dead).unwrap();
        lock.register(std::slice::from_ref(&live), 1).unwrap(); // pid 1 is alive
        let known = lock.known().unwrap();
        assert!(
            known.contains(&kept),
            "its placeholder may still need removing"
        );
        assert!(known.contains(&live), "a live run still uses it");
        assert!(!known.contains(&gone));
        assert!(
            !registry.entry(&gone).exists(),
            "the entry itself is removed"
        );
        lock.release(&[kept.clone(), live.clone()], dead).unwrap();
        lock.release(&[live], 1).unwrap();
        assert!(!kept.exists());
    }
}
