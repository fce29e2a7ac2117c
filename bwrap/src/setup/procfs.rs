//! `--proc`: a fresh procfs in a new pid namespace, otherwise the host's `/proc` bound;
//! either way the kernel knobs under it are covered read-only.

use super::bind::{ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY};
use super::ops::{MountPoint, bind_or_die, make_mount_point};
use crate::diag::{die_errno, die_mount};
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::unistd::{AccessFlags, access};
use std::ffi::OsStr;
use std::path::Path;

/// Entries of /proc that must not stay writable in the sandbox.
const COVERED: &[&str] = &["sys", "sysrq-trigger", "irq", "bus"];

/// Mounts /proc at `target` (sandbox path `dest`).
pub fn mount_proc(target: &Path, dest: &OsStr, new_pid_ns: bool) {
    make_mount_point(target, dest, MountPoint::Dir, None);
    if new_pid_ns {
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
        if let Err(e) = mount(Some("proc"), target, Some("proc"), flags, None::<&str>) {
            die_mount(&format!("Can't mount proc on {}", target.display()), e);
        }
    } else {
        bind_or_die(Path::new("/oldroot/proc"), target, ATTR_NOSUID | ATTR_NODEV);
    }
    for name in COVERED {
        let path = target.join(name);
        match access(&path, AccessFlags::W_OK) {
            Ok(()) => bind_or_die(&path, &path, ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV),
            Err(Errno::EACCES | Errno::ENOENT | Errno::EROFS) => {}
            Err(e) => die_errno(&format!("Can't access {}", path.display()), e),
        }
    }
}
