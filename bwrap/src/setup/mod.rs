//! Building the sandbox's root file system: resolve sources on the host, pivot to a setup
//! tmpfs, run the op queue in argv order onto `/newroot`, then pivot into it so that
//! neither the old root nor the setup tmpfs stays visible.

mod bind;
mod dest;
mod dev;
mod fsutil;
mod mount;
mod mountinfo;
mod ops;
mod overlay;
mod procfs;
mod resolve;

pub(crate) use bind::force_legacy;
pub(crate) use resolve::resolve_sources;

use crate::args::Config;
use crate::error::{SetupError, failed, mount_failed};
use fsutil::{NEWROOT, OLDROOT};
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, fchdir, mkdir, pivot_root};
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// What the setup needs besides the op queue: facts gathered before the namespaces were
/// entered, and how strictly mount flags are applied.
pub(crate) struct HostContext {
    /// Whether `--proc` mounts a fresh procfs (a new pid namespace) or binds the host's.
    pub(crate) new_pid_ns: bool,
    /// `/proc` opened (`O_PATH`) before the pivot, also for id maps and sysctls.
    pub(crate) proc_fd: OwnedFd,
    /// The terminal on stdout, bound as `/dev/console` by `--dev`.
    pub(crate) stdout_tty: Option<PathBuf>,
    /// `--not-a-security-boundary`: mount flags that cannot be applied are skipped with a
    /// warning.
    pub(crate) fail_open: bool,
}

/// Where the setup tmpfs is mounted before the first pivot.
const BASE: &str = "/tmp";

/// Runs the whole mount setup. Must run in a new mount namespace with CAP_SYS_ADMIN.
pub(crate) fn build_root(
    cfg: &Config,
    ops: &[crate::args::Op],
    host: &HostContext,
) -> Result<(), SetupError> {
    let rec_slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
    mount(None::<&str>, "/", None::<&str>, rec_slave, None::<&str>)
        .map_err(mount_failed("Failed to make / slave"))?;
    let hidden = MsFlags::MS_NODEV | MsFlags::MS_NOSUID;
    mount(Some("tmpfs"), BASE, Some("tmpfs"), hidden, None::<&str>)
        .map_err(mount_failed("Failed to mount tmpfs"))?;
    chdir(BASE).map_err(|e| SetupError::sys(format!("chdir {BASE}"), e))?;
    let old_root = OLDROOT.trim_start_matches('/');
    let mut dirs = vec![
        NEWROOT.trim_start_matches('/').to_string(),
        old_root.to_string(),
    ];
    for n in 0..cfg.tmp_overlay_count() {
        dirs.push(overlay::tmp_upper(n).trim_start_matches('/').to_string());
        dirs.push(overlay::tmp_work(n).trim_start_matches('/').to_string());
    }
    for dir in &dirs {
        mkdir(dir.as_str(), Mode::from_bits_truncate(0o755))
            .map_err(|e| SetupError::sys(format!("Creating {dir} failed"), e))?;
    }
    let rec_bind = MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_SILENT;
    let new_root = NEWROOT.trim_start_matches('/');
    mount(
        Some(new_root),
        new_root,
        None::<&str>,
        rec_bind,
        None::<&str>,
    )
    .map_err(mount_failed("setting up newroot bind"))?;
    pivot_root(BASE, old_root).map_err(failed("pivot_root"))?;
    let _ = chdir("/");

    let mut sources = ops::Sources::default();
    let mut root = None;
    for op in ops {
        let current = match root.take() {
            Some(fd) => fd,
            None => open(
                NEWROOT,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(failed("Can't open /newroot"))?,
        };
        ops::run(op, host, &current, &mut sources)?;
        // Kept for the next op unless this one may have mounted over /newroot itself.
        if !ops::may_cover_root(op) {
            root = Some(current);
        }
    }
    drop(root);
    drop(sources);
    let _ = chdir("/");

    leave_setup_root()
}

/// Drops the host root and the setup tmpfs, leaving `/newroot` as `/`.
fn leave_setup_root() -> Result<(), SetupError> {
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    mount(
        Some(OLDROOT.trim_start_matches('/')),
        OLDROOT,
        None::<&str>,
        private,
        None::<&str>,
    )
    .map_err(mount_failed("Failed to make old root rprivate"))?;
    umount2(OLDROOT, MntFlags::MNT_DETACH).map_err(failed("unmount old root"))?;
    let old = open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(failed("can't open /"))?;
    chdir(NEWROOT).map_err(failed("chdir /newroot"))?;
    pivot_root(".", ".").map_err(failed("pivot_root(/newroot)"))?;
    fchdir(&old).map_err(failed("fchdir to oldroot"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(failed("unmount oldroot"))?;
    chdir("/").map_err(failed("chdir /"))
}
