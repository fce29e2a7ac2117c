//! uid/gid maps of a user namespace, written by the process inside it through the /proc fd
//! opened before the pivot.

use crate::diag::die_errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, RawFd};

fn write_proc_file(proc_fd: RawFd, name: &str, content: &str) -> Result<(), nix::errno::Errno> {
    let fd = openat(
        crate::setup::fsutil::borrow(proc_fd),
        name,
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    crate::setup::fsutil::write_all(fd.as_raw_fd(), content.as_bytes())
}

/// One user namespace mapping: `inside` ids map to `outside` ids of the parent namespace.
pub struct IdMap {
    /// uid seen inside the namespace.
    pub inside_uid: u32,
    /// uid it stands for in the parent namespace.
    pub outside_uid: u32,
    /// gid seen inside the namespace.
    pub inside_gid: u32,
    /// gid it stands for in the parent namespace.
    pub outside_gid: u32,
}

/// Writes the maps of the caller's own user namespace. `deny_setgroups` is required before
/// an unprivileged gid map (and is inherited by nested namespaces).
pub fn write_own_maps(proc_fd: RawFd, map: &IdMap, deny_setgroups: bool) {
    if deny_setgroups && let Err(e) = write_proc_file(proc_fd, "self/setgroups", "deny\n") {
        // Kernels before 3.19 have no setgroups file; nothing to deny there.
        if e != nix::errno::Errno::ENOENT {
            die_errno("error writing to setgroups", e);
        }
    }
    let uid_line = format!("{} {} 1\n", map.inside_uid, map.outside_uid);
    if let Err(e) = write_proc_file(proc_fd, "self/uid_map", &uid_line) {
        die_errno("setting up uid map", e);
    }
    let gid_line = format!("{} {} 1\n", map.inside_gid, map.outside_gid);
    if let Err(e) = write_proc_file(proc_fd, "self/gid_map", &gid_line) {
        die_errno("setting up gid map", e);
    }
}

/// Writes `value` to a sysctl under /proc/sys through the /proc fd.
pub fn write_sysctl(proc_fd: RawFd, name: &str, value: &str) -> Result<(), nix::errno::Errno> {
    write_proc_file(proc_fd, &format!("sys/{name}"), value)
}
