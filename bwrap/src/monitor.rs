//! The monitor (bwrap's original process): reports the sandbox on `--info-fd` and
//! `--json-status-fd`, releases it, and returns the command's status.

use crate::Launch;
use crate::channels::MonitorEnds;
use crate::error::{SetupError, failed};
use crate::fd::{block_on, read_exact, write_all};
use crate::wait::exit_code;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

/// `"child-pid": N` followed by the namespace inodes, joined by `separator`.
fn status_fields(pid: Pid, ids: &[(&str, u64)], separator: &str) -> String {
    let mut fields = vec![format!("\"child-pid\": {pid}")];
    fields.extend(
        ids.iter()
            .map(|(kind, inode)| format!("\"{kind}-namespace\": {inode}")),
    );
    fields.join(separator)
}

fn write_report(fd: RawFd, text: &str, what: &str) -> Result<(), SetupError> {
    // SAFETY: `fd` is `--info-fd` or `--json-status-fd`, a descriptor number from the
    // command line that nothing in this process owns (one not open fails with EBADF).
    write_all(unsafe { BorrowedFd::borrow_raw(fd) }, text.as_bytes())
        .map_err(|e| SetupError::sys(format!("Write to {what}"), e))
}

/// Reads the sandbox pid sent by the `--pidns` helper, and reaps the helper. `None`: the
/// helper died without sending it.
fn pid_from_helper(report: &OwnedFd, helper: Pid) -> Result<Option<Pid>, SetupError> {
    let mut buf = [0u8; 4];
    if !read_exact(report, &mut buf).map_err(failed("Reading the sandbox pid failed"))? {
        return Ok(None);
    }
    let _ = waitpid(helper, None);
    Ok(Some(Pid::from_raw(i32::from_ne_bytes(buf))))
}

/// Runs the monitor for the cloned `child`; returns the command's exit status.
pub(crate) fn run(launch: &Launch, ends: MonitorEnds, child: Pid) -> Result<i32, SetupError> {
    let cfg = &launch.cfg;
    let sandbox = match &ends.pid_report {
        Some(report) => match pid_from_helper(report, child)? {
            Some(pid) => pid,
            None => return Ok(1),
        },
        None => child,
    };
    let reporting = cfg.info_fd.is_some() || cfg.json_status_fd.is_some();
    let ids = if reporting {
        crate::ns::created_namespace_ids(cfg, sandbox)
    } else {
        Vec::new()
    };
    if let Some(fd) = cfg.userns2_fd {
        let userns = nix::sched::CloneFlags::CLONE_NEWUSER;
        // SAFETY: `--userns2`, a descriptor number from the command line that nothing in
        // this process owns (one not open fails with EBADF).
        let userns2 = unsafe { BorrowedFd::borrow_raw(fd) };
        crate::ns::join(userns2, userns, "Setting userns2 failed")?;
    }
    if launch.real_uid == 0 {
        crate::process::caps::set(0, 0)?;
    }
    if cfg.die_with_parent {
        crate::process::exec::die_with_parent()?;
    }
    if let Some(tie) = ends.tied {
        // One byte, or end of file if the sandbox died first (its exit is reported below).
        block_on(&tie);
    }
    if let Some(fd) = cfg.info_fd {
        let text = format!("{{\n    {}\n}}\n", status_fields(sandbox, &ids, ",\n    "));
        write_report(fd, &text, "info_fd")?;
        let _ = nix::unistd::close(fd);
    }
    if let Some(fd) = cfg.json_status_fd {
        let text = format!("{{ {} }}\n", status_fields(sandbox, &ids, ", "));
        write_report(fd, &text, "json_status_fd")?;
    }
    if let Some(fd) = cfg.userns_block_fd {
        // SAFETY: `--userns-block-fd`, a descriptor number from the command line that
        // nothing in this process owns; closed right after (one not open fails EBADF).
        block_on(unsafe { BorrowedFd::borrow_raw(fd) });
        let _ = nix::unistd::close(fd);
    }
    write_all(&ends.go_ahead, b"g").map_err(failed("Releasing the sandbox failed"))?;
    drop(ends.go_ahead);
    let code = wait_for_command(ends.status.as_ref(), sandbox)?;
    if let Some(fd) = cfg.json_status_fd
        && command_was_executed(ends.exec_report.as_ref())
    {
        write_report(
            fd,
            &format!("{{ \"exit-code\": {code} }}\n"),
            "json_status_fd",
        )?;
    }
    Ok(code)
}

/// Whether the command process reached a successful exec (one "x" byte and no "f").
fn command_was_executed(exec_report: Option<&OwnedFd>) -> bool {
    let Some(fd) = exec_report else {
        return false;
    };
    let mut buf = [0u8; 2];
    matches!(nix::unistd::read(fd, &mut buf), Ok(1))
}

/// Waits until the command is done: init's report on `status` when there is an init,
/// otherwise the sandbox process's own exit.
fn wait_for_command(status: Option<&OwnedFd>, sandbox: Pid) -> Result<i32, SetupError> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    let flags = SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC;
    let signals = SignalFd::with_flags(&mask, flags).map_err(failed("Can't create signalfd"))?;
    loop {
        if let Ok(exited) = waitpid(sandbox, Some(WaitPidFlag::WNOHANG))
            && exited != WaitStatus::StillAlive
        {
            return Ok(exit_code(exited));
        }
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = status {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(SetupError::sys("poll", e)),
        }
        let _ = signals.read_signal();
        if let Some(fd) = status {
            let mut value = [0u8; 8];
            if let Ok(8) = nix::unistd::read(fd, &mut value) {
                return Ok((u64::from_ne_bytes(value) - 1) as i32);
            }
        }
    }
}
