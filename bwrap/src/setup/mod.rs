//! Building the sandbox's root file system: resolve sources on the host, pivot to a setup
//! tmpfs, run the op queue in argv order onto `/newroot`, then pivot into it so that
//! neither the old root nor the setup tmpfs stays visible.

mod bind;
mod dest;
mod dev;
pub mod fsutil;
mod mountinfo;
mod ops;
mod overlay;
mod procfs;
mod resolve;

pub use bind::{force_legacy, set_fail_open};
pub use resolve::resolve_sources;

use crate::args::Config;
use crate::diag::{die_errno, die_mount};
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, fchdir, mkdir, pivot_root};
use std::path::PathBuf;

/// Facts about the host gathered before the namespaces were entered.
pub struct HostContext {
    /// Whether `--proc` mounts a fresh procfs (a new pid namespace) or binds the host's.
    pub new_pid_ns: bool,
    /// `/proc` opened (`O_PATH`) before the pivot.
    pub proc_fd: std::os::fd::RawFd,
    /// The terminal on stdout, bound as `/dev/console` by `--dev`.
    pub stdout_tty: Option<PathBuf>,
}

/// Where the setup tmpfs is mounted before the first pivot.
const BASE: &str = "/tmp";

/// Runs the whole mount setup. Must run in a new mount namespace with CAP_SYS_ADMIN.
pub fn build_root(cfg: &Config, ops: &[crate::args::Op], host: &HostContext) {
    let rec_slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
    if let Err(e) = mount(None::<&str>, "/", None::<&str>, rec_slave, None::<&str>) {
        die_mount("Failed to make / slave", e);
    }
    let hidden = MsFlags::MS_NODEV | MsFlags::MS_NOSUID;
    if let Err(e) = mount(Some("tmpfs"), BASE, Some("tmpfs"), hidden, None::<&str>) {
        die_mount("Failed to mount tmpfs", e);
    }
    if let Err(e) = chdir(BASE) {
        die_errno(&format!("chdir {BASE}"), e);
    }
    let mut dirs = vec!["newroot".to_string(), "oldroot".to_string()];
    for n in 0..cfg.tmp_overlay_count() {
        dirs.push(overlay::tmp_upper(n).trim_start_matches('/').to_string());
        dirs.push(overlay::tmp_work(n).trim_start_matches('/').to_string());
    }
    for dir in &dirs {
        if let Err(e) = mkdir(dir.as_str(), Mode::from_bits_truncate(0o755)) {
            die_errno(&format!("Creating {dir} failed"), e);
        }
    }
    let rec_bind = MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_SILENT;
    if let Err(e) = mount(
        Some("newroot"),
        "newroot",
        None::<&str>,
        rec_bind,
        None::<&str>,
    ) {
        die_mount("setting up newroot bind", e);
    }
    if let Err(e) = pivot_root(BASE, "oldroot") {
        die_errno("pivot_root", e);
    }
    let _ = chdir("/");

    let mut sources = ops::Sources::default();
    let mut root = None;
    for op in ops {
        let current = root.take().unwrap_or_else(|| {
            open(
                fsutil::NEWROOT,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .unwrap_or_else(|e| die_errno("Can't open /newroot", e))
        });
        ops::run(op, host, &current, &mut sources);
        // Kept for the next op unless this one may have mounted over /newroot itself.
        if !ops::may_cover_root(op) {
            root = Some(current);
        }
    }
    drop(root);
    drop(sources);
    let _ = chdir("/");

    leave_setup_root();
}

/// Drops the host root and the setup tmpfs, leaving `/newroot` as `/`.
fn leave_setup_root() {
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    if let Err(e) = mount(
        Some("oldroot"),
        "/oldroot",
        None::<&str>,
        private,
        None::<&str>,
    ) {
        die_mount("Failed to make old root rprivate", e);
    }
    if let Err(e) = umount2("/oldroot", MntFlags::MNT_DETACH) {
        die_errno("unmount old root", e);
    }
    let old = match open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => die_errno("can't open /", e),
    };
    if let Err(e) = chdir(fsutil::NEWROOT) {
        die_errno("chdir /newroot", e);
    }
    if let Err(e) = pivot_root(".", ".") {
        die_errno("pivot_root(/newroot)", e);
    }
    if let Err(e) = fchdir(&old) {
        die_errno("fchdir to oldroot", e);
    }
    if let Err(e) = umount2(".", MntFlags::MNT_DETACH) {
        die_errno("unmount oldroot", e);
    }
    if let Err(e) = chdir("/") {
        die_errno("chdir /", e);
    }
}
