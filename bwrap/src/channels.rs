//! The descriptors linking the monitor, the sandbox process and its init: created before
//! the clone, then split so that each process owns its ends and drops the others'.

use crate::args::Config;
use crate::error::{SetupError, failed};
use crate::fd::pipe;
use nix::errno::Errno;
use std::os::fd::{FromRawFd, OwnedFd};

/// Every channel, before the clone.
pub(crate) struct Channels {
    /// eventfd on which init reports the command's exit status + 1 (read by the monitor).
    status: Option<OwnedFd>,
    monitor: MonitorEnds,
    sandbox: SandboxEnds,
}

/// The monitor's ends.
pub(crate) struct MonitorEnds {
    /// Written once the sandbox has been reported: it may go ahead.
    pub(crate) go_ahead: OwnedFd,
    /// See [`Channels`]: init's report of the command's exit status.
    pub(crate) status: Option<OwnedFd>,
    /// `--json-status-fd`: "x" right before the command's exec, "f" if it failed.
    pub(crate) exec_report: Option<OwnedFd>,
    /// `--pidns`: the helper sends the sandbox's pid.
    pub(crate) pid_report: Option<OwnedFd>,
    /// `--die-with-parent`: the sandbox writes one byte once its parent-death signal is
    /// set, and the monitor waits for it before reporting or releasing the sandbox, so the
    /// monitor cannot die unnoticed in between.
    pub(crate) tied: Option<OwnedFd>,
}

/// The sandbox's ends (the write ends of the monitor's read ends and vice versa).
pub(crate) struct SandboxEnds {
    /// Read until the monitor releases the sandbox.
    pub(crate) go_ahead: OwnedFd,
    /// See [`Channels`]: kept by init, closed before the command's exec.
    pub(crate) status: Option<OwnedFd>,
    /// The command's end of the exec report.
    pub(crate) exec_report: Option<OwnedFd>,
    /// The `--pidns` helper's end of the pid report.
    pub(crate) pid_report: Option<OwnedFd>,
    /// The sandbox's end of the `--die-with-parent` tie.
    pub(crate) tied: Option<OwnedFd>,
}

/// A close-on-exec pipe, or upstream's message.
fn make_pipe(nonblocking_read: bool) -> Result<(OwnedFd, OwnedFd), SetupError> {
    pipe(nonblocking_read).map_err(failed("pipe2"))
}

/// A close-on-exec, nonblocking eventfd.
fn eventfd() -> Result<OwnedFd, SetupError> {
    // SAFETY: eventfd takes plain integer arguments and returns a new fd or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(SetupError::sys("eventfd", Errno::last()));
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Channels {
    /// The channels `cfg` needs.
    pub(crate) fn new(cfg: &Config) -> Result<Channels, SetupError> {
        let (go_ahead_read, go_ahead_write) = make_pipe(false)?;
        let status = cfg.needs_init().then(eventfd).transpose()?;
        let exec = cfg.json_status_fd.map(|_| make_pipe(true)).transpose()?;
        let pid = cfg.pidns_fd.map(|_| make_pipe(false)).transpose()?;
        let tie = cfg.die_with_parent && cfg.pidns_fd.is_none();
        let tied = tie.then(|| make_pipe(false)).transpose()?;
        let (exec_read, exec_write) = exec.unzip();
        let (pid_read, pid_write) = pid.unzip();
        let (tied_read, tied_write) = tied.unzip();
        Ok(Channels {
            status,
            monitor: MonitorEnds {
                go_ahead: go_ahead_write,
                status: None,
                exec_report: exec_read,
                pid_report: pid_read,
                tied: tied_read,
            },
            sandbox: SandboxEnds {
                go_ahead: go_ahead_read,
                status: None,
                exec_report: exec_write,
                pid_report: pid_write,
                tied: tied_write,
            },
        })
    }

    /// The monitor's ends; the sandbox's are closed.
    pub(crate) fn into_monitor(self) -> MonitorEnds {
        MonitorEnds {
            status: self.status,
            ..self.monitor
        }
    }

    /// The sandbox's ends; the monitor's are closed (so that its death reads as end of file).
    pub(crate) fn into_sandbox(self) -> SandboxEnds {
        SandboxEnds {
            status: self.status,
            ..self.sandbox
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd::{read_exact, write_all};

    fn config() -> Config {
        Config {
            json_status_fd: Some(1),
            die_with_parent: true,
            sync_fd: Some(1),
            ..Config::default()
        }
    }

    #[test]
    fn the_monitor_keeps_none_of_the_sandbox_ends() {
        let ends = Channels::new(&config()).unwrap().into_monitor();
        assert!(ends.status.is_some());
        // The sandbox's read end is closed: the release finds no reader (SIGPIPE is
        // ignored by the test harness).
        assert_eq!(write_all(&ends.go_ahead, b"g"), Err(Errno::EPIPE));
        // The sandbox's write ends are closed: the monitor reads end of file.
        assert!(!read_exact(ends.tied.as_ref().unwrap(), &mut [0u8; 1]).unwrap());
        assert!(!read_exact(ends.exec_report.as_ref().unwrap(), &mut [0u8; 1]).unwrap());
    }

    #[test]
    fn the_sandbox_keeps_none_of_the_monitor_ends() {
        let ends = Channels::new(&config()).unwrap().into_sandbox();
        assert!(ends.status.is_some());
        assert!(!read_exact(&ends.go_ahead, &mut [0u8; 1]).unwrap());
        let tied = ends.tied.as_ref().unwrap();
        assert_eq!(write_all(tied, b"t"), Err(Errno::EPIPE));
    }
}
