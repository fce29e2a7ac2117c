//! Small file-system helpers used while building the sandbox root.

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, SFlag, stat};
use nix::unistd::mkdir;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where the sandbox root is assembled during setup.
pub(crate) const NEWROOT: &str = "/newroot";

/// Where the host root is seen from the setup root.
pub(crate) const OLDROOT: &str = "/oldroot";

/// Host path `src` as seen from the setup root.
pub(crate) fn in_oldroot(src: &OsStr) -> PathBuf {
    let mut path = PathBuf::from(OLDROOT);
    path.push(OsStr::from_bytes(
        src.as_bytes().strip_prefix(b"/").unwrap_or(src.as_bytes()),
    ));
    path
}

/// Maps a sandbox path to its place under `/newroot` (leading slashes dropped; not resolved).
pub(crate) fn in_newroot(dest: &OsStr) -> PathBuf {
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

/// Whether `path` is a directory (following symlinks).
pub(crate) fn is_dir(path: &Path) -> bool {
    stat(path)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// Mode for parent directories created for an op with `perms`: 0755, minus group access if
/// `perms` grants the group nothing, minus other access if it grants others nothing.
pub(crate) fn parent_mode(perms: Option<u32>) -> u32 {
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
pub(crate) fn ensure_dir(path: &Path, mode: u32) -> Result<(), Errno> {
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
pub(crate) fn ensure_file(path: &Path, mode: u32) -> Result<(), Errno> {
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

    #[test]
    fn host_sources_are_reached_through_oldroot() {
        assert_eq!(
            in_oldroot(OsStr::new("/usr/bin")),
            Path::new("/oldroot/usr/bin")
        );
        assert_eq!(in_oldroot(OsStr::new("/")), Path::new("/oldroot/"));
    }
}
