//! The run pipeline: preflight, plan, spawn bwrap, wait, clean up, report the status.

mod argv;
mod describe;
mod diagnose;
mod mounts;
pub mod placeholders;
pub(crate) mod preflight;
pub mod state;
mod stderr;

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigmaskHow, kill, pthread_sigmask};
use nix::unistd::Pid;

use crate::SandboxError;
use crate::launcher::Bwrap;
use crate::plan::Plan;
use crate::policy::Resolved;
use crate::spawn::SpawnSettings;
use crate::supervise;
pub(crate) use argv::assemble;
pub(crate) use describe::describe;
use diagnose::diagnose;
pub use placeholders::PlaceholderError;
use placeholders::Placeholders;
pub use preflight::PreflightError;
pub use state::StateError;

/// The descriptor the inner stage reports "command started" on.
pub(crate) const READY_FD: i32 = 4;

/// The descriptor the caller's stderr is passed on for the inner stage to restore; bwrap's
/// own stderr is a pipe the run relays and reads to diagnose a failed start.
pub(crate) const STDERR_FD: i32 = 8;

/// The descriptor bwrap writes its `--info-fd` JSON (with the sandbox's `child-pid`) to.
pub(crate) const INFO_FD: i32 = 5;

/// The descriptor the inner stage reads its mounts from (a sealed memfd).
pub(crate) const MOUNTS_FD: i32 = 6;

/// The descriptor the inner stage finds the host proxy bridges' directory on (network
/// mode `proxy`), see [`crate::proxy`].
pub(crate) const PROXY_DIR_FD: i32 = 7;

/// The descriptors the launch places itself; `--pass-fd` cannot name them.
pub(crate) const RESERVED_FDS: [i32; 5] = [READY_FD, INFO_FD, MOUNTS_FD, PROXY_DIR_FD, STDERR_FD];

/// A plan with its complete bwrap command line, ready to run.
#[derive(Debug)]
pub struct Prepared {
    /// The bwrap the launcher chose and the arguments were rendered for (run through
    /// [`Bwrap::command`], which for the bundled bwrap is the verified descriptor).
    pub bwrap: Bwrap,
    /// bwrap's arguments (without bwrap itself).
    pub args: Vec<OsString>,
    /// The plan the arguments come from.
    pub plan: Plan,
    /// The working directory bwrap is started in (the workspace root).
    pub cwd: PathBuf,
    /// The policy as resolved for the workspace.
    pub resolved: Resolved,
    /// The command's environment, descriptors and limits.
    pub spawn: SpawnSettings,
}

/// Why running bwrap failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The termination signals could not be blocked before the spawn.
    #[error("sigprocmask failed: {0}")]
    BlockSignals(nix::Error),
    /// Waiting for bwrap failed.
    #[error("waitpid on bwrap failed: {0}")]
    Wait(nix::Error),
    /// bwrap exited before the command started.
    #[error("{} exited with status {status} before the command started: {diagnosis}", .bwrap.display())]
    NotStarted {
        /// The bwrap binary.
        bwrap: PathBuf,
        /// Its exit status.
        status: i32,
        /// The diagnosis of its message, or where to find the message.
        diagnosis: String,
    },
}

/// Runs a prepared sandbox: spawns bwrap with the descriptors the plan needs, forwards
/// termination signals, waits, releases this run's placeholders and returns the command's
/// status (128 + N for signal N). Fails if bwrap exits before the command started.
/// bwrap inherits only 0, 1, 2, the launch's own descriptors ([`RESERVED_FDS`];
/// `proxy_dir` becomes [`PROXY_DIR_FD`]) and `prepared.spawn.pass_fds`; it gets exactly
/// `prepared.env` as its environment.
pub(crate) fn execute(
    prepared: &Prepared,
    placeholders: Placeholders,
    proxy_dir: Option<BorrowedFd<'_>>,
) -> Result<i32, SandboxError> {
    let pid = std::process::id();
    let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(|e| SandboxError::io("create a pipe", "(ready pipe)", e.into()))?;
    let ready_write = high_fd(ready_write)?;
    let (info_read, info_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(|e| SandboxError::io("create a pipe", "(info pipe)", e.into()))?;
    let info_write = high_fd(info_write)?;
    let mounts = match prepared.plan.inner_mounts.is_empty() {
        true => None,
        false => Some(high_fd(mounts::sealed(&prepared.plan.inner_mounts)?)?),
    };
    let (err_read, err_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| SandboxError::io("create a pipe", "(bwrap stderr pipe)", e.into()))?;
    let err_write = high_fd(err_write)?;
    let real_stderr = high_fd(
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| SandboxError::io("dup", "stderr", e))?,
    )?;
    // bwrap's own stderr is the relayed pipe; the command gets the real one back from
    // STDERR_FD (the inner stage's --stderr-fd).
    let mut fds = vec![
        (ready_write.as_raw_fd(), READY_FD),
        (info_write.as_raw_fd(), INFO_FD),
        (real_stderr.as_raw_fd(), STDERR_FD),
        (err_write.as_raw_fd(), libc::STDERR_FILENO),
    ];
    fds.extend(mounts.as_ref().map(|m| (m.as_raw_fd(), MOUNTS_FD)));
    // Every source is above the fixed targets, so no dup2 below overwrites one still to come.
    let proxy_dir = match proxy_dir {
        Some(fd) => {
            Some(high_fd(fd.try_clone_to_owned().map_err(|e| {
                SandboxError::io("dup", "(proxy directory)", e)
            })?)?)
        }
        None => None,
    };
    fds.extend(proxy_dir.as_ref().map(|fd| (fd.as_raw_fd(), PROXY_DIR_FD)));
    let mut command = prepared.bwrap.command();
    command
        .args(&prepared.args)
        .current_dir(&prepared.cwd)
        .env_clear()
        .envs(prepared.spawn.env.iter().map(|(k, v)| (k, v)));
    let limits = prepared.spawn.limits;
    let pass_fds = prepared.spawn.pass_fds.clone();
    let previous = supervise::block().map_err(RunError::BlockSignals)?;
    let parent = pid as libc::pid_t;
    // SAFETY: the closure only calls pthread_sigmask, prctl, getppid, close_range, fcntl,
    // setrlimit and dup2, which are async-signal-safe, and allocates nothing; the source
    // descriptors stay open in the parent until spawn returns.
    unsafe {
        command.pre_exec(move || {
            // std does not reset the mask: bwrap must not inherit the blocked signals.
            pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)?;
            // If this process dies, bwrap dies too (and with it the sandbox, through
            // --die-with-parent).
            supervise::die_with_parent(parent)?;
            // Nothing the caller left open reaches bwrap (and through it the command).
            crate::fds::inherit_only(&pass_fds)?;
            for &(source, target) in &fds {
                if libc::dup2(source, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            limits.apply()
        });
    }
    let spawned = command.spawn();
    drop(ready_write);
    drop(info_write);
    drop(mounts);
    drop(err_write);
    drop(real_stderr);
    let relay = stderr::Relay::start(err_read);
    let mut info = Vec::new();
    let outcome = spawned
        .map_err(|e| SandboxError::io("run", &prepared.bwrap.path().display().to_string(), e))
        .and_then(|child| {
            let bwrap = Pid::from_raw(child.id() as i32);
            // Signals go to the inner stage (pid 1 of the sandbox), which passes them on to
            // the command; before bwrap has reported its pid, to bwrap itself.
            supervise::wait(bwrap, false, |signal| {
                let target = sandbox_pid(&info_read, &mut info).unwrap_or(bwrap);
                let _ = kill(target, signal);
            })
            .map_err(|e| RunError::Wait(e).into())
        });
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    let bwrap_messages = relay.finish();
    placeholders.release();
    let outcome = outcome?;
    let mut byte = [0u8; 1];
    let started = matches!(nix::unistd::read(&ready_read, &mut byte), Ok(1));
    match outcome {
        supervise::Outcome::Signaled(_) => Ok(outcome.code()),
        _ if started => Ok(outcome.code()),
        _ => Err(RunError::NotStarted {
            bwrap: prepared.bwrap.path().to_path_buf(),
            status: outcome.code(),
            diagnosis: diagnose(&bwrap_messages, &prepared.plan)
                .unwrap_or_else(|| "see its message above".to_owned()),
        }
        .into()),
    }
}

/// The host pid of the sandbox's pid 1 from bwrap's `--info-fd` output, once written.
fn sandbox_pid(pipe: &OwnedFd, buffer: &mut Vec<u8>) -> Option<Pid> {
    let mut chunk = [0u8; 512];
    while let Ok(n @ 1..) = nix::unistd::read(pipe, &mut chunk) {
        buffer.extend_from_slice(&chunk[..n]);
    }
    let info: serde_json::Value = serde_json::from_slice(buffer).ok()?;
    let pid = info.get("child-pid")?.as_i64()?;
    Some(Pid::from_raw(i32::try_from(pid).ok()?))
}

/// Moves a descriptor to a number above the fixed ones the child expects (close-on-exec).
fn high_fd(fd: OwnedFd) -> Result<OwnedFd, SandboxError> {
    let raw = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(10))
        .map_err(|e| SandboxError::io("dup", "(descriptor)", e.into()))?;
    // SAFETY: fcntl just returned this new descriptor, which nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) })
}
