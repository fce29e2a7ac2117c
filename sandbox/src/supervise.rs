//! Waiting for a child while forwarding termination signals to it.
//!
//! Shared by the outer `run` (supervising bwrap) and the inner stage (pid 1 of the sandbox,
//! supervising the command and reaping every orphan). The forwarded signals and `SIGCHLD`
//! are blocked before the child is created and received with `sigwait`, so none is lost
//! and no handler runs at an awkward time.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// The signals passed on to the supervised child.
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
];

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exited(i32),
    /// It was killed by this signal number.
    Signaled(i32),
}

impl Outcome {
    /// The shell convention: the exit status, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            Outcome::Exited(code) => code,
            Outcome::Signaled(signal) => 128 + signal,
        }
    }
}

/// The forwarded signals plus `SIGCHLD`.
fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Blocks the watched signals on this thread, returning the previous mask (to restore in
/// a forked child before exec).
pub fn block() -> nix::Result<SigSet> {
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&watched()), Some(&mut previous))?;
    Ok(previous)
}

/// Waits until `child` ends, calling `forward` for every forwarded signal received. With
/// `reap_all`, other children (orphans re-parented to pid 1) are reaped along the way.
/// Requires [`block`] to have been called before `child` was created.
pub fn wait(child: Pid, reap_all: bool, mut forward: impl FnMut(Signal)) -> nix::Result<Outcome> {
    let set = watched();
    let target = if reap_all { None } else { Some(child) };
    loop {
        loop {
            match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => {
                    return Ok(Outcome::Exited(code));
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == child => {
                    return Ok(Outcome::Signaled(signal as i32));
                }
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
        let signal = set.wait()?;
        if signal != Signal::SIGCHLD {
            forward(signal);
        }
    }
}

/// For a freshly forked child (async-signal-safe): asks for `SIGKILL` when the parent
/// thread dies, and fails with `ESRCH` if `parent` is already gone (re-parented before the
/// `prctl` took effect).
pub fn die_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    if nix::unistd::getppid().as_raw() != parent {
        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}
