//! Diagnostics on stderr in bubblewrap's format: `[<N>]bwrap: message[: detail]`.
//!
//! Every fatal error exits with status 1, as upstream does for any failure of bwrap itself.

use crate::error::SetupError;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static LEVEL_PREFIX: AtomicBool = AtomicBool::new(false);

/// Turns on the syslog-style `<N>` prefix (`--level-prefix`) from now on.
pub(crate) fn enable_level_prefix() {
    LEVEL_PREFIX.store(true, Ordering::Relaxed);
}

fn emit(level: u8, msg: &str) {
    let prefix = if LEVEL_PREFIX.load(Ordering::Relaxed) {
        format!("<{level}>")
    } else {
        String::new()
    };
    // One write per line so concurrent processes do not interleave partial messages.
    let line = format!("{prefix}bwrap: {msg}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Prints a warning (`<4>` level); the run goes on.
pub(crate) fn warn(msg: &str) {
    emit(4, msg);
}

/// Prints `err` as an error (`<3>` level) and exits with status 1: the one exit of a failed
/// bwrap process (monitor, sandbox, `--pidns` helper or init alike).
pub(crate) fn fatal(err: &SetupError) -> ! {
    error(err);
    std::process::exit(1)
}

/// Prints `err` as an error (`<3>` level), for a process that ends on its own afterwards.
pub(crate) fn error(err: &SetupError) {
    emit(3, &err.to_string());
}

/// Renders a byte path or argument for a message.
pub(crate) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
