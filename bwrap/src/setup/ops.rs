//! Running one setup operation inside the setup root (`/oldroot` = host, `/newroot` =
//! sandbox). Destinations are resolved inside `/newroot` first ([`Dest`]).

use super::bind::{self, ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY, RemountError};
use super::dest::{Dest, open_in_root};
use super::fsutil::{copy_fd, ensure_dir, ensure_file, in_newroot, parent_mode};
use super::{HostContext, dev, overlay, procfs};
use crate::args::{BindKind, Op};
use crate::diag::{die, die_errno, die_mount, show};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, fchmod, fstat, lstat, stat};
use nix::unistd::{close, mkstemp, sethostname, symlinkat, unlink};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
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

/// A setup-root path as the user knows it: host paths without the `/oldroot` prefix.
fn host_display(src: &Path) -> String {
    match src.strip_prefix("/oldroot") {
        Ok(rest) => Path::new("/").join(rest).display().to_string(),
        Err(_) => src.display().to_string(),
    }
}

/// What kind of mount point an op needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MountPoint {
    Dir,
    File,
}

/// Makes sure `dest` can be mounted on: a directory (0755) or an empty file (0444) is
/// created unless one is there. A symlink is refused, since mounting on it would place the
/// mount wherever it points.
pub fn make_mount_point(dest: &Dest, arg: &OsStr, kind: MountPoint) {
    let arg = show(arg.as_bytes());
    match lstat(&dest.at) {
        Ok(st) => {
            let fmt = st.st_mode & libc::S_IFMT;
            if fmt == libc::S_IFLNK {
                die(&format!("Can't mount on symlink destination {arg}"));
            }
            if kind == MountPoint::Dir && fmt != libc::S_IFDIR {
                die(&format!("Destination is not a directory {arg}"));
            }
            if kind == MountPoint::File && fmt == libc::S_IFDIR {
                die(&format!("Destination is not a file {arg}"));
            }
        }
        Err(_) => {
            let created = match kind {
                MountPoint::Dir => ensure_dir(&dest.at, 0o755),
                MountPoint::File => ensure_file(&dest.at, 0o444),
            };
            if let Err(e) = created {
                die_errno(&format!("Can't create file {arg}"), e);
            }
        }
    }
}

/// The mount point kind matching the host source `src`.
fn mount_point_for(src: &Path) -> MountPoint {
    kind_of(stat(src), src)
}

/// The mount point kind for a source of stat result `st`, dying if `src` has none.
fn kind_of(st: Result<nix::sys::stat::FileStat, Errno>, src: &Path) -> MountPoint {
    let st = st.unwrap_or_else(|e| {
        die_errno(
            &format!("Can't get type of source {}", host_display(src)),
            e,
        )
    });
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        MountPoint::Dir
    } else {
        MountPoint::File
    }
}

/// Host bind sources opened once (`O_PATH`) with their kind, for every bind of the same
/// source: a plan masking many files binds one empty file over each of them.
#[derive(Default)]
pub struct Sources {
    opened: HashMap<PathBuf, (OwnedFd, MountPoint)>,
}

impl Sources {
    /// `src` (a setup-root path) opened, and the mount point kind it needs.
    fn open(&mut self, src: &Path) -> (BorrowedFd<'_>, MountPoint) {
        let entry = self.opened.entry(src.to_path_buf()).or_insert_with(|| {
            let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
            let fd = open(src, flags, Mode::empty()).unwrap_or_else(|e| {
                die_errno(
                    &format!("Can't get type of source {}", host_display(src)),
                    e,
                )
            });
            let kind = kind_of(fstat(&fd), src);
            (fd, kind)
        });
        (entry.0.as_fd(), entry.1)
    }
}

/// Binds `src` (a setup-root path) onto `dest` with `attrs`, dying with upstream's message.
pub fn bind_or_die(src: &Path, dest: &Dest, attrs: u64) {
    if let Err(e) = bind::bind(src, &dest.at, attrs) {
        die_mount(
            &format!("Can't bind mount {} on {}", host_display(src), dest.shown()),
            e,
        );
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
pub fn mount_tmpfs(dest: &Dest, mode: u32, size: Option<u64>) {
    let mut options = format!("mode=0{mode:o}");
    if let Some(size) = size {
        options.push_str(&format!(",size={size}"));
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if let Err(e) = mount(
        Some("tmpfs"),
        &dest.at,
        Some("tmpfs"),
        flags,
        Some(options.as_str()),
    ) {
        die_mount(&format!("Can't mount tmpfs on {}", dest.shown()), e);
    }
}

/// Creates a symlink, accepting an identical existing one.
pub fn make_symlink(target: &OsStr, dest: &Dest, arg: &OsStr) {
    let arg = show(arg.as_bytes());
    match symlinkat(target, nix::fcntl::AT_FDCWD, &dest.at) {
        Ok(()) => {}
        Err(Errno::EEXIST) => match std::fs::read_link(&dest.at) {
            Ok(existing) if existing.as_os_str() == target => {}
            Ok(existing) => die(&format!(
                "Can't make symlink at {arg}: existing destination is {}",
                existing.display()
            )),
            Err(_) => die(&format!(
                "Can't make symlink at {arg}: destination exists and is not a symlink"
            )),
        },
        Err(e) => die_errno(&format!("Can't make symlink at {arg}"), e),
    }
}

fn write_data_file(fd: RawFd, dest: &Dest, arg: &OsStr, perms: u32) {
    let arg = show(arg.as_bytes());
    let flags = OFlag::O_CREAT
        | OFlag::O_WRONLY
        | OFlag::O_TRUNC
        | OFlag::O_CLOEXEC
        | OFlag::O_NOCTTY
        | OFlag::O_NOFOLLOW;
    let out = open(&dest.at, flags, Mode::from_bits_truncate(perms))
        .unwrap_or_else(|e| die_errno(&format!("Can't create file {arg}"), e));
    if let Err(e) = copy_fd(fd, out.as_raw_fd()) {
        die_errno(&format!("Can't write data to file {arg}"), e);
    }
    let _ = close(fd);
}

fn bind_data(fd: RawFd, dest: &Dest, arg: &OsStr, perms: u32, read_only: bool) {
    let shown = show(arg.as_bytes());
    let (tmp_fd, tmp_path) = mkstemp("/bindfileXXXXXX")
        .unwrap_or_else(|e| die_errno(&format!("Can't create tmpfile for {shown}"), e));
    if let Err(e) = fchmod(&tmp_fd, Mode::from_bits_truncate(perms)) {
        die_errno(
            &format!("Can't set mode 0{perms:o} on file to be used for {shown}"),
            e,
        );
    }
    if let Err(e) = copy_fd(fd, tmp_fd.as_raw_fd()) {
        die_errno(&format!("Can't write data to file {shown}"), e);
    }
    let _ = close(fd);
    make_mount_point(dest, arg, MountPoint::File);
    let ro = if read_only { ATTR_RDONLY } else { 0 };
    bind_or_die(&tmp_path, dest, ATTR_NOSUID | ATTR_NODEV | ro);
    let _ = unlink(&tmp_path);
}

fn bind_fd(fd: RawFd, resolved: &OsStr, dest: &Dest, arg: &OsStr, read_only: bool) {
    let src = in_oldroot(resolved);
    make_mount_point(dest, arg, mount_point_for(&src));
    let ro = if read_only { ATTR_RDONLY } else { 0 };
    bind_or_die(&src, dest, ATTR_NOSUID | ATTR_NODEV | ro);
    let same = match (fstat(super::fsutil::borrow(fd)), stat(&dest.at)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    };
    if !same {
        die("Race condition binding dirfd");
    }
    let _ = close(fd);
}

/// Opens the existing sandbox path `dest` (resolved in the root, following symlinks there).
fn open_existing(root: &OwnedFd, dest: &OsStr) -> Result<OwnedFd, Errno> {
    open_in_root(root, dest.as_bytes(), 0)
}

/// `/proc/self/fd/N`, relative to the /proc fd opened before the pivot.
fn fd_link(fd: &OwnedFd) -> String {
    format!("self/fd/{}", fd.as_raw_fd())
}

fn chmod_in_root(root: &OwnedFd, host: &HostContext, dest: &OsStr, mode: u32) {
    let shown = show(dest.as_bytes());
    let fd =
        open_existing(root, dest).unwrap_or_else(|e| die_errno(&format!("Can't open {shown}"), e));
    let proc_fd = super::fsutil::borrow(host.proc_fd);
    let follow = nix::sys::stat::FchmodatFlags::FollowSymlink;
    let mode_bits = Mode::from_bits_truncate(mode);
    if let Err(e) = nix::sys::stat::fchmodat(proc_fd, fd_link(&fd).as_str(), mode_bits, follow) {
        die_errno(&format!("Can't chmod 0{mode:o} {shown}"), e);
    }
}

fn remount_in_root(root: &OwnedFd, host: &HostContext, dest: &OsStr) {
    let shown = show(dest.as_bytes());
    let fd = open_existing(root, dest)
        .unwrap_or_else(|e| die_errno(&format!("Can't remount readonly on {shown}"), e));
    match bind::remount_read_only(host.proc_fd, &fd_link(&fd)) {
        Ok(()) => {}
        Err(RemountError::NotMountPoint) => die(&format!(
            "Can't remount readonly on {shown}: Unable to find \"{}\" in mount table",
            in_newroot(dest).display()
        )),
        Err(RemountError::Sys(e)) => die_mount(&format!("Can't remount readonly on {shown}"), e),
    }
}

/// The destination of an op that creates something, and the `--perms` its parents follow.
fn created_dest(op: &Op) -> Option<(&OsStr, Option<u32>)> {
    match op {
        Op::Bind { dest, .. }
        | Op::BindFd { dest, .. }
        | Op::Proc { dest }
        | Op::Dev { dest }
        | Op::Mqueue { dest }
        | Op::BindData { dest, .. }
        | Op::Symlink { dest, .. }
        | Op::Overlay { dest, .. } => Some((dest, None)),
        Op::Tmpfs { dest, perms, .. } | Op::Dir { dest, perms } | Op::File { dest, perms, .. } => {
            Some((dest, *perms))
        }
        Op::RemountRo { .. } | Op::Chmod { .. } | Op::Hostname { .. } => None,
    }
}

/// Whether `op` may mount over `/newroot` itself (or over the setup root above it): its
/// destination is the sandbox root (no components) or climbs with `..`. Only then must
/// `/newroot` be opened again for the next op; any other mount lands below it.
pub fn may_cover_root(op: &Op) -> bool {
    created_dest(op).is_some_and(|(dest, _)| {
        let mut parts = dest
            .as_bytes()
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .peekable();
        parts.peek().is_none() || parts.any(|c| c == b"..")
    })
}

/// Runs `op` (sources already resolved) in the setup root; `root` is `/newroot`.
pub fn run(op: &Op, host: &HostContext, root: &OwnedFd, sources: &mut Sources) {
    let Some((arg, perms)) = created_dest(op) else {
        match op {
            Op::RemountRo { dest } => remount_in_root(root, host, dest),
            Op::Chmod { dest, mode } => chmod_in_root(root, host, dest, *mode),
            Op::Hostname { name } => {
                if let Err(e) = sethostname(name) {
                    die_errno(
                        &format!("Can't set hostname to {}", show(name.as_bytes())),
                        e,
                    );
                }
            }
            _ => unreachable!("every other op has a destination"),
        }
        return;
    };
    let d = Dest::resolve(root, arg, parent_mode(perms));
    match op {
        Op::Bind { src, kind, .. } => {
            let src = in_oldroot(src);
            let (opened, point) = sources.open(&src);
            make_mount_point(&d, arg, point);
            if let Err(e) = bind::bind_opened(Some(opened), &src, &d.at, bind_attrs(*kind)) {
                die_mount(
                    &format!("Can't bind mount {} on {}", host_display(&src), d.shown()),
                    e,
                );
            }
        }
        Op::BindFd {
            fd,
            read_only,
            resolved,
            ..
        } => bind_fd(*fd, resolved, &d, arg, *read_only),
        Op::Proc { .. } => procfs::mount_proc(&d, arg, host.new_pid_ns),
        Op::Dev { .. } => dev::mount_dev(&d, arg, host.stdout_tty.as_deref()),
        Op::Tmpfs { perms, size, .. } => {
            make_mount_point(&d, arg, MountPoint::Dir);
            mount_tmpfs(&d, perms.unwrap_or(0o755), *size);
        }
        Op::Mqueue { .. } => {
            make_mount_point(&d, arg, MountPoint::Dir);
            if let Err(e) = mount(
                Some("mqueue"),
                &d.at,
                Some("mqueue"),
                MsFlags::empty(),
                None::<&str>,
            ) {
                die_mount(&format!("Can't mount mqueue on {}", d.shown()), e);
            }
        }
        Op::Dir { perms, .. } => {
            if let Err(e) = ensure_dir(&d.at, perms.unwrap_or(0o755)) {
                die_errno(&format!("Can't mkdir {}", show(arg.as_bytes())), e);
            }
        }
        Op::File { fd, perms, .. } => write_data_file(*fd, &d, arg, perms.unwrap_or(0o666)),
        Op::BindData {
            fd,
            perms,
            read_only,
            ..
        } => bind_data(*fd, &d, arg, perms.unwrap_or(0o600), *read_only),
        Op::Symlink { target, .. } => make_symlink(target, &d, arg),
        Op::Overlay { sources, kind, .. } => {
            make_mount_point(&d, arg, MountPoint::Dir);
            overlay::mount_overlay(sources, kind, &d);
        }
        Op::RemountRo { .. } | Op::Chmod { .. } | Op::Hostname { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_or_climbing_destinations_may_cover_the_root() {
        let tmpfs = |dest: &str| Op::Tmpfs {
            dest: dest.into(),
            perms: None,
            size: None,
        };
        for dest in ["/", "", "//", "/.", "./", "/a/..", "../x", "/a/../../b"] {
            assert!(may_cover_root(&tmpfs(dest)), "{dest}");
        }
        for dest in ["/a", "/a/b", "a/./b", "/..a", "/a../b"] {
            assert!(!may_cover_root(&tmpfs(dest)), "{dest}");
        }
        let remount = Op::RemountRo { dest: "/".into() };
        assert!(!may_cover_root(&remount), "a remount adds no mount");
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
