//! Running one setup operation inside the setup root (`/oldroot` = host, `/newroot` = sandbox).

use super::bind::{self, ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY, RemountError};
use super::fsutil::{copy_fd, ensure_dir, ensure_file, in_newroot, mkdir_parents, parent_mode};
use super::{HostContext, dev, overlay, procfs};
use crate::args::{BindKind, Op};
use crate::diag::{die, die_errno, die_mount, show};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, fchmod, fstat, lstat, stat};
use nix::unistd::{close, mkstemp, sethostname, symlinkat, unlink};
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Host path `src` as seen from the setup root.
fn in_oldroot(src: &OsStr) -> PathBuf {
    let mut path = PathBuf::from("/oldroot");
    path.push(OsStr::from_bytes(
        src.as_bytes().strip_prefix(b"/").unwrap_or(src.as_bytes()),
    ));
    path
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Creates the parents of the sandbox path `dest` (named `shown` in errors).
pub fn make_parents(dest: &Path, shown: &OsStr, perms: Option<u32>) {
    if let Err(e) = mkdir_parents(dest, parent_mode(perms)) {
        die_errno(
            &format!("Can't mkdir parents for {}", show(shown.as_bytes())),
            e,
        );
    }
}

/// What kind of mount point an op needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MountPoint {
    Dir,
    File,
}

/// Creates the mount point `dest` (sandbox path `shown`): parents with `parent_perms`, then
/// a directory (0755) or an empty file (0444) unless one is there. A symlink is refused,
/// since mounting on it would place the mount wherever it points.
pub fn make_mount_point(dest: &Path, shown: &OsStr, kind: MountPoint, parent_perms: Option<u32>) {
    make_parents(dest, shown, parent_perms);
    let shown = show(shown.as_bytes());
    match lstat(dest) {
        Ok(st) => {
            let fmt = st.st_mode & libc::S_IFMT;
            if fmt == libc::S_IFLNK {
                die(&format!("Can't mount on symlink destination {shown}"));
            }
            if kind == MountPoint::Dir && fmt != libc::S_IFDIR {
                die(&format!("Destination is not a directory {shown}"));
            }
            if kind == MountPoint::File && fmt == libc::S_IFDIR {
                die(&format!("Destination is not a file {shown}"));
            }
        }
        Err(_) => {
            let created = match kind {
                MountPoint::Dir => ensure_dir(dest, 0o755),
                MountPoint::File => ensure_file(dest, 0o444),
            };
            if let Err(e) = created {
                die_errno(&format!("Can't create file {shown}"), e);
            }
        }
    }
}

/// The mount point kind matching the host source `src`.
fn mount_point_for(src: &Path) -> MountPoint {
    let st =
        stat(src).unwrap_or_else(|e| die_errno(&format!("Can't get type of source {}", p(src)), e));
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        MountPoint::Dir
    } else {
        MountPoint::File
    }
}

/// Binds `src` (a setup-root path) onto `dest` with `attrs`, dying with upstream's message.
pub fn bind_or_die(src: &Path, dest: &Path, attrs: u64) {
    if let Err(e) = bind::bind(src, dest, attrs) {
        die_mount(&format!("Can't bind mount {} on {}", p(src), p(dest)), e);
    }
}

fn bind_attrs(kind: BindKind) -> u64 {
    match kind {
        BindKind::ReadWrite => ATTR_NOSUID | ATTR_NODEV,
        BindKind::ReadOnly => ATTR_NOSUID | ATTR_NODEV | ATTR_RDONLY,
        BindKind::Devices => ATTR_NOSUID,
    }
}

/// Mounts a tmpfs on `dest` with `mode` and an optional size.
pub fn mount_tmpfs(dest: &Path, mode: u32, size: Option<u64>) {
    let mut options = format!("mode=0{mode:o}");
    if let Some(size) = size {
        options.push_str(&format!(",size={size}"));
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if let Err(e) = mount(
        Some("tmpfs"),
        dest,
        Some("tmpfs"),
        flags,
        Some(options.as_str()),
    ) {
        die_mount(&format!("Can't mount tmpfs on {}", p(dest)), e);
    }
}

/// Creates a symlink, accepting an identical existing one.
pub fn make_symlink(target: &OsStr, dest: &Path, shown: &OsStr) {
    match symlinkat(target, nix::fcntl::AT_FDCWD, dest) {
        Ok(()) => {}
        Err(Errno::EEXIST) => match std::fs::read_link(dest) {
            Ok(existing) if existing.as_os_str() == target => {}
            Ok(existing) => die(&format!(
                "Can't make symlink at {}: existing destination is {}",
                show(shown.as_bytes()),
                existing.display()
            )),
            Err(_) => die(&format!(
                "Can't make symlink at {}: destination exists and is not a symlink",
                show(shown.as_bytes())
            )),
        },
        Err(e) => die_errno(
            &format!("Can't make symlink at {}", show(shown.as_bytes())),
            e,
        ),
    }
}

fn write_data_file(fd: RawFd, dest: &Path, shown: &OsStr, perms: u32) {
    let flags =
        OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_TRUNC | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    let out = open(dest, flags, Mode::from_bits_truncate(perms)).unwrap_or_else(|e| {
        die_errno(
            &format!("Can't create file at {}", show(shown.as_bytes())),
            e,
        )
    });
    if let Err(e) = copy_fd(fd, out.as_raw_fd()) {
        die_errno(
            &format!("Can't write data to file {}", show(shown.as_bytes())),
            e,
        );
    }
    let _ = close(fd);
}

fn bind_data(fd: RawFd, dest: &Path, shown: &OsStr, perms: u32, read_only: bool) {
    let (tmp_fd, tmp_path) = mkstemp("/bindfileXXXXXX")
        .unwrap_or_else(|e| die_errno("Can't create tempfile for data", e));
    if let Err(e) = fchmod(&tmp_fd, Mode::from_bits_truncate(perms)) {
        die_errno(&format!("Can't set permissions on {}", p(&tmp_path)), e);
    }
    if let Err(e) = copy_fd(fd, tmp_fd.as_raw_fd()) {
        die_errno(&format!("Can't write data to file {}", p(&tmp_path)), e);
    }
    let _ = close(fd);
    make_parents(dest, shown, None);
    if let Err(e) = ensure_file(dest, 0o444) {
        die_errno(
            &format!("Can't create file at {}", show(shown.as_bytes())),
            e,
        );
    }
    let ro = if read_only { ATTR_RDONLY } else { 0 };
    bind_or_die(&tmp_path, dest, ATTR_NOSUID | ATTR_NODEV | ro);
    let _ = unlink(&tmp_path);
}

fn bind_fd(fd: RawFd, resolved: &OsStr, dest: &Path, shown: &OsStr, read_only: bool) {
    let src = in_oldroot(resolved);
    make_mount_point(dest, shown, mount_point_for(&src), None);
    let ro = if read_only { ATTR_RDONLY } else { 0 };
    bind_or_die(&src, dest, ATTR_NOSUID | ATTR_NODEV | ro);
    let same = match (fstat(super::fsutil::borrow(fd)), lstat(dest)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    };
    if !same {
        die("Race condition binding dirfd");
    }
    let _ = close(fd);
}

/// Runs `op` (sources already resolved) in the setup root.
pub fn run(op: &Op, host: &HostContext) {
    match op {
        Op::Bind {
            src, dest, kind, ..
        } => {
            let (src, target) = (in_oldroot(src), in_newroot(dest));
            make_mount_point(&target, dest, mount_point_for(&src), None);
            bind_or_die(&src, &target, bind_attrs(*kind));
        }
        Op::BindFd {
            fd,
            dest,
            read_only,
            resolved,
        } => bind_fd(*fd, resolved, &in_newroot(dest), dest, *read_only),
        Op::RemountRo { dest } => {
            let target = in_newroot(dest);
            match bind::remount_read_only(&target) {
                Ok(()) => {}
                Err(RemountError::NotMountPoint) => die(&format!(
                    "Can't remount readonly on {0}: Unable to find \"{0}\" in mount table",
                    p(&target)
                )),
                Err(RemountError::Sys(e)) => {
                    die_mount(&format!("Can't remount readonly on {}", p(&target)), e)
                }
            }
        }
        Op::Proc { dest } => procfs::mount_proc(&in_newroot(dest), dest, host.new_pid_ns),
        Op::Dev { dest } => dev::mount_dev(&in_newroot(dest), dest, host.stdout_tty.as_deref()),
        Op::Tmpfs { dest, perms, size } => {
            let target = in_newroot(dest);
            make_mount_point(&target, dest, MountPoint::Dir, *perms);
            mount_tmpfs(&target, perms.unwrap_or(0o755), *size);
        }
        Op::Mqueue { dest } => {
            let target = in_newroot(dest);
            make_parents(&target, dest, None);
            if let Err(e) = ensure_dir(&target, 0o755) {
                die_errno(&format!("Can't mkdir {}", show(dest.as_bytes())), e);
            }
            if let Err(e) = mount(
                Some("mqueue"),
                &target,
                Some("mqueue"),
                MsFlags::empty(),
                None::<&str>,
            ) {
                die_mount(&format!("Can't mount mqueue on {}", p(&target)), e);
            }
        }
        Op::Dir { dest, perms } => {
            let target = in_newroot(dest);
            make_parents(&target, dest, *perms);
            if let Err(e) = ensure_dir(&target, perms.unwrap_or(0o755)) {
                die_errno(&format!("Can't mkdir {}", show(dest.as_bytes())), e);
            }
        }
        Op::File { fd, dest, perms } => {
            let target = in_newroot(dest);
            make_parents(&target, dest, *perms);
            write_data_file(*fd, &target, dest, perms.unwrap_or(0o666));
        }
        Op::BindData {
            fd,
            dest,
            perms,
            read_only,
        } => bind_data(
            *fd,
            &in_newroot(dest),
            dest,
            perms.unwrap_or(0o600),
            *read_only,
        ),
        Op::Symlink { target, dest } => {
            let link = in_newroot(dest);
            make_parents(&link, dest, None);
            make_symlink(target, &link, dest);
        }
        Op::Chmod { dest, mode } => {
            let target = in_newroot(dest);
            if let Err(e) = nix::sys::stat::fchmodat(
                nix::fcntl::AT_FDCWD,
                &target,
                Mode::from_bits_truncate(*mode),
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            ) {
                die_errno(
                    &format!("Can't chmod 0{:o} {}", mode, show(dest.as_bytes())),
                    e,
                );
            }
        }
        Op::Hostname { name } => {
            if let Err(e) = sethostname(name) {
                die_errno(
                    &format!("Can't set hostname to {}", show(name.as_bytes())),
                    e,
                );
            }
        }
        Op::Overlay {
            sources,
            kind,
            dest,
        } => {
            let target = in_newroot(dest);
            make_mount_point(&target, dest, MountPoint::Dir, None);
            overlay::mount_overlay(sources, kind, &target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_sources_are_reached_through_oldroot() {
        assert_eq!(
            in_oldroot(OsStr::new("/usr/bin")),
            Path::new("/oldroot/usr/bin")
        );
        assert_eq!(in_oldroot(OsStr::new("/")), Path::new("/oldroot/"));
    }
}
