//! `--setenv`, `--unsetenv` and `--clearenv`: applied to bwrap's own environment at once,
//! in argv order, so the command (and its PATH lookup) sees the final result.

use crate::diag::{die, show};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

pub fn set_env(var: &OsStr, value: &OsStr) {
    if !env_name_ok(var) || value.as_bytes().contains(&0) {
        die(&format!(
            "setenv {}: Invalid argument",
            show(var.as_bytes())
        ));
    }
    // SAFETY: bwrap is single-threaded while parsing, so nothing reads the environment
    // concurrently.
    unsafe { std::env::set_var(var, value) };
}

/// Whether `setenv`/`unsetenv` accept `var` (non-empty, no `=`, no NUL).
pub fn env_name_ok(var: &OsStr) -> bool {
    !var.is_empty() && !var.as_bytes().iter().any(|b| *b == b'=' || *b == 0)
}

pub fn clear_env() {
    for (key, _) in std::env::vars_os() {
        // SAFETY: single-threaded while parsing (see `set_env`).
        unsafe { std::env::remove_var(key) };
    }
}
