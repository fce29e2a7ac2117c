//! Turning a resolved policy into the ordered bwrap arguments (the plan).

use std::ffi::OsString;
use std::path::PathBuf;

/// The network a plan gives the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// New network namespace plus the seccomp socket filter.
    #[default]
    Restricted,
    /// The host's network.
    Enabled,
    /// Only a local proxy is reachable.
    Proxy,
}

/// Everything the launcher needs to start bwrap for one command.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// bwrap options, in order, that build the namespaces and the filesystem view
    /// (everything before the inner-stage program and `--`).
    pub bwrap_args: Vec<OsString>,
    /// The network mode; the inner stage installs the matching seccomp filter.
    pub network: NetworkMode,
    /// Host paths that bwrap will create as empty mount points and that did not exist
    /// before the run: removed after the command ends.
    pub placeholders: Vec<PathBuf>,
}
