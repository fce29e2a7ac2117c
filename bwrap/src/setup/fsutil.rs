//! Small file-system helpers used while building the sandbox root.

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, SFlag, stat};
use nix::unistd::mkdir;
use std::ffi::OsStr;
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where the sandbox root is assembled during setup.
pub const NEWROOT: &str = "/newroot";

/// Maps a sandbox path to its place under `/newroot` (leading slashes dropped; not resolved).
pub fn in_newroot(dest: &OsStr) -> PathBuf {
    let trimmed: &[u8] = {
        let b = dest.as_bytes();
        let start = b.iter().position(|c| *c != b'/').unwrap_or(b.len());
        &b[start..]
    };
    let mut path = PathBuf::from(NEWROOT);
    if !trimmed.is_empty() {
        path.push(OsStr::from_bytes(trimmed));
    }
    path
}

/// Reads `fd` until end of file, retrying on EINTR.
pub fn read_fd_to_end(fd: RawFd) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match nix::unistd::read(borrow(fd), &mut buf) {
            Ok(0) => return Ok(data),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `data` to `fd`, retrying on EINTR and short writes.
pub fn write_all(fd: RawFd, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match nix::unistd::write(borrow(fd), data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Borrows a raw fd number for a nix call.
pub fn borrow<'a>(fd: RawFd) -> BorrowedFd<'a> {
    // SAFETY: callers pass fds that stay open for the duration of the call they make.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Copies everything readable from `from` into `to`.
pub fn copy_fd(from: RawFd, to: RawFd) -> Result<(), Errno> {
    let mut buf = [0u8; 65536];
    loop {
        match nix::unistd::read(borrow(from), &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => write_all(to, &buf[..n])?,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether `path` is a directory (following symlinks).
pub fn is_dir(path: &Path) -> bool {
    stat(path)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// Mode for parent directories created for an op with `perms`: 0755, minus group access if
/// `perms` grants the group nothing, minus other access if it grants others nothing.
pub fn parent_mode(perms: Option<u32>) -> u32 {
    let Some(perms) = perms else { return 0o755 };
    let mut mode = 0o755;
    if perms & 0o070 == 0 {
        mode &= !0o050;
    }
    if perms & 0o007 == 0 {
        mode &= !0o005;
    }
    mode
}

/// Makes sure `path` is a directory, creating it with `mode` if missing (an existing
/// directory keeps its mode).
pub fn ensure_dir(path: &Path, mode: u32) -> Result<(), Errno> {
    if let Ok(st) = stat(path) {
        let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
        return if is_dir { Ok(()) } else { Err(Errno::ENOTDIR) };
    }
    match mkdir(path, Mode::from_bits_truncate(mode)) {
        Ok(()) => Ok(()),
        Err(Errno::EEXIST) if is_dir(path) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes sure `path` exists as a non-directory to mount a file on, creating an empty
/// file with `mode` if nothing is there.
pub fn ensure_file(path: &Path, mode: u32) -> Result<(), Errno> {
    if stat(path)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFDIR)
    {
        return Ok(());
    }
    let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    match open(path, flags, Mode::from_bits_truncate(mode)) {
        Ok(fd) => {
            drop(fd);
            Ok(())
        }
        Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(None, 0o755)]
    #[case(Some(0o1777), 0o755)]
    #[case(Some(0o644), 0o755)]
    #[case(Some(0o750), 0o750)]
    #[case(Some(0o710), 0o750)]
    #[case(Some(0o640), 0o750)]
    #[case(Some(0o700), 0o700)]
    #[case(Some(0o600), 0o700)]
    #[case(Some(0o705), 0o705)]
    #[case(Some(0o604), 0o705)]
    #[case(Some(0o000), 0o700)]
    fn parent_modes_follow_perms(#[case] perms: Option<u32>, #[case] want: u32) {
        assert_eq!(parent_mode(perms), want);
    }

    #[test]
    fn dest_paths_are_rooted_at_newroot() {
        assert_eq!(
            in_newroot(OsStr::new("//usr/lib")),
            Path::new("/newroot/usr/lib")
        );
        assert_eq!(in_newroot(OsStr::new("tmp")), Path::new("/newroot/tmp"));
        assert_eq!(in_newroot(OsStr::new("/")), Path::new("/newroot"));
    }
}
