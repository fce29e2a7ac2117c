//! The monitor (bwrap's original process): reports the sandbox on `--info-fd` and
//! `--json-status-fd`, releases it, and exits with the command's status.

use crate::Launch;
use crate::diag::{die, die_errno};
use crate::setup::fsutil::{borrow, write_all};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::fd::{AsFd, RawFd};

/// The exit status bwrap reports for a finished process: its code, or 128+signal.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => 255,
    }
}

/// `"child-pid": N` followed by the namespace inodes, joined by `separator`.
fn status_fields(pid: Pid, ids: &[(&str, u64)], separator: &str) -> String {
    let mut fields = vec![format!("\"child-pid\": {pid}")];
    fields.extend(
        ids.iter()
            .map(|(kind, inode)| format!("\"{kind}-namespace\": {inode}")),
    );
    fields.join(separator)
}

fn write_report(fd: RawFd, text: &str, what: &str) {
    if let Err(e) = write_all(fd, text.as_bytes()) {
        die_errno(&format!("Write to {what}"), e);
    }
}

/// Reads the sandbox pid sent by the `--pidns` helper, and reaps the helper.
fn pid_from_helper(launch: &Launch, helper: Pid) -> Pid {
    let fd = launch
        .channels
        .pid_report_read
        .unwrap_or_else(|| die("internal: no pid channel"));
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match nix::unistd::read(borrow(fd), &mut buf[got..]) {
            Ok(0) => std::process::exit(1),
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(e) => die_errno("Reading the sandbox pid failed", e),
        }
    }
    let _ = waitpid(helper, None);
    Pid::from_raw(i32::from_ne_bytes(buf))
}

/// Runs the monitor for the cloned `child`; never returns.
pub fn run(launch: &Launch, child: Pid) -> ! {
    let cfg = &launch.cfg;
    let channels = &launch.channels;
    for fd in [
        Some(channels.go_ahead_read),
        channels.exec_report_write,
        channels.pid_report_write,
        channels.tied_write,
    ]
    .into_iter()
    .flatten()
    {
        let _ = nix::unistd::close(fd);
    }
    let sandbox = if cfg.pidns_fd.is_some() {
        pid_from_helper(launch, child)
    } else {
        child
    };
    let reporting = cfg.info_fd.is_some() || cfg.json_status_fd.is_some();
    let ids = if reporting {
        crate::ns::created_namespace_ids(cfg, sandbox)
    } else {
        Vec::new()
    };
    if let Some(fd) = cfg.userns2_fd {
        let userns = nix::sched::CloneFlags::CLONE_NEWUSER;
        crate::ns::join(fd, userns, "Setting userns2 failed");
    }
    if launch.real_uid == 0 {
        crate::process::caps::set(0, 0);
    }
    if cfg.die_with_parent {
        crate::process::exec::die_with_parent();
    }
    if let Some(fd) = channels.tied_read {
        // One byte, or end of file if the sandbox died first (its exit is reported below).
        crate::process::block_on(fd);
        let _ = nix::unistd::close(fd);
    }
    if let Some(fd) = cfg.info_fd {
        let text = format!("{{\n    {}\n}}\n", status_fields(sandbox, &ids, ",\n    "));
        write_report(fd, &text, "info_fd");
        let _ = nix::unistd::close(fd);
    }
    if let Some(fd) = cfg.json_status_fd {
        write_report(
            fd,
            &format!("{{ {} }}\n", status_fields(sandbox, &ids, ", ")),
            "json_status_fd",
        );
    }
    if let Some(fd) = cfg.userns_block_fd {
        crate::process::block_on(fd);
        let _ = nix::unistd::close(fd);
    }
    if let Err(e) = write_all(channels.go_ahead_write, b"g") {
        die_errno("Releasing the sandbox failed", e);
    }
    let _ = nix::unistd::close(channels.go_ahead_write);
    let code = wait_for_command(launch, sandbox);
    if let Some(fd) = cfg.json_status_fd
        && command_was_executed(launch)
    {
        write_report(
            fd,
            &format!("{{ \"exit-code\": {code} }}\n"),
            "json_status_fd",
        );
    }
    std::process::exit(code)
}

/// Whether the command process reached a successful exec (one "x" byte and no "f").
fn command_was_executed(launch: &Launch) -> bool {
    let Some(fd) = launch.channels.exec_report_read else {
        return false;
    };
    let mut buf = [0u8; 2];
    matches!(nix::unistd::read(borrow(fd), &mut buf), Ok(1))
}

/// Waits until the command is done: the init's report when there is an init, otherwise
/// the sandbox process's own exit.
fn wait_for_command(launch: &Launch, sandbox: Pid) -> i32 {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    let flags = SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC;
    let signals = SignalFd::with_flags(&mask, flags)
        .unwrap_or_else(|e| die_errno("Can't create signalfd", e));
    loop {
        if let Ok(status) = waitpid(sandbox, Some(WaitPidFlag::WNOHANG))
            && status != WaitStatus::StillAlive
        {
            return exit_code(status);
        }
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = launch.channels.status {
            fds.push(PollFd::new(borrow(fd), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => die_errno("poll", e),
        }
        let _ = signals.read_signal();
        if let Some(fd) = launch.channels.status {
            let mut value = [0u8; 8];
            if let Ok(8) = nix::unistd::read(borrow(fd), &mut value) {
                return (u64::from_ne_bytes(value) - 1) as i32;
            }
        }
    }
}
