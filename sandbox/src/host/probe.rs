//! Running bwrap once with a small namespace setup to see whether the host allows it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::unistd::{AccessFlags, access};

use super::child::run_with_timeout;

/// How a bwrap trial run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trial {
    /// bwrap set everything up and `true` exited 0.
    Succeeded,
    /// bwrap failed; the first non-empty stderr line.
    Failed(String),
    /// No answer before the deadline, or bwrap could not be started: unknown.
    Inconclusive(String),
}

/// Runs `bwrap <args> true` with `timeout`. `true` is given by absolute path (found on
/// `PATH` here, else `/bin/true`), so a sparse `PATH` does not fail the trial.
pub fn trial(mut bwrap: Command, args: &[&str], timeout: Duration) -> Trial {
    bwrap.args(args).arg(true_program());
    let out = match run_with_timeout(&mut bwrap, timeout) {
        Ok(out) => out,
        Err(e) => return Trial::Inconclusive(format!("cannot start bwrap: {e}")),
    };
    match out.status {
        None => Trial::Inconclusive(format!("no answer within {} ms", timeout.as_millis())),
        Some(status) if status.success() => Trial::Succeeded,
        Some(status) => Trial::Failed(
            out.stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map_or_else(|| format!("bwrap exited with {status}"), str::to_owned),
        ),
    }
}

/// The canonical path of `true` (the first on `PATH`, else `/bin/true`), for trial runs
/// whose sandbox may see only system directories and whose `PATH` may be sparse.
pub fn true_program() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("true"))
        .find(|p| p.is_absolute() && is_executable_file(p))
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| PathBuf::from("/bin/true"))
}

/// Whether `path` is a regular file (after following symlinks) the caller may execute.
pub fn is_executable_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file()) && access(path, AccessFlags::X_OK).is_ok()
}
