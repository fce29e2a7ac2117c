//! `--proc`: a fresh procfs in a new pid namespace, otherwise the host's `/proc` bound;
//! either way the kernel knobs under it are covered read-only.

use super::bind::{ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY};
use super::dest::Dest;
use super::ops::{MountPoint, bind_or_die, make_mount_point};
use crate::diag::{die_errno, die_mount};
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::unistd::{AccessFlags, access};
use std::ffi::OsStr;
use std::path::Path;

/// Entries of /proc that must not stay writable in the sandbox.
const COVERED: &[&str] = &["sys", "sysrq-trigger", "irq", "bus"];

/// Mounts /proc at `dest` (given as `arg`).
pub fn mount_proc(dest: &Dest, arg: &OsStr, new_pid_ns: bool) {
    make_mount_point(dest, arg, MountPoint::Dir);
    if new_pid_ns {
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
        if let Err(e) = mount(Some("proc"), &dest.at, Some("proc"), flags, None::<&str>) {
            die_mount(&format!("Can't mount proc on {}", dest.shown()), e);
        }
    } else {
        bind_or_die(Path::new("/oldroot/proc"), dest, ATTR_NOSUID | ATTR_NODEV);
    }
    for name in COVERED {
        let entry = dest.join(name);
        match access(&entry.at, AccessFlags::W_OK) {
            Ok(()) => bind_or_die(&entry.at, &entry, ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV),
            Err(Errno::EACCES | Errno::ENOENT | Errno::EROFS) => {}
            Err(e) => die_errno(&format!("Can't access {}", entry.shown()), e),
        }
    }
}
