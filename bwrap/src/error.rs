//! [`SetupError`]: why setting up or running the sandbox failed, in upstream's words.
//!
//! Setup and process code return it; `lib.rs` prints it once as `bwrap: …` (through
//! [`crate::diag::fatal`]) and exits with status 1, in whichever process it happened.

use nix::errno::Errno;
use std::fmt;

/// A failure of bwrap itself: upstream's message text and the errno behind it, if any.
#[derive(Debug)]
pub(crate) struct SetupError {
    message: String,
    cause: Cause,
}

/// What follows the message.
#[derive(Debug, Clone, Copy)]
enum Cause {
    /// Nothing: the message says it all (upstream's `die`).
    None,
    /// `: strerror(errno)` (upstream's `die_with_error`).
    Errno(Errno),
    /// A failed mount: like [`Cause::Errno`], with upstream's hint for a full mount table.
    Mount(Errno),
}

impl SetupError {
    /// A failure described by its message alone.
    pub(crate) fn msg(message: impl Into<String>) -> SetupError {
        SetupError {
            message: message.into(),
            cause: Cause::None,
        }
    }

    /// A failed system call: `message: strerror(errno)`.
    pub(crate) fn sys(message: impl Into<String>, errno: Errno) -> SetupError {
        SetupError {
            message: message.into(),
            cause: Cause::Errno(errno),
        }
    }

    /// A failed mount: as [`SetupError::sys`], with upstream's hint on `ENOSPC`.
    pub(crate) fn mount(message: impl Into<String>, errno: Errno) -> SetupError {
        SetupError {
            message: message.into(),
            cause: Cause::Mount(errno),
        }
    }
}

/// For `map_err`: a failed system call described by a fixed message.
pub(crate) fn failed(message: &'static str) -> impl FnOnce(Errno) -> SetupError {
    move |errno| SetupError::sys(message, errno)
}

/// For `map_err`: a failed mount described by a fixed message.
pub(crate) fn mount_failed(message: &'static str) -> impl FnOnce(Errno) -> SetupError {
    move |errno| SetupError::mount(message, errno)
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            Cause::None => f.write_str(&self.message),
            Cause::Mount(Errno::ENOSPC) => write!(
                f,
                "{}: Limit exceeded (ENOSPC). (Hint: Check that /proc/sys/fs/mount-max is sufficient, typically 100000)",
                self.message
            ),
            Cause::Errno(errno) | Cause::Mount(errno) => {
                write!(f, "{}: {}", self.message, strerror(errno))
            }
        }
    }
}

impl std::error::Error for SetupError {}

/// Describes an errno the way `strerror` does (without nix's `EFOO: ` prefix).
pub(crate) fn strerror(errno: nix::errno::Errno) -> String {
    std::io::Error::from_raw_os_error(errno as i32)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_upstreams() {
        assert_eq!(SetupError::msg("plain").to_string(), "plain");
        assert_eq!(
            SetupError::sys("pivot_root", Errno::EPERM).to_string(),
            "pivot_root: Operation not permitted"
        );
        assert_eq!(
            SetupError::mount("Can't mount tmpfs on /x", Errno::EACCES).to_string(),
            "Can't mount tmpfs on /x: Permission denied"
        );
        assert_eq!(
            SetupError::mount("Can't mount tmpfs on /x", Errno::ENOSPC).to_string(),
            "Can't mount tmpfs on /x: Limit exceeded (ENOSPC). (Hint: Check that /proc/sys/fs/mount-max is sufficient, typically 100000)"
        );
        assert_eq!(
            SetupError::sys("x", Errno::ENOSPC).to_string(),
            "x: No space left on device"
        );
    }
}
