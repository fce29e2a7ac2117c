//! The last steps of the command process and its `execvp`.

use super::caps::{self, CapSet};
use super::seccomp;
use crate::Launch;
use crate::diag::{die_errno, show};
use crate::setup::fsutil::write_all;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// Sets `PR_SET_PDEATHSIG` to SIGKILL (`--die-with-parent`).
pub fn die_with_parent() {
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
        die_errno("prctl(PR_SET_PDEATHSIG)", e);
    }
}

fn to_cstring(arg: &std::ffi::OsStr) -> CString {
    CString::new(arg.as_bytes())
        .unwrap_or_else(|_| crate::diag::die("argument contains a NUL byte"))
}

/// Final preparation and exec of COMMAND; never returns.
pub fn run_command(launch: &Launch, requested: CapSet, programs: &[Vec<u8>]) -> ! {
    let cfg = &launch.cfg;
    let _ = nix::unistd::close(launch.proc_fd);
    if let Some(fd) = cfg.sync_fd.filter(|_| !cfg.as_pid_1) {
        let _ = nix::unistd::close(fd);
    }
    if let Some(fd) = launch.channels.status {
        let _ = nix::unistd::close(fd);
    }
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    if let Err(e) = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&chld), None) {
        die_errno("sigprocmask", e);
    }
    if cfg.die_with_parent {
        die_with_parent();
    }
    caps::raise_ambient(requested);
    seccomp::install_all(programs);
    let file = to_cstring(&cfg.command[0]);
    let mut argv: Vec<CString> = cfg.command.iter().map(|a| to_cstring(a)).collect();
    if let Some(argv0) = &cfg.argv0 {
        argv[0] = to_cstring(argv0);
    }
    let report = launch.channels.exec_report_write;
    if let Some(fd) = report {
        let _ = write_all(fd, b"x");
    }
    let err = nix::unistd::execvp(&file, &argv).unwrap_err();
    if let Some(fd) = report {
        let _ = write_all(fd, b"f");
    }
    die_errno(&format!("execvp {}", show(cfg.command[0].as_bytes())), err)
}
