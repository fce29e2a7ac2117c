//! Destinations inside the sandbox root, resolved as if `/newroot` were `/`.
//!
//! Every component of a destination's parent is opened with `openat2(RESOLVE_IN_ROOT)`
//! relative to `/newroot`, so symlinks (absolute ones and `..` included) can never lead a
//! setup operation out of the sandbox root; missing parents are created on the way. The
//! op then runs with the resolved parent as working directory on the last component.

use crate::diag::show;
use crate::error::SetupError;
use nix::errno::Errno;
use nix::sys::stat::Mode;
use nix::sys::stat::mkdirat;
use nix::unistd::fchdir;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `openat2(dirfd, path, O_PATH|O_CLOEXEC|extra, RESOLVE_IN_ROOT)`.
/// `ENOSYS` means a kernel without openat2 (see [`lookup_error`]).
pub(crate) fn open_in_root(
    root: &OwnedFd,
    path: &[u8],
    extra: libc::c_int,
) -> Result<OwnedFd, Errno> {
    let cpath = CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: an all-zero open_how is valid; the fields are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC | extra) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT;
    // SAFETY: `cpath` is NUL-terminated and `how` is an open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            std::os::fd::AsRawFd::as_raw_fd(root),
            cpath.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The error for a failed lookup in the root: `message: strerror(errno)`, or the refusal of
/// a kernel without openat2 (no fallback may resolve a destination outside the root).
pub(crate) fn lookup_error(message: String, errno: Errno) -> SetupError {
    if errno == Errno::ENOSYS {
        SetupError::msg(
            "resolving destinations inside the sandbox root needs openat2 (Linux 5.6 or later)",
        )
    } else {
        SetupError::sys(message, errno)
    }
}

/// A destination of a setup op.
pub(crate) struct Dest {
    /// The resolved parent directory, kept open while the op runs.
    _parent: Option<OwnedFd>,
    /// Path for syscalls, relative to the working directory (the resolved parent).
    pub(crate) at: PathBuf,
    /// The destination as given on the command line, for messages.
    pub(crate) shown: PathBuf,
}

impl Dest {
    /// Resolves the parent of `dest` in `root`, creating missing directories with `mode`,
    /// and makes it the working directory.
    pub(crate) fn resolve(root: &OwnedFd, dest: &OsStr, mode: u32) -> Result<Dest, SetupError> {
        let shown = PathBuf::from(dest);
        let parts: Vec<&[u8]> = dest
            .as_bytes()
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect();
        let Some((last, parents)) = parts.split_last() else {
            enter(root.as_fd(), &shown)?;
            return Ok(Dest {
                _parent: None,
                at: PathBuf::from("."),
                shown,
            });
        };
        let parent = open_parents(root, parents, mode).map_err(|e| {
            lookup_error(
                format!("Can't mkdir parents for {}", show(dest.as_bytes())),
                e,
            )
        })?;
        enter(parent.as_fd(), &shown)?;
        Ok(Dest {
            _parent: Some(parent),
            at: PathBuf::from(OsStr::from_bytes(last)),
            shown,
        })
    }

    /// The entry `name` inside this destination (which must be a directory).
    pub(crate) fn join(&self, name: &str) -> Dest {
        Dest {
            _parent: None,
            at: self.at.join(name),
            shown: self.shown.join(name),
        }
    }

    /// The destination as given, for messages.
    pub(crate) fn shown(&self) -> String {
        self.shown.display().to_string()
    }
}

fn enter(dir: std::os::fd::BorrowedFd, shown: &Path) -> Result<(), SetupError> {
    fchdir(dir)
        .map_err(|e| SetupError::sys(format!("Can't enter the parent of {}", shown.display()), e))
}

/// Opens the parent chain in `root`: in one lookup when it exists (the usual case, which
/// keeps a run with many masks linear in their depth), else one component at a time,
/// creating the missing ones.
fn open_parents(root: &OwnedFd, parents: &[&[u8]], mode: u32) -> Result<OwnedFd, Errno> {
    if !parents.is_empty() {
        match open_in_root(root, &parents.join(&b'/'), libc::O_DIRECTORY) {
            Err(Errno::ENOENT) => {}
            found => return found,
        }
    }
    let mut current = root
        .try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))?;
    for depth in 0..parents.len() {
        let prefix = parents[..=depth].join(&b'/');
        current = match open_in_root(root, &prefix, libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                match mkdirat(
                    current.as_fd(),
                    OsStr::from_bytes(parents[depth]),
                    Mode::from_bits_truncate(mode),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                open_in_root(root, &prefix, libc::O_DIRECTORY)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(current)
}
