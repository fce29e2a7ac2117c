//! The reference Linux sandbox for AI coding agents.
//!
//! Data flow: a [`Policy`] is parsed from TOML or JSON, resolved against the workspace and
//! turned into a [`plan::Plan`] (the ordered bwrap operations), which a bwrap chosen by the
//! [`launcher`] runs. Inside the namespaces, the [`inner`] stage (this same executable,
//! selected by `argv[0]`) sets `no_new_privs`, checks capabilities, installs the seccomp
//! filter and runs the command as a reaped child. [`SandboxCommand`] is the entry point;
//! the `sandbox` CLI ([`cli`]) is a thin layer over it.

pub mod cli;
mod command;
pub mod exit;
mod fds;
pub mod host;
pub mod inner;
pub mod launcher;
pub mod legacy;
mod placeholder_mark;
pub mod plan;
pub mod policy;
pub mod proxy;
pub mod run;
pub mod spawn;
mod supervise;
#[cfg(test)]
mod testing;

use std::ffi::OsString;
use std::path::Path;

pub use command::{Notice, SandboxCommand};
pub use fds::PassFdError;
pub use policy::Policy;

/// Why the sandbox refused or failed to run a command (exit status [`exit::FAILURE`] in the
/// CLI, or the launcher's own for a [`SandboxError::Launch`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The policy is invalid.
    #[error("policy error: {0}")]
    Policy(#[from] policy::PolicyError),
    /// The policy cannot be enforced on this host as written.
    #[error("{0}")]
    Plan(#[from] plan::PlanError),
    /// No usable bwrap.
    #[error("{0}")]
    Launch(#[from] launcher::LaunchError),
    /// Network mode `proxy` cannot be set up.
    #[error("{0}")]
    Proxy(#[from] proxy::ProxyError),
    /// Network mode `proxy` without a usable proxy variable (the policy's origin first).
    #[error("{origin}: {source}")]
    ProxyVariables {
        /// The policy's origin.
        origin: String,
        /// What is wrong with the variables.
        source: proxy::ProxyError,
    },
    /// `--cwd` names something that is not a directory.
    #[error("--cwd {} is not a directory", .0.display())]
    NotADirectory(std::path::PathBuf),
    /// A `--pass-fd` descriptor is refused.
    #[error("{0}")]
    PassFd(#[from] PassFdError),
    /// The policy's `[limits]` would not hold for this process.
    #[error("{0}")]
    Limits(#[from] policy::LimitError),
    /// The `/proc` preflight found that bwrap cannot build a sandbox here.
    #[error("{0}")]
    Preflight(#[from] run::PreflightError),
    /// Running bwrap failed.
    #[error("{0}")]
    Run(#[from] run::RunError),
    /// Legacy Landlock mode refused or failed.
    #[error("{0}")]
    Legacy(#[from] legacy::LegacyError),
    /// The per-user state directory is unusable.
    #[error("{0}")]
    State(#[from] run::StateError),
    /// A placeholder could not be created or joined (the run is refused).
    #[error("{0}")]
    Placeholder(#[from] run::PlaceholderError),
    /// A host operation failed.
    #[error("cannot {action} {what}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path or object.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

impl SandboxError {
    pub(crate) fn io(action: &'static str, what: &str, source: std::io::Error) -> Self {
        SandboxError::Io {
            action,
            what: what.to_string(),
            source,
        }
    }
}

/// Runs the inner stage (or a host proxy bridge) and exits if this process was started as
/// it (`argv[0]`'s basename is [`inner::INNER_STAGE_NAME`] or `proxy::host::BRIDGE_NAME`);
/// returns otherwise. Call it first in `main` of any executable used with
/// [`SandboxCommand::inner_stage_exe`].
pub fn dispatch_inner_stage() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let name = args.first().and_then(|a| Path::new(a).file_name());
    if name.is_some_and(|name| name == inner::INNER_STAGE_NAME) {
        inner::main(&args[1..]);
    }
    if name.is_some_and(|name| name == proxy::host::BRIDGE_NAME) {
        proxy::host::bridge_main(&args[1..]);
    }
}
