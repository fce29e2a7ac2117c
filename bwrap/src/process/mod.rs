//! The sandbox process: id maps, capability bounding, the mount setup, dropping
//! privileges, then (through an optional pid-1 init) exec of the command.

pub mod caps;
pub mod exec;
mod init;
mod privs;
pub mod seccomp;

use crate::Launch;
use crate::diag::{die, die_errno};
use crate::setup::{self, fsutil};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{ForkResult, chdir, fork, setsid};
use std::ffi::OsString;
use std::os::fd::RawFd;

/// Blocks until the monitor releases the sandbox; exits quietly if the monitor is gone.
fn wait_for_go_ahead(fd: RawFd) {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(fsutil::borrow(fd), &mut byte) {
            Ok(1) => break,
            Ok(_) => std::process::exit(1),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => die_errno("Reading from the monitor failed", e),
        }
    }
    let _ = nix::unistd::close(fd);
}

/// Blocks until one byte (or end of file) can be read from `fd` (`--block-fd` and friends).
pub fn block_on(fd: RawFd) {
    let mut byte = [0u8; 1];
    while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(fsutil::borrow(fd), &mut byte) {}
}

/// Picks the working directory: `--chdir`, else the caller's cwd, else `$HOME`, else `/`.
/// Returns the value for `PWD`.
fn enter_cwd(explicit: Option<&OsString>, old_cwd: Option<&OsString>) -> OsString {
    if let Some(dir) = explicit {
        if let Err(e) = chdir(dir.as_os_str()) {
            die_errno(&format!("Can't chdir to {}", dir.to_string_lossy()), e);
        }
        return dir.clone();
    }
    let home = std::env::var_os("HOME");
    for candidate in [old_cwd, home.as_ref()].into_iter().flatten() {
        if chdir(candidate.as_os_str()).is_ok() {
            return candidate.clone();
        }
    }
    let _ = chdir("/");
    OsString::from("/")
}

/// Runs in the cloned child; never returns.
pub fn sandbox_main(launch: &Launch) -> ! {
    let cfg = &launch.cfg;
    // Rust's runtime ignores SIGPIPE; the command must get the default disposition, as
    // from C bwrap (an ignored signal would survive exec). The monitor keeps ignoring it.
    // SAFETY: restoring the default disposition installs no handler code.
    if let Err(e) = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) } {
        die_errno("Resetting SIGPIPE failed", e);
    }
    if let Some(fd) = launch.channels.tied_write {
        // This process becomes init, so the tie to the monitor is made before anything else,
        // and confirmed to the monitor (which was therefore still alive when it was made).
        exec::die_with_parent();
        let _ = fsutil::write_all(fd, b"t");
    }
    // The monitor's fds (including its ends of our pipes, so that its death reads as end of
    // file) and namespaces already joined: the command must not inherit them.
    let channels = &launch.channels;
    let consumed = [
        cfg.info_fd,
        cfg.json_status_fd,
        cfg.userns_block_fd,
        cfg.userns_fd,
        cfg.pidns_fd,
        Some(channels.go_ahead_write),
        channels.exec_report_read,
        channels.pid_report_read,
        channels.tied_read,
        channels.tied_write,
    ];
    for fd in consumed.into_iter().flatten() {
        let _ = nix::unistd::close(fd);
    }
    wait_for_go_ahead(launch.channels.go_ahead_read);
    if cfg.die_with_parent && cfg.pidns_fd.is_some() {
        // Under --pidns our first parent was the short-lived helper; the monitor (a
        // subreaper) adopted us before releasing us, so the tie is made to it now.
        exec::die_with_parent();
    }
    let requested = privs::enter_first_userns(launch);
    if cfg.unshare.net {
        crate::ns::loopback::bring_up_lo();
    }
    let old_umask = umask(Mode::empty());
    let ops = setup::resolve_sources(&cfg.ops);
    setup::set_fail_open(cfg.not_a_security_boundary);
    if cfg.force_legacy_mount {
        setup::force_legacy();
    }
    setup::build_root(cfg, &ops, &launch.host);
    privs::after_pivot(launch, requested);
    if let Some(fd) = cfg.block_fd {
        block_on(fd);
        let _ = nix::unistd::close(fd);
    }
    let mut programs = cfg.seccomp_programs.clone();
    if let Some(fd) = cfg.seccomp_fd {
        programs.push(seccomp::read_program(fd));
    }
    umask(old_umask);
    let pwd = enter_cwd(cfg.chdir.as_ref(), launch.old_cwd.as_ref());
    // SAFETY: the sandbox process is single-threaded.
    unsafe { std::env::set_var("PWD", &pwd) };
    if cfg.new_session && setsid().is_err() {
        die_errno("setsid", nix::errno::Errno::last());
    }
    if cfg.needs_init() {
        // SAFETY: single-threaded, so fork leaves no lock held by another thread.
        match unsafe { fork() } {
            Ok(ForkResult::Parent { child }) => init::run(launch, child, &programs),
            Ok(ForkResult::Child) => {}
            Err(e) => die_errno("Can't fork for pid 1", e),
        }
    }
    exec::run_command(launch, requested, &programs)
}

/// With `--pidns`: enter the pid namespace, fork the real sandbox process into it (in a
/// nested new one with `--unshare-pid`), tell the monitor its pid and exit.
pub fn spawn_in_pidns(launch: &Launch, pidns: RawFd) -> ! {
    crate::ns::join(
        pidns,
        nix::sched::CloneFlags::CLONE_NEWPID,
        "Setting pidns failed",
    );
    let flags = if launch.cfg.unshare.pid {
        nix::sched::CloneFlags::CLONE_NEWPID
    } else {
        nix::sched::CloneFlags::empty()
    };
    let pid = crate::ns::clone_into(flags, true);
    if pid.as_raw() == 0 {
        sandbox_main(launch);
    }
    let report = launch
        .channels
        .pid_report_write
        .unwrap_or_else(|| die("internal: no pid channel"));
    if let Err(e) = fsutil::write_all(report, &pid.as_raw().to_ne_bytes()) {
        die_errno("Reporting the sandbox pid failed", e);
    }
    std::process::exit(0)
}
