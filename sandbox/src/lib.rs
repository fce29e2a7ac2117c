//! The reference Linux sandbox for AI coding agents.
//!
//! Data flow: a [`Policy`] is parsed from TOML or JSON, resolved against the workspace and
//! turned into a [`plan::Plan`] (the ordered bwrap arguments), which a bwrap chosen by the
//! [`launcher`] runs. Inside the namespaces, the [`inner`] stage (this same executable,
//! selected by `argv[0]`) sets `no_new_privs`, checks capabilities, installs the seccomp
//! filter and runs the command as a reaped child. [`SandboxCommand`] is the entry point;
//! the `sandbox` CLI ([`cli`]) is a thin layer over it.

pub mod cli;
mod command;
mod fds;
pub mod host;
pub mod inner;
pub mod launcher;
pub mod legacy;
pub mod plan;
pub mod policy;
pub mod proxy;
pub mod run;
mod supervise;
#[cfg(test)]
mod testing;

use std::ffi::OsString;
use std::path::Path;

pub use command::SandboxCommand;
pub use policy::Policy;

/// Why the sandbox refused or failed to run a command (exit status 125 in the CLI).
#[derive(Debug, thiserror::Error)]
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
    /// The per-user state directory is unusable.
    #[error("{0}")]
    State(#[from] run::state::StateError),
    /// A placeholder could not be created or joined (the run is refused).
    #[error("{0}")]
    Placeholder(#[from] run::placeholders::PlaceholderError),
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
    /// Anything else, with its cause.
    #[error("{0}")]
    Setup(String),
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
/// it (`argv[0]`'s basename is [`inner::INNER_STAGE_NAME`] or [`proxy::host::BRIDGE_NAME`]);
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
