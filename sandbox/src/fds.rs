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
pub fn check_passed(passed: &[RawFd], reserved: &[RawFd]) -> Result<(), String> {
    for &fd in passed {
        if fd < STANDARD {
            return Err(format!(
                "--pass-fd {fd}: descriptors 0, 1 and 2 are always passed; fix: drop the option"
            ));
        }
        if reserved.contains(&fd) {
            return Err(format!(
                "--pass-fd {fd}: the sandbox uses descriptors {reserved:?} itself; fix: move it, e.g. `{}>&{fd}` and --pass-fd {}",
                fd + 10,
                fd + 10
            ));
        }
        // SAFETY: fcntl F_GETFD on an integer descriptor only reads its flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(format!(
                "--pass-fd {fd}: descriptor {fd} is not open in the caller; fix: open it (e.g. `{fd}<FILE`) or drop the option"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_descriptors_must_be_open_and_not_reserved() {
        assert!(check_passed(&[1], &[4]).unwrap_err().contains("always"));
        assert!(check_passed(&[4], &[4, 5]).unwrap_err().contains("itself"));
        assert!(
            check_passed(&[1000], &[4])
                .unwrap_err()
                .contains("not open")
        );
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        assert_eq!(check_passed(&[fd], &[]), Ok(()));
    }
}
