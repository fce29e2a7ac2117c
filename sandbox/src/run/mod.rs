//! The run pipeline: preflight, plan, spawn bwrap, wait, clean up, report the status.

mod argv;
pub mod placeholders;
pub mod preflight;

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigmaskHow, kill, pthread_sigmask};
use nix::unistd::Pid;

use crate::SandboxError;
use crate::plan::{EMPTY_FILE_FD, Plan};
use crate::policy::Resolved;
use crate::supervise;
pub use argv::assemble;
use placeholders::Registry;

/// The descriptor the inner stage reports "command started" on.
pub const READY_FD: i32 = 4;

/// A plan with its complete bwrap command line, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The bwrap binary.
    pub bwrap: PathBuf,
    /// bwrap's arguments (without bwrap itself).
    pub args: Vec<OsString>,
    /// The plan the arguments come from.
    pub plan: Plan,
    /// The working directory bwrap is started in (the workspace root).
    pub cwd: PathBuf,
    /// The policy as resolved for the workspace.
    pub resolved: Resolved,
}

/// Runs a prepared sandbox: spawns bwrap with the descriptors the plan needs, forwards
/// termination signals, waits, removes this run's placeholders and returns the command's
/// status (128 + N for signal N). Fails if bwrap exits before the command started.
pub fn execute(prepared: &Prepared, registry: &Registry) -> Result<i32, SandboxError> {
    let pid = std::process::id();
    let empty = if prepared.plan.uses_empty_fd {
        Some(high_fd(
            File::open("/dev/null")
                .map_err(|e| SandboxError::io("open", "/dev/null", e))?
                .into(),
        )?)
    } else {
        None
    };
    let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(|e| SandboxError::io("create a pipe", "(ready pipe)", e.into()))?;
    let ready_write = high_fd(ready_write)?;
    let mut command = std::process::Command::new(&prepared.bwrap);
    command.args(&prepared.args).current_dir(&prepared.cwd);
    let (empty_raw, ready_raw) = (
        empty.as_ref().map(|f| f.as_raw_fd()),
        ready_write.as_raw_fd(),
    );
    // SAFETY: the closure only calls dup2, which is async-signal-safe; the source
    // descriptors stay open in the parent until after spawn returns.
    unsafe {
        command.pre_exec(move || {
            let pairs = [(empty_raw, EMPTY_FILE_FD), (Some(ready_raw), READY_FD)];
            for (source, target) in pairs {
                if let Some(source) = source {
                    if libc::dup2(source, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        });
    }
    let previous =
        supervise::block().map_err(|e| SandboxError::Setup(format!("sigprocmask failed: {e}")))?;
    let spawned = command.spawn();
    drop(ready_write);
    drop(empty);
    let outcome = spawned
        .map_err(|e| SandboxError::io("run", &prepared.bwrap.display().to_string(), e))
        .and_then(|child| {
            let bwrap = Pid::from_raw(child.id() as i32);
            supervise::wait(bwrap, false, |signal| {
                let _ = kill(bwrap, signal);
            })
            .map_err(|e| SandboxError::Setup(format!("waitpid on bwrap failed: {e}")))
        });
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    let cleanup = registry
        .lock()
        .and_then(|lock| lock.release(&prepared.plan.placeholders, pid))
        .map_err(|e| SandboxError::Setup(e.to_string()));
    let outcome = outcome?;
    cleanup?;
    let mut byte = [0u8; 1];
    let started = matches!(nix::unistd::read(&ready_read, &mut byte), Ok(1));
    match outcome {
        supervise::Outcome::Signaled(_) => Ok(outcome.code()),
        _ if started => Ok(outcome.code()),
        _ => Err(SandboxError::Setup(format!(
            "{} exited with status {} before the command started (see its message above)",
            prepared.bwrap.display(),
            outcome.code()
        ))),
    }
}

/// Moves a descriptor to a number above the fixed ones the child expects (close-on-exec).
fn high_fd(fd: OwnedFd) -> Result<OwnedFd, SandboxError> {
    let raw = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(10))
        .map_err(|e| SandboxError::io("dup", "(descriptor)", e.into()))?;
    // SAFETY: fcntl just returned this new descriptor, which nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) })
}
