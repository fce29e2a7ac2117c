//! Whether a fresh `/proc` can be mounted in a new PID namespace.
//!
//! Containers often mask parts of their `/proc` (Docker binds `/dev/null` over files,
//! Podman mounts tmpfs over directories); the kernel then refuses a new proc mount in a
//! user namespace ("mount too revealing") and bwrap's `--proc` fails.

use std::process::Command;
use std::time::Duration;

use super::probe::{Trial, trial};

/// The arguments that mount `/proc` the way the sandbox does.
const PROC_TRIAL: &[&str] = &[
    "--unshare-user",
    "--unshare-pid",
    "--ro-bind",
    "/",
    "/",
    "--proc",
    "/proc",
];

/// The fix when `/proc` cannot be mounted.
pub const PROC_FIX: &str = "the container masks parts of /proc: run it with \
    `--security-opt unmask=ALL` (Podman) or `--security-opt systempaths=unconfined` (Docker), \
    or run sandbox with `--no-proc`";

/// Tries `bwrap ... --proc /proc true` and reports how it went.
pub fn check(bwrap: Command) -> Trial {
    trial(bwrap, PROC_TRIAL, Duration::from_secs(2))
}
