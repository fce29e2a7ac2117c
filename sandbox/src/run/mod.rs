//! The run pipeline: preflight, plan, spawn bwrap, wait, clean up, report the status.

mod argv;
mod describe;
mod diagnose;
mod early;
mod mounts;
pub mod placeholders;
pub(crate) mod preflight;
pub mod state;
mod stderr;

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigSet, SigmaskHow, kill, pthread_sigmask};
use nix::unistd::Pid;

use crate::SandboxError;
use crate::launcher::Bwrap;
use crate::plan::Plan;
use crate::plan::mounts::MountOp;
use crate::policy::Resolved;
use crate::spawn::SpawnSettings;
use crate::supervise;
pub(crate) use argv::assemble;
pub(crate) use describe::describe;
use diagnose::diagnose;
pub(crate) use early::Early;
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

/// How the inner stage gets its mount list on [`MOUNTS_FD`].
pub(crate) enum MountList<'a> {
    /// Written now into a sealed memfd (no descriptor when the list is empty).
    Now(&'a [MountOp]),
    /// A pipe, written by [`Started::send_mounts`] once the list is known: the inner
    /// stage reads it to its end before anything else, so the command cannot start
    /// before the whole list has arrived and been applied.
    Later,
}

/// A bwrap spawned by [`start`], not yet waited for.
pub(crate) struct Started {
    child: std::process::Child,
    ready_read: OwnedFd,
    info_read: OwnedFd,
    relay: stderr::Relay,
    previous: SigSet,
    mounts_pipe: Option<OwnedFd>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Runs a prepared sandbox: [`start`] and [`Started::finish`].
pub(crate) fn execute(
    prepared: &Prepared,
    placeholders: Placeholders,
    proxy_dir: Option<BorrowedFd<'_>>,
) -> Result<i32, SandboxError> {
    let list = MountList::Now(&prepared.plan.inner_mounts);
    match start(prepared, list, proxy_dir) {
        Ok(started) => started.finish(prepared, placeholders),
        Err(e) => {
            placeholders.release();
            Err(e)
        }
    }
}

/// Spawns bwrap for `prepared` with the descriptors the plan needs, with the termination
/// signals blocked (until [`Started::finish`] or [`Started::abandon`]). bwrap inherits
/// only 0, 1, 2, the launch's own descriptors ([`RESERVED_FDS`]; `proxy_dir` becomes
/// [`PROXY_DIR_FD`]) and `prepared.spawn.pass_fds`; it gets exactly `prepared.env` as its
/// environment.
pub(crate) fn start(
    prepared: &Prepared,
    list: MountList<'_>,
    proxy_dir: Option<BorrowedFd<'_>>,
) -> Result<Started, SandboxError> {
    let pid = std::process::id();
    let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(|e| SandboxError::io("create a pipe", "(ready pipe)", e.into()))?;
    let ready_write = high_fd(ready_write)?;
    let (info_read, info_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(|e| SandboxError::io("create a pipe", "(info pipe)", e.into()))?;
    let info_write = high_fd(info_write)?;
    let (mounts, mounts_pipe) = match list {
        MountList::Now([]) => (None, None),
        MountList::Now(ops) => (Some(high_fd(mounts::sealed(ops)?)?), None),
        MountList::Later => {
            let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| {
                SandboxError::io("create a pipe", "(inner-stage mount list)", e.into())
            })?;
            (Some(high_fd(read)?), Some(write))
        }
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
    match spawned {
        Ok(child) => Ok(Started {
            child,
            ready_read,
            info_read,
            relay,
            previous,
            mounts_pipe,
            writer: None,
        }),
        Err(e) => {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
            relay.finish();
            Err(SandboxError::io(
                "run",
                &prepared.bwrap.path().display().to_string(),
                e,
            ))
        }
    }
}

impl Started {
    /// Writes the mount list for [`MountList::Later`] (with this process's uid and gid)
    /// on a thread of its own, so that signals keep being forwarded while the inner stage
    /// has not read it yet. A write that fails (bwrap already gone) leaves the inner stage
    /// a list it refuses; [`Started::finish`] then reports why bwrap stopped.
    pub(crate) fn send_mounts(&mut self, ops: &[MountOp]) -> Result<(), SandboxError> {
        let Some(pipe) = self.mounts_pipe.take() else {
            return Ok(());
        };
        let text = mounts::payload(ops)?;
        self.writer = Some(std::thread::spawn(move || {
            let _ = std::fs::File::from(pipe).write_all(&text);
        }));
        Ok(())
    }

    /// Calls off a launch whose command must not run: closes the mount list unwritten
    /// (the inner stage then exits at once, without a message, before the command), waits
    /// for bwrap, drops its messages and restores the signal mask. bwrap is not killed: a
    /// C bwrap killed before it released its sandbox leaves that process waiting forever.
    pub(crate) fn abandon(mut self) {
        drop(self.mounts_pipe.take());
        let _ = self.child.wait();
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.previous), None);
        self.relay.finish();
    }

    /// Forwards termination signals, waits, releases this run's placeholders and returns
    /// the command's status (128 + N for signal N). Fails if bwrap exits before the
    /// command started.
    pub(crate) fn finish(
        mut self,
        prepared: &Prepared,
        placeholders: Placeholders,
    ) -> Result<i32, SandboxError> {
        // A list never sent is an empty one: the inner stage refuses it.
        drop(self.mounts_pipe.take());
        let bwrap = Pid::from_raw(self.child.id() as i32);
        let mut info = Vec::new();
        let info_read = &self.info_read;
        // Signals go to the inner stage (pid 1 of the sandbox), which passes them on to
        // the command; before bwrap has reported its pid, to bwrap itself.
        let outcome = supervise::wait(bwrap, false, |signal| {
            let target = sandbox_pid(info_read, &mut info).unwrap_or(bwrap);
            let _ = kill(target, signal);
        })
        .map_err(RunError::Wait);
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.previous), None);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let bwrap_messages = self.relay.finish();
        placeholders.release();
        let outcome = outcome?;
        let mut byte = [0u8; 1];
        let started = matches!(nix::unistd::read(&self.ready_read, &mut byte), Ok(1));
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
