//! `bwrap`: a bubblewrap-compatible sandbox launcher (unprivileged user-namespace mode and
//! plain-root mode; never setuid).
//!
//! Flow: parse argv into an `args::Config` → clone into new namespaces → the child builds
//! the root (`setup`), drops privileges and execs (`process`) while the parent reports and
//! waits (`monitor`). Each process's failure comes back here as an error; [`run`] prints it
//! and exits.

mod args;
mod bpf;
mod channels;
mod diag;
mod error;
mod fd;
mod monitor;
mod ns;
mod process;
mod setup;
mod wait;

use args::Config;
use channels::Channels;
use error::{SetupError, failed};
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::sys::stat::Mode;
use nix::unistd::{getgid, getuid, isatty};
use std::ffi::OsString;
use std::os::fd::{BorrowedFd, RawFd};

/// Everything the monitor and the sandbox process share after the clone.
pub(crate) struct Launch {
    /// The settled command line.
    pub(crate) cfg: Config,
    /// The caller's real uid.
    pub(crate) real_uid: u32,
    /// The caller's real gid.
    pub(crate) real_gid: u32,
    /// A root caller's effective capabilities before any namespace was created: what the
    /// command keeps unless `--cap-drop` (a new user namespace would show a full set).
    pub(crate) root_caps: process::caps::CapSet,
    /// The caller's working directory, tried again inside the sandbox.
    pub(crate) old_cwd: Option<OsString>,
    /// What the setup needs besides the op queue, `/proc` opened before the pivot included.
    pub(crate) host: setup::HostContext,
}

impl Launch {
    /// The uid the command runs as.
    pub(crate) fn sandbox_uid(&self) -> u32 {
        self.cfg.uid.unwrap_or(self.real_uid)
    }

    /// The gid the command runs as.
    pub(crate) fn sandbox_gid(&self) -> u32 {
        self.cfg.gid.unwrap_or(self.real_gid)
    }
}

/// Refuses setuid (and setgid) installs and leftover file capabilities, then sets
/// no_new_privs.
fn check_privilege_mode(real_uid: u32) -> Result<(), SetupError> {
    let setgid = nix::unistd::getegid() != nix::unistd::getgid();
    if nix::unistd::geteuid().as_raw() != real_uid || setgid {
        return Err(SetupError::msg(
            "this bwrap does not support setuid or setgid mode; remove the bit (chmod u-s,g-s) and use unprivileged user namespaces",
        ));
    }
    process::caps::assert_none_unless_root(real_uid)?;
    nix::sys::prctl::set_no_new_privs().map_err(failed("prctl(PR_SET_NO_NEW_PRIVS) failed"))
}

/// The whole program: the one place that prints a failure and exits, in each process
/// (monitor, sandbox, `--pidns` helper, init) with its own status.
pub fn run() -> ! {
    match launch() {
        Ok(status) => std::process::exit(status),
        Err(err) => diag::fatal(&err),
    }
}

/// Parses the command line and starts the sandbox; returns this process's exit status.
fn launch() -> Result<i32, SetupError> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.len() == 2 && argv[1] == "--version" {
        print!("{}", args::version());
        return Ok(0);
    }
    // SAFETY: restoring the default disposition installs no handler code.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    let (real_uid, real_gid) = (getuid().as_raw(), getgid().as_raw());
    check_privilege_mode(real_uid)?;
    let stdout_tty = isatty(std::io::stdout())
        .unwrap_or(false)
        .then(|| nix::unistd::ttyname(std::io::stdout()).ok())
        .flatten();
    let mut effects = args::Live;
    let cfg = match args::command_line(&argv, &mut effects, real_uid, real_gid) {
        Ok(args::Parsed::Run(cfg)) => *cfg,
        Ok(args::Parsed::Help(text) | args::Parsed::Version(text)) => {
            print!("{text}");
            std::process::exit(0)
        }
        Err(args::ArgError::MissingCommand(usage)) => {
            eprint!("{usage}");
            std::process::exit(1)
        }
        Err(err) => return Err(SetupError::msg(err.to_string())),
    };
    let proc_fd = open(
        "/proc",
        OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_DIRECTORY,
        Mode::empty(),
    )
    .map_err(failed("Can't open /proc"))?;
    let host = setup::HostContext {
        new_pid_ns: cfg.unshare.pid || cfg.pidns_fd.is_some(),
        proc_fd,
        stdout_tty,
        fail_open: cfg.not_a_security_boundary,
    };
    let channels = Channels::new(&cfg)?;
    let launch = Launch {
        old_cwd: std::env::current_dir().ok().map(|p| p.into_os_string()),
        cfg,
        real_uid,
        real_gid,
        root_caps: if real_uid == 0 {
            process::caps::current()?.0
        } else {
            0
        },
        host,
    };
    start(launch, channels)
}

/// `--userns FD`: joined before the clone, with upstream's explanation for EINVAL.
fn join_userns(fd: RawFd) -> Result<(), SetupError> {
    let userns = nix::sched::CloneFlags::CLONE_NEWUSER;
    // SAFETY: `fd` is a descriptor number from the command line; no Rust object of this
    // process owns or closes it during the call (a number that is not open fails EBADF).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    match nix::sched::setns(fd, userns) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL) => Err(SetupError::msg(
            "Joining the specified user namespace failed, it might not be a descendant of the current user namespace.",
        )),
        Err(e) => Err(SetupError::sys(
            "Joining specified user namespace failed",
            e,
        )),
    }
}

fn start(launch: Launch, channels: Channels) -> Result<i32, SetupError> {
    let cfg = &launch.cfg;
    if let Some(fd) = cfg.userns_fd {
        join_userns(fd)?;
    }
    if cfg.pidns_fd.is_some() {
        nix::sys::prctl::set_child_subreaper(true)
            .map_err(failed("prctl(PR_SET_CHILD_SUBREAPER)"))?;
    }
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&chld), None).map_err(failed("sigprocmask"))?;
    let pid = ns::clone_into(ns::clone_flags(cfg), launch.real_uid == 0)?;
    if pid.as_raw() != 0 {
        return monitor::run(&launch, channels.into_monitor(), pid);
    }
    let ends = channels.into_sandbox();
    if let Some(pidns) = cfg.pidns_fd {
        return process::spawn_in_pidns(launch, ends, pidns);
    }
    process::sandbox_main(launch, ends)
}
