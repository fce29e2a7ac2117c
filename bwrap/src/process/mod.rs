//! The sandbox process: id maps, capability bounding, the mount setup, dropping
//! privileges, then (through an optional pid-1 init) exec of the command.

pub(crate) mod caps;
pub(crate) mod exec;
mod init;
mod privs;
pub(crate) mod seccomp;

use crate::Launch;
use crate::channels::SandboxEnds;
use crate::error::{SetupError, failed};
use crate::{fd, setup};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{Pid, chdir, setsid};
use std::ffi::OsString;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

/// Blocks until the monitor releases the sandbox. `Ok(false)`: the monitor is gone, and
/// the sandbox exits quietly.
fn wait_for_go_ahead(go_ahead: OwnedFd) -> Result<bool, SetupError> {
    let mut byte = [0u8; 1];
    fd::read_exact(&go_ahead, &mut byte).map_err(failed("Reading from the monitor failed"))
}

/// [`fd::block_on`] for a descriptor number from the command line, closed afterwards.
fn block_on_given(fd: RawFd) {
    // SAFETY: `fd` is a descriptor number from the command line, handed to bwrap to wait on
    // and close; no Rust object of this process owns it, and it stays open until the close
    // below (a number that is not open makes the read fail with EBADF).
    fd::block_on(unsafe { BorrowedFd::borrow_raw(fd) });
    let _ = nix::unistd::close(fd);
}

/// Picks the working directory: `--chdir`, else the caller's cwd, else `$HOME`, else `/`.
/// Returns the value for `PWD`.
fn enter_cwd(
    explicit: Option<&OsString>,
    old_cwd: Option<&OsString>,
) -> Result<OsString, SetupError> {
    if let Some(dir) = explicit {
        chdir(dir.as_os_str())
            .map_err(|e| SetupError::sys(format!("Can't chdir to {}", dir.to_string_lossy()), e))?;
        return Ok(dir.clone());
    }
    let home = std::env::var_os("HOME");
    for candidate in [old_cwd, home.as_ref()].into_iter().flatten() {
        if chdir(candidate.as_os_str()).is_ok() {
            return Ok(candidate.clone());
        }
    }
    let _ = chdir("/");
    Ok(OsString::from("/"))
}

/// Runs in the cloned child; returns only to exit: with an error, init's status, or 1
/// when the monitor is gone.
pub(crate) fn sandbox_main(launch: Launch, mut ends: SandboxEnds) -> Result<i32, SetupError> {
    let cfg = &launch.cfg;
    // Rust's runtime ignores SIGPIPE; the command must get the default disposition, as
    // from C bwrap (an ignored signal would survive exec). The monitor keeps ignoring it.
    // SAFETY: restoring the default disposition installs no handler code.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }
        .map_err(failed("Resetting SIGPIPE failed"))?;
    if let Some(tie) = ends.tied.take() {
        // This process becomes init, so the tie to the monitor is made before anything else,
        // and confirmed to the monitor (which was therefore still alive when it was made).
        exec::die_with_parent()?;
        let _ = fd::write_all(&tie, b"t");
    }
    // The monitor's descriptors and namespaces already joined: the command must not
    // inherit them.
    let consumed = [
        cfg.info_fd,
        cfg.json_status_fd,
        cfg.userns_block_fd,
        cfg.userns_fd,
        cfg.pidns_fd,
    ];
    for fd in consumed.into_iter().flatten() {
        let _ = nix::unistd::close(fd);
    }
    if !wait_for_go_ahead(ends.go_ahead)? {
        return Ok(1);
    }
    if cfg.die_with_parent && cfg.pidns_fd.is_some() {
        // Under --pidns our first parent was the short-lived helper; the monitor (a
        // subreaper) adopted us before releasing us, so the tie is made to it now.
        exec::die_with_parent()?;
    }
    let requested = privs::enter_first_userns(&launch)?;
    if cfg.unshare.net {
        crate::ns::loopback::bring_up_lo()?;
    }
    let old_umask = umask(Mode::empty());
    let ops = setup::resolve_sources(&cfg.ops)?;
    if cfg.force_legacy_mount {
        setup::force_legacy();
    }
    setup::build_root(cfg, &ops, &launch.host)?;
    privs::after_pivot(&launch, requested)?;
    if let Some(fd) = cfg.block_fd {
        block_on_given(fd);
    }
    let mut programs = cfg.seccomp_programs.clone();
    if let Some(fd) = cfg.seccomp_fd {
        programs.push(seccomp::read_program(fd)?);
    }
    umask(old_umask);
    let pwd = enter_cwd(cfg.chdir.as_ref(), launch.old_cwd.as_ref())?;
    // SAFETY: the sandbox process is single-threaded.
    unsafe { std::env::set_var("PWD", &pwd) };
    if cfg.new_session && setsid().is_err() {
        return Err(SetupError::sys("setsid", nix::errno::Errno::last()));
    }
    let last = exec::CommandEnds {
        exec_report: ends.exec_report,
        requested,
    };
    if cfg.needs_init() {
        let command = start_command(&launch, &last, &programs)?;
        init::run(&launch, ends.status, command, &programs)
    }
    match exec::run_command(&launch, &last, &programs)? {}
}

/// Starts the command process beside init without copying this process's memory
/// (`uapi::vfork`): it runs [`exec::run_command`] and ends in the command's exec or, with
/// the error printed, in status 1. Returns once it has done either.
fn start_command(
    launch: &Launch,
    last: &exec::CommandEnds,
    programs: &[Vec<u8>],
) -> Result<Pid, SetupError> {
    let mut child = || {
        let Err(err) = exec::run_command(launch, last, programs);
        crate::diag::error(&err);
        1
    };
    // SAFETY: this process is single-threaded and installs no signal handlers. The child
    // only borrows launch, last and programs; what it allocates stays allocated here once
    // it has exec'd (a few command-line strings); it ends in exec or by returning (a panic
    // aborts: it cannot unwind out of the child's `extern "C"` entry).
    unsafe { uapi::vfork::spawn_shared(&mut child) }
        .map_err(|e| SetupError::sys("Can't fork for pid 1", e))
}

/// With `--pidns`: enter the pid namespace, fork the real sandbox process into it (in a
/// nested new one with `--unshare-pid`), tell the monitor its pid and exit.
pub(crate) fn spawn_in_pidns(
    launch: Launch,
    mut ends: SandboxEnds,
    pidns: RawFd,
) -> Result<i32, SetupError> {
    // SAFETY: `pidns` is a descriptor number from the command line; no Rust object of this
    // process owns or closes it during the call (a number that is not open fails EBADF).
    let pidns = unsafe { BorrowedFd::borrow_raw(pidns) };
    crate::ns::join(
        pidns,
        nix::sched::CloneFlags::CLONE_NEWPID,
        "Setting pidns failed",
    )?;
    let flags = if launch.cfg.unshare.pid {
        nix::sched::CloneFlags::CLONE_NEWPID
    } else {
        nix::sched::CloneFlags::empty()
    };
    let report = ends
        .pid_report
        .take()
        .ok_or_else(|| SetupError::msg("internal: no pid channel"))?;
    let pid = crate::ns::clone_into(flags, true)?;
    if pid.as_raw() == 0 {
        drop(report);
        return sandbox_main(launch, ends);
    }
    fd::write_all(&report, &pid.as_raw().to_ne_bytes())
        .map_err(failed("Reporting the sandbox pid failed"))?;
    Ok(0)
}
