//! Namespaces: the clone that creates them, user-namespace id maps, joining namespaces
//! given as fds, and the loopback interface of a new network namespace.

pub(crate) mod idmap;
pub(crate) mod loopback;

use crate::args::Config;
use crate::error::SetupError;
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::BorrowedFd;

/// Namespace flags for the sandbox's clone, from the settled configuration.
pub(crate) fn clone_flags(cfg: &Config) -> CloneFlags {
    let u = &cfg.unshare;
    let mut flags = CloneFlags::CLONE_NEWNS;
    let pairs = [
        (u.user, CloneFlags::CLONE_NEWUSER),
        (u.pid && cfg.pidns_fd.is_none(), CloneFlags::CLONE_NEWPID),
        (u.net, CloneFlags::CLONE_NEWNET),
        (u.ipc, CloneFlags::CLONE_NEWIPC),
        (u.uts, CloneFlags::CLONE_NEWUTS),
        (u.cgroup, CloneFlags::CLONE_NEWCGROUP),
    ];
    for (wanted, flag) in pairs {
        if wanted {
            flags |= flag;
        }
    }
    flags
}

/// Fork-like `clone(flags)`: returns the child's pid in the parent and 0 in the child.
/// Fails with upstream's explanations.
pub(crate) fn clone_into(flags: CloneFlags, privileged: bool) -> Result<Pid, SetupError> {
    // SAFETY: bwrap is single-threaded, so a fork-like clone (no new stack, child continues
    // from here with a copy of the address space) is as sound as fork(2).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if ret >= 0 {
        return Ok(Pid::from_raw(ret as i32));
    }
    let errno = Errno::last();
    let userns = flags.contains(CloneFlags::CLONE_NEWUSER);
    Err(match errno {
        Errno::EINVAL if userns => SetupError::msg(
            "Creating new namespace failed, likely because the kernel does not support user namespaces.  bwrap must be installed setuid on such systems.",
        ),
        Errno::EPERM if userns && !privileged => SetupError::msg(
            "No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.",
        ),
        Errno::ENOSPC => SetupError::msg(
            "Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)",
        ),
        e => SetupError::sys("Creating new namespace failed", e),
    })
}

/// `setns(fd, kind)`, failing with `message`.
pub(crate) fn join(
    fd: BorrowedFd,
    kind: CloneFlags,
    message: &'static str,
) -> Result<(), SetupError> {
    nix::sched::setns(fd, kind).map_err(crate::error::failed(message))
}

/// Namespace kinds reported on `--info-fd`/`--json-status-fd`, in upstream's order.
const REPORTED: &[&str] = &["cgroup", "ipc", "mnt", "net", "pid", "uts"];

/// `(kind, inode)` of each namespace of `pid` that was created for the sandbox (and always mnt).
pub(crate) fn created_namespace_ids(cfg: &Config, pid: Pid) -> Vec<(&'static str, u64)> {
    let u = &cfg.unshare;
    let created = |kind: &str| match kind {
        "cgroup" => u.cgroup,
        "ipc" => u.ipc,
        "net" => u.net,
        "pid" => u.pid,
        "uts" => u.uts,
        _ => true,
    };
    REPORTED
        .iter()
        .filter(|kind| created(kind))
        .filter_map(|kind| {
            let path = format!("/proc/{pid}/ns/{kind}");
            nix::sys::stat::stat(path.as_str())
                .ok()
                .map(|st| (*kind, st.st_ino))
        })
        .collect()
}
