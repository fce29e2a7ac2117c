//! Bind mounts with per-submount flags, in time linear in the number of binds.
//!
//! With the new mount API (Linux ≥ 5.12) a bind is `open_tree(OPEN_TREE_CLONE|AT_RECURSIVE)`,
//! `mount_setattr(AT_RECURSIVE)` adding nosuid/nodev/rdonly to every mount of the copied
//! tree (flags only get added, so flags locked by a less privileged namespace are kept), then
//! `move_mount` onto the destination. No mount table is read. On older kernels the
//! classic `mount(MS_BIND|MS_REC)` plus a remount of each submount is used instead.

use super::fsutil::OLDROOT;
use super::mountinfo;
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// `MOUNT_ATTR_*` bits of `struct mount_attr`.
pub(crate) const ATTR_RDONLY: u64 = 0x1;
/// No set-user-id or file capabilities on exec.
pub(crate) const ATTR_NOSUID: u64 = 0x2;
/// No device nodes.
pub(crate) const ATTR_NODEV: u64 = 0x4;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// Set once the kernel answered ENOSYS to the new mount API.
static LEGACY: AtomicBool = AtomicBool::new(false);

/// Uses the classic `mount(2)` path even where the new mount API exists.
pub(crate) fn force_legacy() {
    LEGACY.store(true, Ordering::Relaxed);
}

/// Whether a failure to apply flags may be tolerated (after warning about it): only with
/// `fail_open` (`--not-a-security-boundary`).
fn tolerate(fail_open: bool, what: &Path, errno: Errno) -> bool {
    let tolerated = fail_open && errno != Errno::ENOSYS;
    if tolerated {
        crate::diag::warn(&format!(
            "Unable to apply mount flags on {}: {}",
            what.display(),
            crate::error::strerror(errno)
        ));
    }
    tolerated
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cpath(path: &Path) -> Result<CString, Errno> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// A copy of the mount tree at `src`, or at `opened` (a descriptor on it) when given.
fn open_tree(opened: Option<BorrowedFd>, src: &Path) -> Result<OwnedFd, Errno> {
    let mut flags = OPEN_TREE_CLONE | AT_RECURSIVE | libc::O_CLOEXEC as libc::c_uint;
    let (dirfd, path) = match opened {
        Some(fd) => {
            flags |= libc::AT_EMPTY_PATH as libc::c_uint;
            (fd.as_raw_fd(), CString::default())
        }
        None => (libc::AT_FDCWD, cpath(src)?),
    };
    // SAFETY: `path` is a valid NUL-terminated path; open_tree returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) };
    Errno::result(fd)?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `mount_setattr` on `fd`+`path` adding `attrs`.
fn setattr(dirfd: i32, path: &CString, flags: libc::c_uint, attrs: u64) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: attrs,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` is NUL-terminated and `attr` is a mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

fn move_mount(tree: &OwnedFd, dest: &Path) -> Result<(), Errno> {
    let dest = cpath(dest)?;
    let flags = MOVE_MOUNT_F_EMPTY_PATH;
    // SAFETY: the paths are NUL-terminated; `tree` is a detached mount tree fd we own.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            dest.as_ptr(),
            flags,
        )
    };
    Errno::result(ret).map(drop)
}

/// Recursively binds `src` onto `dest`, adding `attrs` (`ATTR_*`) to every mount. With
/// `fail_open` (`--not-a-security-boundary`) a mount whose flags cannot be applied is kept,
/// with a warning.
pub(crate) fn bind(src: &Path, dest: &Path, attrs: u64, fail_open: bool) -> Result<(), Errno> {
    bind_opened(None, src, dest, attrs, fail_open)
}

/// [`bind`] from `opened`, a descriptor on `src` when the caller has one (no second path
/// lookup; `src` then only serves the fallback for old kernels).
pub(crate) fn bind_opened(
    opened: Option<BorrowedFd>,
    src: &Path,
    dest: &Path,
    attrs: u64,
    fail_open: bool,
) -> Result<(), Errno> {
    if !LEGACY.load(Ordering::Relaxed) {
        match bind_new_api(opened, src, dest, attrs, fail_open) {
            Err(Errno::ENOSYS) => LEGACY.store(true, Ordering::Relaxed),
            result => return result,
        }
    }
    bind_legacy(src, dest, attrs, fail_open)
}

fn bind_new_api(
    opened: Option<BorrowedFd>,
    src: &Path,
    dest: &Path,
    attrs: u64,
    fail_open: bool,
) -> Result<(), Errno> {
    let tree = open_tree(opened, src)?;
    let flags = libc::AT_EMPTY_PATH as u32 | AT_RECURSIVE;
    match setattr(tree.as_raw_fd(), &CString::default(), flags, attrs) {
        Err(e) if !tolerate(fail_open, dest, e) => return Err(e),
        _ => {}
    }
    move_mount(&tree, dest)
}

fn bind_legacy(src: &Path, dest: &Path, attrs: u64, fail_open: bool) -> Result<(), Errno> {
    mount(
        Some(src),
        dest,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )?;
    let real =
        std::fs::canonicalize(dest).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    for (index, mount_point) in mountinfo::mounts_below(&real)?.iter().enumerate() {
        match remount_keeping_flags(mount_point, attrs) {
            Err(Errno::EACCES) if index > 0 => {}
            Err(e) if tolerate(fail_open, mount_point, e) => {}
            result => result?,
        }
    }
    Ok(())
}

/// Remounts the single mount at `path`, keeping its flags and adding `attrs`.
fn remount_keeping_flags(path: &Path, attrs: u64) -> Result<(), Errno> {
    let mut flags = mountinfo::current_flags(path)?;
    if attrs & ATTR_RDONLY != 0 {
        flags |= MsFlags::MS_RDONLY;
    }
    if attrs & ATTR_NOSUID != 0 {
        flags |= MsFlags::MS_NOSUID;
    }
    if attrs & ATTR_NODEV != 0 {
        flags |= MsFlags::MS_NODEV;
    }
    let flags = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
}

/// Whether `dirfd`+`path` is the root of a mount.
fn is_mount_root(dirfd: i32, path: &str) -> Result<bool, Errno> {
    let cpath = CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: statx only writes into the zeroed buffer we pass.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `cpath` is NUL-terminated and `stx` is a valid statx buffer.
    let ret = unsafe { libc::statx(dirfd, cpath.as_ptr(), 0, 0, &mut stx) };
    Errno::result(ret)?;
    let flag = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if stx.stx_attributes_mask & flag == 0 {
        let real = legacy_path(path)?;
        return Ok(mountinfo::mounts_below(&real)?
            .first()
            .is_some_and(|m| *m == real));
    }
    Ok(stx.stx_attributes & flag != 0)
}

/// The setup-root path of a `self/fd/N` link relative to the /proc fd (old kernels only).
fn legacy_path(proc_relative: &str) -> Result<std::path::PathBuf, Errno> {
    std::fs::canonicalize(format!("{OLDROOT}/proc/{proc_relative}"))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Why `--remount-ro` failed.
pub(crate) enum RemountError {
    /// `path` is not a mount point.
    NotMountPoint,
    /// The remount itself failed.
    Sys(Errno),
}

/// `--remount-ro`: makes the one mount at `proc_fd`+`path` (a `self/fd/N` link relative to
/// the /proc fd) read-only, nosuid and nodev.
pub(crate) fn remount_read_only(proc_fd: BorrowedFd, path: &str) -> Result<(), RemountError> {
    let proc_fd = proc_fd.as_raw_fd();
    if !is_mount_root(proc_fd, path).map_err(RemountError::Sys)? {
        return Err(RemountError::NotMountPoint);
    }
    let attrs = ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV;
    if !LEGACY.load(Ordering::Relaxed) {
        let cpath = CString::new(path).map_err(|_| RemountError::Sys(Errno::EINVAL))?;
        match setattr(proc_fd, &cpath, 0, attrs) {
            Err(Errno::ENOSYS) => LEGACY.store(true, Ordering::Relaxed),
            result => return result.map_err(RemountError::Sys),
        }
    }
    let real = legacy_path(path).map_err(RemountError::Sys)?;
    remount_keeping_flags(&real, attrs).map_err(RemountError::Sys)
}
