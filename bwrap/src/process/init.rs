//! The pid-1 init ("reaper") between bwrap and the command: it holds `--lock-file` locks
//! and `--sync-fd`, reaps orphans, and reports the command's exit status to the monitor.

use super::seccomp;
use crate::Launch;
use crate::error::SetupError;
use crate::fd::write_all;
use crate::wait::exit_code;
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Closes every fd except stdio and `keep`.
fn close_other_fds(keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|fd| *fd > 2).collect();
    keep.sort_unstable();
    let mut from = 3;
    for fd in keep.into_iter().chain([RawFd::MAX]) {
        if fd > from {
            // SAFETY: close_range only closes descriptors; none of these are in use by Rust
            // objects of this process (init owns no other files at this point).
            unsafe { libc::syscall(libc::SYS_close_range, from as u32, (fd - 1) as u32, 0u32) };
        }
        from = fd.saturating_add(1);
    }
}

/// Takes a POSIX read lock on each `--lock-file`; the fds stay open for init's lifetime.
fn take_locks(paths: &[std::ffi::OsString]) -> Result<Vec<OwnedFd>, SetupError> {
    paths
        .iter()
        .map(|path| {
            let fd = open(
                path.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| {
                SetupError::sys(
                    format!("Unable to open lock file {}", path.to_string_lossy()),
                    e,
                )
            })?;
            let lock = libc::flock {
                l_type: libc::F_RDLCK as i16,
                l_whence: libc::SEEK_SET as i16,
                l_start: 0,
                l_len: 0,
                l_pid: 0,
            };
            fcntl(&fd, FcntlArg::F_SETLK(&lock)).map_err(|e| {
                SetupError::sys(format!("Unable to lock file {}", path.to_string_lossy()), e)
            })?;
            Ok(fd)
        })
        .collect()
}

/// Runs as init with the command as `command`; exits with the command's status once no
/// children are left, or with bwrap's failure.
///
/// Init exits here rather than returning: [`close_other_fds`] closed the descriptors the
/// objects up the stack own.
pub(crate) fn run(
    launch: &Launch,
    status: Option<OwnedFd>,
    command: Pid,
    programs: &[Vec<u8>],
) -> ! {
    match supervise(launch, status, command, programs) {
        Ok(code) => std::process::exit(code),
        Err(err) => crate::diag::fatal(&err),
    }
}

fn supervise(
    launch: &Launch,
    status: Option<OwnedFd>,
    command: Pid,
    programs: &[Vec<u8>],
) -> Result<i32, SetupError> {
    let cfg = &launch.cfg;
    let status_fd = status.as_ref().map(AsRawFd::as_raw_fd);
    let keep: Vec<RawFd> = [status_fd, cfg.sync_fd].into_iter().flatten().collect();
    close_other_fds(&keep);
    super::caps::set(0, 0)?;
    let _locks = take_locks(&cfg.lock_files)?;
    if cfg.die_with_parent {
        super::exec::die_with_parent()?;
    }
    seccomp::install_all(programs)?;
    let mut code = 1;
    loop {
        match waitpid(None::<Pid>, None) {
            Ok(exited) => {
                if exited.pid() == Some(command) {
                    code = exit_code(exited);
                    if let Some(fd) = &status {
                        let _ = write_all(fd, &(code as u64 + 1).to_ne_bytes());
                    }
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return Ok(code),
        }
    }
}
