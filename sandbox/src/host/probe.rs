//! Running bwrap once with a small namespace setup to see whether the host allows it.

use std::process::Command;
use std::time::Duration;

use super::child::run_with_timeout;

/// How a bwrap trial run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trial {
    /// bwrap set everything up and `true` exited 0.
    Succeeded,
    /// bwrap failed; the first non-empty stderr line.
    Failed(String),
    /// No answer before the deadline, or bwrap could not be started: unknown.
    Inconclusive(String),
}

/// Runs `bwrap <args> true` with `timeout`.
pub fn trial(mut bwrap: Command, args: &[&str], timeout: Duration) -> Trial {
    bwrap.args(args).arg("true");
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
