//! `--proc`: a fresh procfs in a new pid namespace, otherwise the host's `/proc` bound;
//! either way the kernel knobs under it are covered read-only.

use super::bind::{ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY};
use super::dest::Dest;
use super::fsutil::in_oldroot;
use super::mount::{MountPoint, bind_onto, make_mount_point};
use crate::error::SetupError;
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::unistd::{AccessFlags, access};
use std::ffi::OsStr;

/// Entries of /proc that must not stay writable in the sandbox.
const COVERED: &[&str] = &["sys", "sysrq-trigger", "irq", "bus"];

/// Mounts /proc at `dest` (given as `arg`).
pub(crate) fn mount_proc(
    dest: &Dest,
    arg: &OsStr,
    new_pid_ns: bool,
    fail_open: bool,
) -> Result<(), SetupError> {
    make_mount_point(dest, arg, MountPoint::Dir)?;
    if new_pid_ns {
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
        mount(Some("proc"), &dest.at, Some("proc"), flags, None::<&str>)
            .map_err(|e| SetupError::mount(format!("Can't mount proc on {}", dest.shown()), e))?;
    } else {
        let host_proc = in_oldroot(OsStr::new("/proc"));
        bind_onto(&host_proc, dest, ATTR_NOSUID | ATTR_NODEV, fail_open)?;
    }
    for name in COVERED {
        let entry = dest.join(name);
        match access(&entry.at, AccessFlags::W_OK) {
            Ok(()) => {
                let attrs = ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV;
                bind_onto(&entry.at, &entry, attrs, fail_open)?;
            }
            Err(Errno::EACCES | Errno::ENOENT | Errno::EROFS) => {}
            Err(e) => {
                return Err(SetupError::sys(
                    format!("Can't access {}", entry.shown()),
                    e,
                ));
            }
        }
    }
    Ok(())
}
