//! Running one setup operation inside the setup root (`/oldroot` = host, `/newroot` =
//! sandbox). Destinations are resolved inside `/newroot` first ([`Dest`]).

use super::bind::{self, ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY, RemountError};
use super::dest::{Dest, lookup_error, open_in_root};
use super::fsutil::{ensure_dir, in_newroot, in_oldroot, parent_mode};
use super::mount::{
    MountPoint, bind_error, bind_onto, host_display, make_mount_point, make_symlink, mount_tmpfs,
};
use super::{HostContext, dev, overlay, procfs};
use crate::args::{BindKind, Op};
use crate::diag::show;
use crate::error::SetupError;
use crate::fd;
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, fchmod, fstat, stat};
use nix::unistd::{close, mkstemp, sethostname, unlink};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Host bind sources opened once (`O_PATH`) with their kind, for every bind of the same
/// source: a plan masking many files binds one empty file over each of them.
#[derive(Default)]
pub(crate) struct Sources {
    opened: HashMap<PathBuf, (OwnedFd, MountPoint)>,
}

impl Sources {
    /// `src` (a setup-root path) opened, and the mount point kind it needs.
    fn open(&mut self, src: &Path) -> Result<(BorrowedFd<'_>, MountPoint), SetupError> {
        let entry = match self.opened.entry(src.to_path_buf()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
                let fd = open(src, flags, Mode::empty()).map_err(|e| {
                    SetupError::sys(format!("Can't get type of source {}", host_display(src)), e)
                })?;
                let kind = MountPoint::of(fstat(&fd), src)?;
                entry.insert((fd, kind))
            }
        };
        Ok((entry.0.as_fd(), entry.1))
    }
}

fn bind_attrs(kind: BindKind) -> u64 {
    match kind {
        BindKind::ReadWrite => ATTR_NOSUID | ATTR_NODEV,
        BindKind::ReadOnly => ATTR_NOSUID | ATTR_NODEV | ATTR_RDONLY,
        BindKind::Devices => ATTR_NOSUID,
    }
}

/// Copies the data descriptor `fd` of an op into `out`, then closes `fd`.
fn copy_and_close(fd: RawFd, out: impl AsFd) -> Result<(), Errno> {
    // SAFETY: `fd` is a descriptor number from the command line, handed to bwrap for this
    // op to read and close; no Rust object of this process owns it, and it stays open
    // until the close below (a number that is not open makes the read fail with EBADF).
    let result = fd::copy(unsafe { BorrowedFd::borrow_raw(fd) }, out);
    let _ = close(fd);
    result
}

fn write_data_file(fd: RawFd, dest: &Dest, arg: &OsStr, perms: u32) -> Result<(), SetupError> {
    let arg = show(arg.as_bytes());
    let flags = OFlag::O_CREAT
        | OFlag::O_WRONLY
        | OFlag::O_TRUNC
        | OFlag::O_CLOEXEC
        | OFlag::O_NOCTTY
        | OFlag::O_NOFOLLOW;
    let out = open(&dest.at, flags, Mode::from_bits_truncate(perms))
        .map_err(|e| SetupError::sys(format!("Can't create file {arg}"), e))?;
    copy_and_close(fd, &out)
        .map_err(|e| SetupError::sys(format!("Can't write data to file {arg}"), e))
}

fn bind_data(
    fd: RawFd,
    dest: &Dest,
    arg: &OsStr,
    perms: u32,
    read_only: bool,
    fail_open: bool,
) -> Result<(), SetupError> {
    let shown = show(arg.as_bytes());
    let (tmp_fd, tmp_path) = mkstemp("/bindfileXXXXXX")
        .map_err(|e| SetupError::sys(format!("Can't create tmpfile for {shown}"), e))?;
    fchmod(&tmp_fd, Mode::from_bits_truncate(perms)).map_err(|e| {
        SetupError::sys(
            format!("Can't set mode 0{perms:o} on file to be used for {shown}"),
            e,
        )
    })?;
    copy_and_close(fd, &tmp_fd)
        .map_err(|e| SetupError::sys(format!("Can't write data to file {shown}"), e))?;
    make_mount_point(dest, arg, MountPoint::File)?;
    let ro = if read_only { ATTR_RDONLY } else { 0 };
    bind_onto(&tmp_path, dest, ATTR_NOSUID | ATTR_NODEV | ro, fail_open)?;
    let _ = unlink(&tmp_path);
    Ok(())
}

fn bind_fd(
    fd: RawFd,
    resolved: &OsStr,
    dest: &Dest,
    arg: &OsStr,
    read_only: bool,
    fail_open: bool,
) -> Result<(), SetupError> {
    let src = in_oldroot(resolved);
    make_mount_point(dest, arg, MountPoint::of(stat(&src), &src)?)?;
    let ro = if read_only { ATTR_RDONLY } else { 0 };
    bind_onto(&src, dest, ATTR_NOSUID | ATTR_NODEV | ro, fail_open)?;
    // SAFETY: `fd` is a descriptor number from the command line, handed to bwrap for this
    // op; no Rust object of this process owns it, and it stays open until the close below.
    let given = unsafe { BorrowedFd::borrow_raw(fd) };
    let same = match (fstat(given), stat(&dest.at)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    };
    if !same {
        return Err(SetupError::msg("Race condition binding dirfd"));
    }
    let _ = close(fd);
    Ok(())
}

/// Opens the existing sandbox path `dest` (resolved in the root, following symlinks there).
fn open_existing(root: &OwnedFd, dest: &OsStr) -> Result<OwnedFd, Errno> {
    open_in_root(root, dest.as_bytes(), 0)
}

/// `/proc/self/fd/N`, relative to the /proc fd opened before the pivot.
fn fd_link(fd: &OwnedFd) -> String {
    format!("self/fd/{}", fd.as_raw_fd())
}

fn chmod_in_root(
    root: &OwnedFd,
    host: &HostContext,
    dest: &OsStr,
    mode: u32,
) -> Result<(), SetupError> {
    let shown = show(dest.as_bytes());
    let fd =
        open_existing(root, dest).map_err(|e| lookup_error(format!("Can't open {shown}"), e))?;
    let follow = nix::sys::stat::FchmodatFlags::FollowSymlink;
    let mode_bits = Mode::from_bits_truncate(mode);
    nix::sys::stat::fchmodat(&host.proc_fd, fd_link(&fd).as_str(), mode_bits, follow)
        .map_err(|e| SetupError::sys(format!("Can't chmod 0{mode:o} {shown}"), e))
}

fn remount_in_root(root: &OwnedFd, host: &HostContext, dest: &OsStr) -> Result<(), SetupError> {
    let shown = show(dest.as_bytes());
    let fd = open_existing(root, dest)
        .map_err(|e| lookup_error(format!("Can't remount readonly on {shown}"), e))?;
    match bind::remount_read_only(host.proc_fd.as_fd(), &fd_link(&fd)) {
        Ok(()) => Ok(()),
        Err(RemountError::NotMountPoint) => Err(SetupError::msg(format!(
            "Can't remount readonly on {shown}: Unable to find \"{}\" in mount table",
            in_newroot(dest).display()
        ))),
        Err(RemountError::Sys(e)) => Err(SetupError::mount(
            format!("Can't remount readonly on {shown}"),
            e,
        )),
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
pub(crate) fn may_cover_root(op: &Op) -> bool {
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
pub(crate) fn run(
    op: &Op,
    host: &HostContext,
    root: &OwnedFd,
    sources: &mut Sources,
) -> Result<(), SetupError> {
    let fail_open = host.fail_open;
    let Some((arg, perms)) = created_dest(op) else {
        return match op {
            Op::RemountRo { dest } => remount_in_root(root, host, dest),
            Op::Chmod { dest, mode } => chmod_in_root(root, host, dest, *mode),
            Op::Hostname { name } => sethostname(name).map_err(|e| {
                SetupError::sys(
                    format!("Can't set hostname to {}", show(name.as_bytes())),
                    e,
                )
            }),
            _ => unreachable!("every other op has a destination"),
        };
    };
    let d = Dest::resolve(root, arg, parent_mode(perms))?;
    match op {
        Op::Bind { src, kind, .. } => {
            let src = in_oldroot(src);
            let (opened, point) = sources.open(&src)?;
            make_mount_point(&d, arg, point)?;
            bind::bind_opened(Some(opened), &src, &d.at, bind_attrs(*kind), fail_open)
                .map_err(|e| bind_error(&src, &d, e))
        }
        Op::BindFd {
            fd,
            read_only,
            resolved,
            ..
        } => bind_fd(*fd, resolved, &d, arg, *read_only, fail_open),
        Op::Proc { .. } => procfs::mount_proc(&d, arg, host.new_pid_ns, fail_open),
        Op::Dev { .. } => dev::mount_dev(&d, arg, host.stdout_tty.as_deref(), fail_open),
        Op::Tmpfs { perms, size, .. } => {
            make_mount_point(&d, arg, MountPoint::Dir)?;
            mount_tmpfs(&d, perms.unwrap_or(0o755), *size)
        }
        Op::Mqueue { .. } => {
            make_mount_point(&d, arg, MountPoint::Dir)?;
            mount(
                Some("mqueue"),
                &d.at,
                Some("mqueue"),
                MsFlags::empty(),
                None::<&str>,
            )
            .map_err(|e| SetupError::mount(format!("Can't mount mqueue on {}", d.shown()), e))
        }
        Op::Dir { perms, .. } => ensure_dir(&d.at, perms.unwrap_or(0o755))
            .map_err(|e| SetupError::sys(format!("Can't mkdir {}", show(arg.as_bytes())), e)),
        Op::File { fd, perms, .. } => write_data_file(*fd, &d, arg, perms.unwrap_or(0o666)),
        Op::BindData {
            fd,
            perms,
            read_only,
            ..
        } => bind_data(*fd, &d, arg, perms.unwrap_or(0o600), *read_only, fail_open),
        Op::Symlink { target, .. } => make_symlink(target, &d, arg),
        Op::Overlay { sources, kind, .. } => {
            make_mount_point(&d, arg, MountPoint::Dir)?;
            overlay::mount_overlay(sources, kind, &d)
        }
        Op::RemountRo { .. } | Op::Chmod { .. } | Op::Hostname { .. } => Ok(()),
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
}
