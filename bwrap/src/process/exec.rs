//! The last steps of the command process and its `execvp`.

use super::caps::{self, CapSet};
use super::seccomp;
use crate::Launch;
use crate::diag::show;
use crate::error::{SetupError, failed};
use crate::fd::write_all;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

/// Sets `PR_SET_PDEATHSIG` to SIGKILL (`--die-with-parent`).
pub(crate) fn die_with_parent() -> Result<(), SetupError> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(failed("prctl(PR_SET_PDEATHSIG)"))
}

fn to_cstring(arg: &std::ffi::OsStr) -> Result<CString, SetupError> {
    CString::new(arg.as_bytes()).map_err(|_| SetupError::msg("argument contains a NUL byte"))
}

/// The channel end the command process brings to its exec, and its capabilities.
pub(crate) struct CommandEnds {
    /// `--json-status-fd`: "x" is written right before the exec, "f" if it failed.
    pub(crate) exec_report: Option<OwnedFd>,
    /// The capabilities the command gets.
    pub(crate) requested: CapSet,
}

/// Final preparation and exec of COMMAND; returns only with the reason it failed.
///
/// It owns and drops nothing of the caller's, so that it can run in a process sharing the
/// caller's memory (`super::start_command`). `/proc` and init's status channel need no
/// closing here: they are close-on-exec.
pub(crate) fn run_command(
    launch: &Launch,
    last: &CommandEnds,
    programs: &[Vec<u8>],
) -> Result<Infallible, SetupError> {
    let cfg = &launch.cfg;
    if let Some(fd) = cfg.sync_fd.filter(|_| !cfg.as_pid_1) {
        let _ = nix::unistd::close(fd);
    }
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&chld), None).map_err(failed("sigprocmask"))?;
    if cfg.die_with_parent {
        die_with_parent()?;
    }
    caps::raise_ambient(last.requested)?;
    seccomp::install_all(programs)?;
    let file = to_cstring(&cfg.command[0])?;
    let mut argv = cfg
        .command
        .iter()
        .map(|a| to_cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(argv0) = &cfg.argv0 {
        argv[0] = to_cstring(argv0)?;
    }
    let report = &last.exec_report;
    if let Some(fd) = report {
        let _ = write_all(fd, b"x");
    }
    let err = nix::unistd::execvp(&file, &argv).unwrap_err();
    if let Some(fd) = report {
        let _ = write_all(fd, b"f");
    }
    Err(SetupError::sys(
        format!("execvp {}", show(cfg.command[0].as_bytes())),
        err,
    ))
}
