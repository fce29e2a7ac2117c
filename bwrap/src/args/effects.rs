//! What parsing does besides building the configuration, in argv order as upstream does:
//! warnings, `--level-prefix`, reading `--args`/`--add-seccomp-fd` descriptors, and the
//! environment options (applied to bwrap's own environment at once, so the command and its
//! `PATH` lookup see the final result). A trait, so the parser runs in-process in tests.

use crate::diag::{enable_level_prefix, warn};
use nix::errno::Errno;
use std::ffi::OsStr;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

/// The side effects of parsing.
pub(crate) trait Effects {
    /// Prints a warning; parsing goes on.
    fn warn(&mut self, message: &str);
    /// `--level-prefix`: diagnostics from now on carry their syslog level.
    fn level_prefix(&mut self);
    /// Reads `fd` to its end, then closes it.
    fn read_fd(&mut self, fd: RawFd) -> Result<Vec<u8>, Errno>;
    /// `--setenv` with a name [`env_name_ok`] accepts.
    fn set_env(&mut self, var: &OsStr, value: &OsStr);
    /// `--unsetenv` with a name [`env_name_ok`] accepts.
    fn unset_env(&mut self, var: &OsStr);
    /// `--clearenv`.
    fn clear_env(&mut self);
}

/// Whether `setenv`/`unsetenv` accept `var` (non-empty, no `=`, no NUL).
pub(crate) fn env_name_ok(var: &OsStr) -> bool {
    !var.is_empty() && !var.as_bytes().iter().any(|b| *b == b'=' || *b == 0)
}

/// The real effects on this process, for a single-threaded bwrap.
pub(crate) struct Live;

impl Effects for Live {
    fn warn(&mut self, message: &str) {
        warn(message);
    }

    fn level_prefix(&mut self) {
        enable_level_prefix();
    }

    fn read_fd(&mut self, fd: RawFd) -> Result<Vec<u8>, Errno> {
        crate::fd::read_numbered(fd)
    }

    fn set_env(&mut self, var: &OsStr, value: &OsStr) {
        // SAFETY: bwrap is single-threaded while parsing, so nothing reads the environment
        // concurrently.
        unsafe { std::env::set_var(var, value) };
    }

    fn unset_env(&mut self, var: &OsStr) {
        // SAFETY: single-threaded while parsing (see `set_env`).
        unsafe { std::env::remove_var(var) };
    }

    fn clear_env(&mut self) {
        for (key, _) in std::env::vars_os() {
            // SAFETY: single-threaded while parsing (see `set_env`).
            unsafe { std::env::remove_var(key) };
        }
    }
}
