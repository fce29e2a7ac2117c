//! Why the inner stage stopped before the command ran (printed as `sandbox: inner stage:
//! …`, exit status [`crate::exit::FAILURE`]).

use std::ffi::OsString;
use std::os::fd::RawFd;

use super::caps::CapsError;
use super::seccomp::SeccompError;
use crate::proxy::inner::BridgeError;

/// The inner stage's arguments are not what [`super::InnerArgs::to_args`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// The arguments end before the `--` that starts the command.
    #[error("missing `--` before the command")]
    MissingSeparator,
    /// An option that takes a value came last, or its value is not UTF-8.
    #[error("{0:?} needs a value")]
    NeedsValue(OsString),
    /// `--network` with an unknown mode.
    #[error("unsupported network mode {0:?}")]
    NetworkMode(String),
    /// A descriptor option whose value is not a number.
    #[error("{0} needs a number")]
    NotANumber(&'static str),
    /// `--proxy-route` without `=`.
    #[error("--proxy-route needs VARIABLE=SOCKET")]
    ProxyRoute,
    /// An unknown or repeated option.
    #[error("unexpected inner-stage argument {0:?}")]
    Unexpected(OsString),
    /// Nothing after `--`.
    #[error("no command after `--`")]
    NoCommand,
    /// No `--network`.
    #[error("missing --network")]
    MissingNetwork,
    /// Proxy routes without network mode `proxy`, or the other way round.
    #[error("--proxy-route and --proxy-dir-fd go with --network proxy, and only with it")]
    ProxyMismatch,
}

/// Why the inner stage could not start the command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InnerError {
    /// Bad arguments.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// The caller's stderr could not be moved back to descriptor 2.
    #[error("cannot restore stderr from descriptor {fd}: {source}")]
    RestoreStderr {
        /// The descriptor it was passed on.
        fd: RawFd,
        /// Why.
        source: std::io::Error,
    },
    /// Applying the inner-stage mounts failed.
    #[error(transparent)]
    Mounts(#[from] super::mounts::MountsError),
    /// `PR_SET_NO_NEW_PRIVS` was refused.
    #[error("prctl(PR_SET_NO_NEW_PRIVS) failed: {0}")]
    NoNewPrivs(std::io::Error),
    /// A capability is left, or the sets could not be read.
    #[error(transparent)]
    Capabilities(#[from] CapsError),
    /// The proxy listeners could not start.
    #[error(transparent)]
    Proxy(#[from] BridgeError),
    /// The seccomp filter could not be installed.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// An argument of the command contains a NUL byte.
    #[error("argument {0:?} contains a NUL byte")]
    NulByte(OsString),
    /// The termination signals could not be blocked.
    #[error("sigprocmask failed: {0}")]
    BlockSignals(nix::Error),
    /// The command's process could not be forked.
    #[error("fork failed: {0}")]
    Fork(nix::Error),
    /// Waiting for the command failed.
    #[error("waitpid failed: {0}")]
    Wait(nix::Error),
}
