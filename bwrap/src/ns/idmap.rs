//! uid/gid maps of a user namespace, written by the process inside it through the /proc fd
//! opened before the pivot.

use crate::error::{SetupError, failed};
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use std::os::fd::BorrowedFd;

fn write_proc_file(
    proc_fd: BorrowedFd,
    name: &str,
    content: &str,
) -> Result<(), nix::errno::Errno> {
    let fd = openat(
        proc_fd,
        name,
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    crate::fd::write_all(&fd, content.as_bytes())
}

/// One user namespace mapping: `inside` ids map to `outside` ids of the parent namespace.
pub(crate) struct IdMap {
    /// uid seen inside the namespace.
    pub(crate) inside_uid: u32,
    /// uid it stands for in the parent namespace.
    pub(crate) outside_uid: u32,
    /// gid seen inside the namespace.
    pub(crate) inside_gid: u32,
    /// gid it stands for in the parent namespace.
    pub(crate) outside_gid: u32,
}

/// Writes the maps of the caller's own user namespace. `deny_setgroups` is required before
/// an unprivileged gid map (and is inherited by nested namespaces).
pub(crate) fn write_own_maps(
    proc_fd: BorrowedFd,
    map: &IdMap,
    deny_setgroups: bool,
) -> Result<(), SetupError> {
    if deny_setgroups && let Err(e) = write_proc_file(proc_fd, "self/setgroups", "deny\n") {
        // Kernels before 3.19 have no setgroups file; nothing to deny there.
        if e != nix::errno::Errno::ENOENT {
            return Err(SetupError::sys("error writing to setgroups", e));
        }
    }
    let uid_line = format!("{} {} 1\n", map.inside_uid, map.outside_uid);
    write_proc_file(proc_fd, "self/uid_map", &uid_line).map_err(failed("setting up uid map"))?;
    let gid_line = format!("{} {} 1\n", map.inside_gid, map.outside_gid);
    write_proc_file(proc_fd, "self/gid_map", &gid_line).map_err(failed("setting up gid map"))
}

/// Writes `value` to a sysctl under /proc/sys through the /proc fd.
pub(crate) fn write_sysctl(
    proc_fd: BorrowedFd,
    name: &str,
    value: &str,
) -> Result<(), nix::errno::Errno> {
    write_proc_file(proc_fd, &format!("sys/{name}"), value)
}
