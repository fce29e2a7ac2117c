//! `--dev`: a minimal `/dev` on a tmpfs.

use super::bind::ATTR_NOSUID;
use super::dest::Dest;
use super::fsutil::{ensure_file, in_oldroot};
use super::mount::{MountPoint, bind_onto, make_mount_point, make_symlink, mount_tmpfs};
use crate::error::SetupError;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::Mode;
use nix::unistd::mkdir;
use std::ffi::OsStr;
use std::path::Path;

/// Device nodes bound from the host, devices allowed.
const NODES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Symlinks every `/dev` has.
const LINKS: &[(&str, &str)] = &[
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("fd", "/proc/self/fd"),
    ("core", "/proc/kcore"),
];

fn bind_device(host: &Path, node: &Dest, fail_open: bool) -> Result<(), SetupError> {
    ensure_file(&node.at, 0o444)
        .map_err(|e| SetupError::sys(format!("Can't create file {}", node.shown()), e))?;
    bind_onto(host, node, ATTR_NOSUID, fail_open)
}

/// Builds the new `/dev` at `dest` (given as `arg`); `tty` is the caller's terminal on
/// stdout, exposed as `console`.
pub(crate) fn mount_dev(
    dest: &Dest,
    arg: &OsStr,
    tty: Option<&Path>,
    fail_open: bool,
) -> Result<(), SetupError> {
    make_mount_point(dest, arg, MountPoint::Dir)?;
    mount_tmpfs(dest, 0o755, None)?;
    let host_dev = in_oldroot(OsStr::new("/dev"));
    for node in NODES {
        bind_device(&host_dev.join(node), &dest.join(node), fail_open)?;
    }
    for (name, to) in LINKS {
        let link = dest.join(name);
        make_symlink(OsStr::new(to), &link, link.shown.as_os_str())?;
    }
    for dir in ["shm", "pts"] {
        let sub = dest.join(dir);
        mkdir(&sub.at, Mode::from_bits_truncate(0o755))
            .map_err(|e| SetupError::sys(format!("Can't create {}", sub.shown()), e))?;
    }
    let pts = dest.join("pts");
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    let options = "newinstance,ptmxmode=0666,mode=620";
    mount(
        Some("devpts"),
        &pts.at,
        Some("devpts"),
        flags,
        Some(options),
    )
    .map_err(|e| SetupError::mount(format!("Can't mount devpts on {}", pts.shown()), e))?;
    let ptmx = dest.join("ptmx");
    make_symlink(OsStr::new("pts/ptmx"), &ptmx, ptmx.shown.as_os_str())?;
    if let Some(tty) = tty {
        bind_device(
            &in_oldroot(tty.as_os_str()),
            &dest.join("console"),
            fail_open,
        )?;
    }
    Ok(())
}
