//! What a destination gets, for the op queue and for `--dev` and `--proc` alike: a mount
//! point of the right kind, a bind from the setup root, a tmpfs, a symlink.

use super::bind;
use super::dest::Dest;
use super::fsutil::{OLDROOT, ensure_dir, ensure_file};
use crate::diag::show;
use crate::error::SetupError;
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{FileStat, lstat};
use nix::unistd::symlinkat;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What kind of mount point an op needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountPoint {
    Dir,
    File,
}

impl MountPoint {
    /// The mount point a source of stat result `st` needs; `src` (a setup-root path) names
    /// it in the message if it has none.
    pub(crate) fn of(st: Result<FileStat, Errno>, src: &Path) -> Result<MountPoint, SetupError> {
        let st = st.map_err(|e| {
            SetupError::sys(format!("Can't get type of source {}", host_display(src)), e)
        })?;
        Ok(if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            MountPoint::Dir
        } else {
            MountPoint::File
        })
    }
}

/// A setup-root path as the user knows it: host paths without the `/oldroot` prefix.
pub(crate) fn host_display(src: &Path) -> String {
    match src.strip_prefix(OLDROOT) {
        Ok(rest) => Path::new("/").join(rest).display().to_string(),
        Err(_) => src.display().to_string(),
    }
}

/// Makes sure `dest` can be mounted on: a directory (0755) or an empty file (0444) is
/// created unless one is there. A symlink is refused, since mounting on it would place the
/// mount wherever it points.
pub(crate) fn make_mount_point(
    dest: &Dest,
    arg: &OsStr,
    kind: MountPoint,
) -> Result<(), SetupError> {
    let arg = show(arg.as_bytes());
    match lstat(&dest.at) {
        Ok(st) => {
            let fmt = st.st_mode & libc::S_IFMT;
            if fmt == libc::S_IFLNK {
                return Err(SetupError::msg(format!(
                    "Can't mount on symlink destination {arg}"
                )));
            }
            if kind == MountPoint::Dir && fmt != libc::S_IFDIR {
                return Err(SetupError::msg(format!(
                    "Destination is not a directory {arg}"
                )));
            }
            if kind == MountPoint::File && fmt == libc::S_IFDIR {
                return Err(SetupError::msg(format!("Destination is not a file {arg}")));
            }
            Ok(())
        }
        Err(_) => {
            let created = match kind {
                MountPoint::Dir => ensure_dir(&dest.at, 0o755),
                MountPoint::File => ensure_file(&dest.at, 0o444),
            };
            created.map_err(|e| SetupError::sys(format!("Can't create file {arg}"), e))
        }
    }
}

/// Binds `src` (a setup-root path) onto `dest` with `attrs` (`bind::ATTR_*`), with
/// upstream's message on failure. `fail_open`: see [`bind::bind`].
pub(crate) fn bind_onto(
    src: &Path,
    dest: &Dest,
    attrs: u64,
    fail_open: bool,
) -> Result<(), SetupError> {
    bind::bind(src, &dest.at, attrs, fail_open).map_err(|e| bind_error(src, dest, e))
}

/// Upstream's message for a failed bind of `src` onto `dest`.
pub(crate) fn bind_error(src: &Path, dest: &Dest, errno: Errno) -> SetupError {
    SetupError::mount(
        format!("Can't bind mount {} on {}", host_display(src), dest.shown()),
        errno,
    )
}

/// Mounts a tmpfs on `dest` with `mode` and an optional size.
pub(crate) fn mount_tmpfs(dest: &Dest, mode: u32, size: Option<u64>) -> Result<(), SetupError> {
    let mut options = format!("mode=0{mode:o}");
    if let Some(size) = size {
        options.push_str(&format!(",size={size}"));
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(
        Some("tmpfs"),
        &dest.at,
        Some("tmpfs"),
        flags,
        Some(options.as_str()),
    )
    .map_err(|e| SetupError::mount(format!("Can't mount tmpfs on {}", dest.shown()), e))
}

/// Creates a symlink, accepting an identical existing one.
pub(crate) fn make_symlink(target: &OsStr, dest: &Dest, arg: &OsStr) -> Result<(), SetupError> {
    let arg = show(arg.as_bytes());
    match symlinkat(target, nix::fcntl::AT_FDCWD, &dest.at) {
        Ok(()) => Ok(()),
        Err(Errno::EEXIST) => match std::fs::read_link(&dest.at) {
            Ok(existing) if existing.as_os_str() == target => Ok(()),
            Ok(existing) => Err(SetupError::msg(format!(
                "Can't make symlink at {arg}: existing destination is {}",
                existing.display()
            ))),
            Err(_) => Err(SetupError::msg(format!(
                "Can't make symlink at {arg}: destination exists and is not a symlink"
            ))),
        },
        Err(e) => Err(SetupError::sys(format!("Can't make symlink at {arg}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_are_shown_without_oldroot() {
        assert_eq!(host_display(Path::new("/oldroot/usr/bin")), "/usr/bin");
        assert_eq!(host_display(Path::new("/oldroot")), "/");
        assert_eq!(host_display(Path::new("/bindfile1")), "/bindfile1");
    }
}
