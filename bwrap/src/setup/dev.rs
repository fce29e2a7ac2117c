//! `--dev`: a minimal `/dev` on a tmpfs.

use super::bind::ATTR_NOSUID;
use super::fsutil::ensure_file;
use super::ops::{MountPoint, bind_or_die, make_mount_point, make_symlink, mount_tmpfs};
use crate::diag::{die_errno, die_mount};
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

fn bind_device(host: &Path, node: &Path) {
    if let Err(e) = ensure_file(node, 0o444) {
        die_errno(&format!("Can't create file at {}", node.display()), e);
    }
    bind_or_die(host, node, ATTR_NOSUID);
}

/// Builds the new `/dev` at `target` (the sandbox path `dest`); `tty` is the caller's
/// terminal on stdout, exposed as `console`.
pub fn mount_dev(target: &Path, dest: &OsStr, tty: Option<&Path>) {
    make_mount_point(target, dest, MountPoint::Dir, None);
    mount_tmpfs(target, 0o755, None);
    for node in NODES {
        bind_device(&Path::new("/oldroot/dev").join(node), &target.join(node));
    }
    for (name, to) in LINKS {
        make_symlink(
            OsStr::new(to),
            &target.join(name),
            target.join(name).as_os_str(),
        );
    }
    for dir in ["shm", "pts"] {
        let path = target.join(dir);
        if let Err(e) = mkdir(&path, Mode::from_bits_truncate(0o755)) {
            die_errno(&format!("Can't create {}", path.display()), e);
        }
    }
    let pts = target.join("pts");
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    let options = "newinstance,ptmxmode=0666,mode=620";
    if let Err(e) = mount(Some("devpts"), &pts, Some("devpts"), flags, Some(options)) {
        die_mount(&format!("Can't mount devpts on {}", pts.display()), e);
    }
    let ptmx = target.join("ptmx");
    make_symlink(OsStr::new("pts/ptmx"), &ptmx, ptmx.as_os_str());
    if let Some(tty) = tty {
        let host = Path::new("/oldroot").join(tty.strip_prefix("/").unwrap_or(tty));
        bind_device(&host, &target.join("console"));
    }
}
