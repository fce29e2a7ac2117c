//! Placeholders: empty directories this process creates on the host, before bwrap starts,
//! where a mask needs a mount point that does not exist (a missing `.codex`, a missing
//! denied path inside a writable root). bwrap then never creates anything on the host.
//!
//! A placeholder is an empty directory with mode [`PLACEHOLDER_MODE`] (sticky and 0555, a
//! mode `mkdir` never gives by default), so that every run recognises one left by another
//! run and plans it as missing. Liveness is a kernel lock on the placeholder itself:
//!
//! - **Acquire.** The parent is opened with `openat2(RESOLVE_NO_SYMLINKS)` and kept open;
//!   the name is created with `mkdirat` (or an existing placeholder is used as is), opened
//!   with `O_NOFOLLOW|O_DIRECTORY`, locked shared with `flock`, and the name is checked to
//!   still refer to the locked inode (`fstatat` relative to the held parent against `fstat`);
//!   if it does not (a concurrent run removed it in between), the step is retried, a bounded
//!   number of times. Anything but an empty placeholder directory at the name stops the run.
//! - **Release.** The shared lock is converted to an exclusive one without blocking. The
//!   kernel removes the old lock and tries the new one atomically, so of the runs releasing
//!   at once exactly the last succeeds; the others hold nothing afterwards. The holder of the
//!   exclusive lock removes the name only while it is still the very inode locked, an empty
//!   directory, with `unlinkat(held parent, name, AT_REMOVEDIR)`: it never follows a symlink
//!   (the parent is the directory opened at creation, wherever it has been moved since) and
//!   never removes anything else. The run that created a placeholder and found it busy
//!   waits for the exclusive lock in the background, so that a placeholder is removed by
//!   its creator when the last run of any user is done with it.
//! - **Janitor.** The release is done by a small process forked at acquire (in its own
//!   session, holding the locked descriptors, nothing else), woken by end-of-file on a pipe
//!   from this process: when `sandbox` is killed with `SIGKILL`, it cleans up all the same.
//!
//! A placeholder made by another user is used as it is (it is an empty directory and only
//! its creator can remove it from a sticky directory) and trusted for nothing else.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat, openat2};
use nix::sys::stat::{FileStat, Mode, fstat, fstatat, mkdirat};

pub use crate::placeholder_mark::PLACEHOLDER_MODE;
use crate::plan::mounts::{Identity, MountOp};

/// How often the acquire step is retried when a concurrent run removes the name between
/// opening and locking it (each retry means another run finished in that window).
const ATTEMPTS: usize = 64;

/// Why a placeholder could not be acquired.
#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the mask on {path}: {problem}")]
pub struct PlaceholderError {
    /// The placeholder's host path.
    pub path: PathBuf,
    /// What went wrong, with the fix where there is one.
    pub problem: PlaceholderProblem,
}

/// What went wrong with one placeholder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceholderProblem {
    /// The path has no parent or no name.
    #[error("not a placeholder path")]
    NotAPath,
    /// A NUL byte in the name.
    #[error("NUL in the path")]
    Nul,
    /// The parent cannot be opened without following a symlink.
    #[error(
        "its directory cannot be opened without following symlinks ({0}): it changed during launch"
    )]
    Parent(Errno),
    /// `mkdirat` failed.
    #[error("mkdir failed: {0}")]
    Mkdir(Errno),
    /// Setting the placeholder mode failed.
    #[error("chmod failed: {0}")]
    Chmod(io::Error),
    /// The name cannot be opened as a directory.
    #[error("it is not a placeholder directory ({0}): it changed during launch")]
    NotADirectory(Errno),
    /// `flock` failed.
    #[error("flock failed: {0}")]
    Flock(Errno),
    /// `fstat` of the locked directory failed.
    #[error("{0}")]
    Stat(Errno),
    /// Something else took the name's place.
    #[error(
        "something other than an empty placeholder directory appeared there: it changed during launch; run again"
    )]
    Replaced,
    /// Every attempt found something else there or lost the name to a concurrent run.
    #[error(
        "something other than an empty placeholder directory is there, or concurrent runs kept removing it: it changed during launch; run again"
    )]
    Contended,
    /// The janitor process could not be started.
    #[error("cannot start the placeholder janitor: {0}")]
    Janitor(io::Error),
}

fn error(path: &Path, problem: PlaceholderProblem) -> PlaceholderError {
    PlaceholderError {
        path: path.to_path_buf(),
        problem,
    }
}

/// One acquired placeholder.
struct Held {
    parent: OwnedFd,
    name: CString,
    dir: OwnedFd,
    created: bool,
}

/// The placeholders of one run, locked until [`release`](Self::release) (or until this
/// process dies, when the janitor releases them).
pub struct Placeholders {
    wake: Option<OwnedFd>,
    done: Option<OwnedFd>,
    identities: Vec<(PathBuf, Identity)>,
    /// The janitor's parent, which exits as soon as it has forked the janitor: reaped when
    /// this value goes, so the launch does not wait for it.
    _intermediate: Option<Intermediate>,
}

impl Placeholders {
    /// Creates or joins each placeholder in `paths` and starts the janitor that releases
    /// them. No path may be `/`.
    pub fn acquire(paths: &[PathBuf]) -> Result<Placeholders, PlaceholderError> {
        if paths.is_empty() {
            return Ok(Placeholders {
                wake: None,
                done: None,
                identities: Vec::new(),
                _intermediate: None,
            });
        }
        let mut held = Vec::with_capacity(paths.len());
        for path in paths {
            match acquire_one(path) {
                Ok(h) => held.push(h),
                Err(e) => {
                    // What this launch already made must not outlive it: a janitor whose
                    // wake pipe is closed at once releases those placeholders right away.
                    if !held.is_empty() {
                        drop(spawn_janitor(held));
                    }
                    return Err(e);
                }
            }
        }
        let mut identities = Vec::new();
        for (path, h) in paths.iter().zip(&held) {
            let st = fstat(&h.dir).map_err(|e| error(path, PlaceholderProblem::Stat(e)))?;
            let (dev, ino, dir) = (st.st_dev, st.st_ino, true);
            identities.push((path.clone(), Identity { dev, ino, dir }));
        }
        let (wake, done, intermediate) =
            spawn_janitor(held).map_err(|e| error(&paths[0], PlaceholderProblem::Janitor(e)))?;
        Ok(Placeholders {
            wake: Some(wake),
            done: Some(done),
            identities,
            _intermediate: Some(intermediate),
        })
    }

    /// The identity of the placeholder acquired at `path`, for its inner-stage mask.
    fn identity(&self, path: &Path) -> Option<Identity> {
        self.identities
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, id)| *id)
    }

    /// Gives each op in `ops` without an identity the one of the placeholder acquired at
    /// its path, if any (the placeholders' masks).
    pub fn fill_identities(&self, ops: &mut [MountOp]) {
        for op in ops.iter_mut().filter(|op| op.identity.is_none()) {
            op.identity = self.identity(&op.path);
        }
    }

    /// Wakes the janitor and waits until it has removed every placeholder no other run
    /// holds (it keeps waiting in the background for the ones that are still in use).
    pub fn release(mut self) {
        self.wake.take();
        if let Some(done) = self.done.take() {
            let mut byte = [0u8; 1];
            while let Err(Errno::EINTR) = nix::unistd::read(&done, &mut byte) {}
        }
    }
}

fn acquire_one(path: &Path) -> Result<Held, PlaceholderError> {
    let (Some(parent_path), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(error(path, PlaceholderProblem::NotAPath));
    };
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let parent = openat2(nix::fcntl::AT_FDCWD, parent_path, how)
        .map_err(|e| error(path, PlaceholderProblem::Parent(e)))?;
    let name = CString::new(name.as_bytes()).map_err(|_| error(path, PlaceholderProblem::Nul))?;
    for _ in 0..ATTEMPTS {
        // Created with its final mode in one step (the sticky bit survives mkdir, and a usual
        // umask clears none of 0555), so no other run sees it half made.
        let mode = Mode::from_bits_truncate(PLACEHOLDER_MODE as libc::mode_t);
        let created = match mkdirat(&parent, name.as_c_str(), mode) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            Err(e) => return Err(error(path, PlaceholderProblem::Mkdir(e))),
        };
        if created && !marked(&parent, &name) {
            // An unusual umask cleared bits: set them (other runs retry meanwhile); a name
            // already removed again by a concurrent run is retried.
            match chmod_placeholder(&parent, &name) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(error(path, PlaceholderProblem::Chmod(e))),
            }
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let dir = match openat(&parent, name.as_c_str(), flags, Mode::empty()) {
            Ok(dir) => dir,
            Err(Errno::ENOENT) => continue,
            // Another run's placeholder before its mode is set: wait for it.
            Err(Errno::EACCES) if !created => {
                pause();
                continue;
            }
            Err(e) => {
                return Err(error(path, PlaceholderProblem::NotADirectory(e)));
            }
        };
        // SAFETY: flock on a descriptor this function owns. The lock lives with the open
        // file description, which the janitor later shares (nix's Flock would own it).
        if unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_SH) } != 0 {
            return Err(error(path, PlaceholderProblem::Flock(Errno::last())));
        }
        let locked = fstat(&dir).map_err(|e| error(path, PlaceholderProblem::Stat(e)))?;
        if !still_named(&parent, &name, &locked) {
            continue;
        }
        if locked.st_mode & 0o7777 != PLACEHOLDER_MODE && !created && is_empty(&dir) {
            pause();
            continue;
        }
        if locked.st_mode & 0o7777 != PLACEHOLDER_MODE || !is_empty(&dir) {
            return Err(error(path, PlaceholderProblem::Replaced));
        }
        return Ok(Held {
            parent,
            name,
            dir,
            created,
        });
    }
    Err(error(path, PlaceholderProblem::Contended))
}

/// Sets [`PLACEHOLDER_MODE`] on the directory just created (never following a symlink).
fn chmod_placeholder(parent: &OwnedFd, name: &CString) -> io::Result<()> {
    // SAFETY: a plain system call on a valid descriptor and NUL-terminated name.
    let rc = unsafe {
        libc::fchmodat(
            parent.as_raw_fd(),
            name.as_ptr(),
            PLACEHOLDER_MODE,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    match rc {
        0 => Ok(()),
        // Older kernels refuse AT_SYMLINK_NOFOLLOW here; the name was created by mkdirat
        // just now and is checked again against the locked inode.
        _ if Errno::last() == Errno::ENOTSUP || Errno::last() == Errno::EINVAL => {
            // SAFETY: as above.
            let rc =
                unsafe { libc::fchmodat(parent.as_raw_fd(), name.as_ptr(), PLACEHOLDER_MODE, 0) };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
        _ => Err(io::Error::last_os_error()),
    }
}

/// Whether the name's mode is [`PLACEHOLDER_MODE`].
fn marked(parent: &OwnedFd, name: &CString) -> bool {
    fstatat(
        parent,
        name.as_c_str(),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .is_ok_and(|s| s.st_mode & 0o7777 == PLACEHOLDER_MODE)
}

/// A short wait before retrying, while another run finishes making a placeholder.
fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(2));
}

fn still_named(parent: &OwnedFd, name: &CString, locked: &FileStat) -> bool {
    fstatat(
        parent,
        name.as_c_str(),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .is_ok_and(|s| s.st_dev == locked.st_dev && s.st_ino == locked.st_ino)
}

fn is_empty(dir: &OwnedFd) -> bool {
    let Ok(copy) = dir.try_clone() else {
        return false;
    };
    let Ok(mut listing) = nix::dir::Dir::from_fd(copy) else {
        return false;
    };
    listing
        .iter()
        .all(|e| e.is_ok_and(|e| matches!(e.file_name().to_bytes(), b"." | b"..")))
}

/// What the janitor needs for one placeholder, as raw descriptors (it runs after `fork`).
#[derive(Clone, Copy)]
struct Raw {
    parent: RawFd,
    name: *const libc::c_char,
    dir: RawFd,
    dev: u64,
    ino: u64,
    created: bool,
    busy: bool,
}

/// The intermediate child of [`spawn_janitor`], reaped when dropped (it exits right after
/// its fork, so the wait is short).
struct Intermediate(libc::pid_t);

impl Drop for Intermediate {
    fn drop(&mut self) {
        let mut status = 0;
        // SAFETY: waits for this process's own child, which exits at once.
        while unsafe { libc::waitpid(self.0, &mut status, 0) } < 0 && Errno::last() == Errno::EINTR
        {
        }
    }
}

/// Forks the janitor (through an intermediate child, so it is nobody's zombie) holding
/// `held`; returns the write end of its wake pipe, the read end of its done pipe and the
/// intermediate child, to be reaped later.
fn spawn_janitor(held: Vec<Held>) -> io::Result<(OwnedFd, OwnedFd, Intermediate)> {
    let flags = OFlag::O_CLOEXEC;
    let (wake_r, wake_w) = nix::unistd::pipe2(flags)?;
    let (done_r, done_w) = nix::unistd::pipe2(flags)?;
    let mut raw = Vec::with_capacity(held.len());
    for h in &held {
        let st = fstat(&h.dir)?;
        raw.push(Raw {
            parent: h.parent.as_raw_fd(),
            name: h.name.as_ptr(),
            dir: h.dir.as_raw_fd(),
            dev: st.st_dev,
            ino: st.st_ino,
            created: h.created,
            busy: false,
        });
    }
    let mut keep: Vec<RawFd> = raw.iter().flat_map(|r| [r.parent, r.dir]).collect();
    keep.extend([wake_r.as_raw_fd(), done_w.as_raw_fd()]);
    keep.sort_unstable();
    let devnull = c"/dev/null";
    // SAFETY: after fork the children only make system calls (no allocation, no locks):
    // both `raw` and `keep` were built before the fork, and every descriptor they name is
    // open in this process until the fork returns.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        // SAFETY: the child of the fork above, under the same conditions.
        0 => unsafe {
            libc::setsid();
            if libc::fork() != 0 {
                libc::_exit(0);
            }
            let null = libc::open(devnull.as_ptr(), libc::O_RDWR);
            for std_fd in 0..3 {
                libc::dup2(null, std_fd);
            }
            close_all_but(&keep);
            janitor(&mut raw, wake_r.as_raw_fd(), done_w.as_raw_fd())
        },
        child => {
            // The janitor holds its own copies of the locked descriptors (and the locks).
            drop(held);
            drop(wake_r);
            drop(done_w);
            Ok((wake_w, done_r, Intermediate(child)))
        }
    }
}

/// Closes every descriptor from 3 up except those in `keep` (sorted).
///
/// # Safety
/// Only system calls: callable between fork and exec.
unsafe fn close_all_but(keep: &[RawFd]) {
    let mut from: libc::c_uint = 3;
    for &fd in keep {
        let fd = fd as libc::c_uint;
        if fd > from {
            // SAFETY: closes descriptors nobody in this process uses.
            unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0) };
        }
        from = from.max(fd + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, libc::c_uint::MAX, 0) };
}

/// The janitor: waits for end-of-file on `wake`, releases every placeholder, reports on
/// `done`, then waits for the busy ones it created; never returns.
///
/// # Safety
/// Only system calls: runs in a forked child of a possibly multithreaded process.
unsafe fn janitor(raw: &mut [Raw], wake: RawFd, done: RawFd) -> ! {
    let mut byte = 0u8;
    // SAFETY: (whole body) system calls on descriptors this process holds.
    unsafe {
        while libc::read(wake, (&raw mut byte).cast(), 1) < 0 && Errno::last() == Errno::EINTR {}
        for r in raw.iter_mut() {
            if libc::flock(r.dir, libc::LOCK_EX | libc::LOCK_NB) == 0 {
                remove_if_same(r);
            } else {
                r.busy = r.created;
            }
        }
        libc::write(done, (&raw const byte).cast(), 1);
        libc::close(done);
        for r in raw.iter() {
            if r.busy {
                while libc::flock(r.dir, libc::LOCK_EX) != 0 && Errno::last() == Errno::EINTR {}
                remove_if_same(r);
            }
        }
        libc::_exit(0)
    }
}

/// Removes the placeholder's name if it still refers to the locked inode, then unlocks.
///
/// # Safety
/// Only system calls.
unsafe fn remove_if_same(r: &Raw) {
    // SAFETY: fstatat writes into `st`; the descriptors and name are the janitor's.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstatat(r.parent, r.name, &mut st, libc::AT_SYMLINK_NOFOLLOW) == 0
            && st.st_dev == r.dev
            && st.st_ino == r.ino
        {
            libc::unlinkat(r.parent, r.name, libc::AT_REMOVEDIR);
        }
        // Never hold the exclusive lock while waiting for another one: a run acquiring
        // several placeholders holds shared locks while it waits (no cycle can form).
        libc::flock(r.dir, libc::LOCK_UN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placeholder_mark::looks_like_placeholder;
    use std::os::unix::fs::MetadataExt;

    fn wait_gone(path: &Path) -> bool {
        for _ in 0..200 {
            if std::fs::symlink_metadata(path).is_err() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn created_empty_directory_with_the_mark_and_removed_after_the_last_user() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".codex");
        let a = Placeholders::acquire(std::slice::from_ref(&p)).unwrap();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        assert!(looks_like_placeholder(&meta), "mode {:o}", meta.mode());
        let b = Placeholders::acquire(std::slice::from_ref(&p)).unwrap();
        a.release();
        assert!(p.is_dir(), "another run still holds it");
        b.release();
        assert!(!p.exists(), "the last user removes it");
    }

    #[test]
    fn creator_finishing_first_still_gets_it_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ghost");
        let a = Placeholders::acquire(std::slice::from_ref(&p)).unwrap();
        let b = Placeholders::acquire(std::slice::from_ref(&p)).unwrap();
        b.release();
        assert!(p.is_dir(), "the creator still holds it");
        a.release();
        assert!(wait_gone(&p));
    }

    #[test]
    fn a_killed_run_is_cleaned_up_by_its_janitor() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".agents");
        let a = Placeholders::acquire(std::slice::from_ref(&p)).unwrap();
        assert!(p.is_dir());
        drop(a); // what SIGKILL does to the wake pipe
        assert!(wait_gone(&p));
    }

    #[test]
    fn cleanup_after_a_parent_swap_removes_nothing_outside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("elsewhere/cache")).unwrap();
        let p = root.join("sub/cache");
        let a = Placeholders::acquire(std::slice::from_ref(&p)).unwrap();
        std::fs::rename(root.join("sub"), root.join("sub.x")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("sub")).unwrap();
        // The pre-existing empty directory looks like a placeholder too.
        std::fs::set_permissions(
            root.join("elsewhere/cache"),
            std::os::unix::fs::PermissionsExt::from_mode(PLACEHOLDER_MODE),
        )
        .unwrap();
        a.release();
        assert!(root.join("elsewhere/cache").is_dir(), "outside kept");
        assert!(!root.join("sub.x/cache").exists(), "its own removed");
    }

    #[test]
    fn real_content_at_the_name_fails_closed_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, "data").unwrap();
        let err = Placeholders::acquire(std::slice::from_ref(&p))
            .err()
            .unwrap();
        assert!(err.to_string().contains("changed during launch"), "{err}");
        std::fs::remove_file(&p).unwrap();
        std::fs::create_dir(&p).unwrap();
        assert!(Placeholders::acquire(std::slice::from_ref(&p)).is_err());
        assert!(p.is_dir(), "an ordinary directory is never taken over");
    }

    #[test]
    fn a_symlinked_parent_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let p = dir.path().join("link/ghost");
        assert!(Placeholders::acquire(std::slice::from_ref(&p)).is_err());
        assert!(!dir.path().join("real/ghost").exists());
    }
}
