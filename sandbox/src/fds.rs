//! Which descriptors a spawned process inherits: only 0, 1, 2 and the ones named.
//!
//! The sandbox must not hand the command a descriptor its caller happened to leave open
//! (a masked secret opened by the shell, a directory outside every root): such a
//! descriptor bypasses every mount. [`inherit_only`] runs between `fork` and `exec` (bwrap's
//! spawn and the inner stage's command) and marks every other descriptor close-on-exec, so
//! the ones the launch itself still needs until `exec` (the bundled bwrap executed through
//! `/proc/self/fd/N`) stay usable until then.

use std::os::fd::RawFd;

/// The descriptors every process keeps: stdin, stdout, stderr.
const STANDARD: RawFd = 3;

/// Marks every descriptor from 3 up close-on-exec, then clears the flag on `keep`.
/// Async-signal-safe (no allocation): for `pre_exec` and a forked child.
pub fn inherit_only(keep: &[RawFd]) -> std::io::Result<()> {
    // SAFETY: close_range with integer arguments only; CLOSE_RANGE_CLOEXEC closes nothing.
    let marked = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            STANDARD as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if marked != 0 {
        // Kernels before 5.11: every descriptor below the soft limit, one at a time.
        mark_each_below_limit()?;
    }
    for &fd in keep {
        // SAFETY: fcntl on an integer descriptor; fails with EBADF if it is not open.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn mark_each_below_limit() -> std::io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let end = RawFd::try_from(limit.rlim_cur).unwrap_or(RawFd::MAX);
    for fd in STANDARD..end {
        // SAFETY: fcntl on an integer descriptor; EBADF (not open) is expected and ignored.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Checks the descriptors the caller asked to pass (`--pass-fd`): open, not 0-2 (always
/// passed), and not one of `reserved` (the ones the launch places itself).
pub fn check_passed(passed: &[RawFd], reserved: &[RawFd]) -> Result<(), PassFdError> {
    for &fd in passed {
        if fd < STANDARD {
            return Err(PassFdError::Standard(fd));
        }
        if reserved.contains(&fd) {
            return Err(PassFdError::Reserved {
                fd,
                reserved: reserved.to_vec(),
            });
        }
        // SAFETY: fcntl F_GETFD on an integer descriptor only reads its flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(PassFdError::NotOpen(fd));
        }
    }
    Ok(())
}

/// Why a `--pass-fd` descriptor is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PassFdError {
    /// 0, 1 or 2, which are always passed.
    #[error("--pass-fd {0}: descriptors 0, 1 and 2 are always passed; fix: drop the option")]
    Standard(RawFd),
    /// One of the descriptors the launch places itself.
    #[error(
        "--pass-fd {fd}: the sandbox uses descriptors {reserved:?} itself; fix: move it, e.g. `{moved}>&{fd}` and --pass-fd {moved}",
        moved = fd + 10
    )]
    Reserved {
        /// The descriptor asked for.
        fd: RawFd,
        /// The descriptors the launch uses.
        reserved: Vec<RawFd>,
    },
    /// Not open in the caller.
    #[error(
        "--pass-fd {0}: descriptor {0} is not open in the caller; fix: open it (e.g. `{0}<FILE`) or drop the option"
    )]
    NotOpen(RawFd),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_descriptors_must_be_open_and_not_reserved() {
        let refusal = |passed: &[RawFd], reserved: &[RawFd]| {
            check_passed(passed, reserved).unwrap_err().to_string()
        };
        assert!(refusal(&[1], &[4]).contains("always"));
        assert!(refusal(&[4], &[4, 5]).contains("itself"));
        assert!(refusal(&[1000], &[4]).contains("not open"));
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        assert_eq!(check_passed(&[fd], &[]), Ok(()));
    }
}
