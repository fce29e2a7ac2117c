//! `bwrap`: a bubblewrap-compatible sandbox launcher (unprivileged user-namespace mode and
//! plain-root mode; never setuid).
//!
//! Flow: parse argv into a [`args::Config`] → clone into new namespaces → the child builds
//! the root ([`setup`]), drops privileges and execs ([`process`]) while the parent
//! reports and waits ([`monitor`]).

pub mod args;
pub mod diag;
pub mod monitor;
pub mod ns;
pub mod process;
pub mod setup;

use args::Config;
use diag::{die, die_errno};
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::sys::stat::Mode;
use nix::unistd::{getgid, getuid, isatty, pipe2};
use std::ffi::OsString;
use std::os::fd::{IntoRawFd, RawFd};

/// The fds that link the monitor, the sandbox process and its init.
#[derive(Debug)]
pub struct Channels {
    /// The sandbox waits on this until the monitor has reported it.
    pub go_ahead_read: RawFd,
    /// The monitor's end of the go-ahead pipe.
    pub go_ahead_write: RawFd,
    /// eventfd on which init reports the command's exit status + 1 (read by the monitor).
    pub status: Option<RawFd>,
    /// The command writes "x" right before exec and "f" if exec failed (`--json-status-fd`).
    pub exec_report_read: Option<RawFd>,
    /// The command's end of the exec report pipe.
    pub exec_report_write: Option<RawFd>,
    /// `--pidns`: the helper sends the sandbox's pid.
    pub pid_report_read: Option<RawFd>,
    /// The `--pidns` helper's end of the pid pipe.
    pub pid_report_write: Option<RawFd>,
    /// `--die-with-parent`: the sandbox writes one byte once its parent-death signal is
    /// set, and the monitor waits for it before reporting or releasing the sandbox, so the
    /// monitor cannot die unnoticed in between.
    pub tied_read: Option<RawFd>,
    /// The sandbox's end of the `tied` pipe.
    pub tied_write: Option<RawFd>,
}

fn make_pipe(nonblocking_read: bool) -> (RawFd, RawFd) {
    let (r, w) = pipe2(OFlag::O_CLOEXEC).unwrap_or_else(|e| die_errno("pipe2", e));
    let (r, w) = (r.into_raw_fd(), w.into_raw_fd());
    if nonblocking_read {
        let _ = nix::fcntl::fcntl(
            setup::fsutil::borrow(r),
            nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        );
    }
    (r, w)
}

impl Channels {
    fn new(cfg: &Config) -> Channels {
        let (go_ahead_read, go_ahead_write) = make_pipe(false);
        let status = cfg.needs_init().then(|| {
            // SAFETY: eventfd takes plain integer arguments and returns a new fd or -1.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                die_errno("eventfd", nix::errno::Errno::last());
            }
            fd
        });
        let exec = cfg.json_status_fd.map(|_| make_pipe(true));
        let pid = cfg.pidns_fd.map(|_| make_pipe(false));
        let tied = (cfg.die_with_parent && cfg.pidns_fd.is_none()).then(|| make_pipe(false));
        Channels {
            go_ahead_read,
            go_ahead_write,
            status,
            exec_report_read: exec.map(|p| p.0),
            exec_report_write: exec.map(|p| p.1),
            pid_report_read: pid.map(|p| p.0),
            pid_report_write: pid.map(|p| p.1),
            tied_read: tied.map(|p| p.0),
            tied_write: tied.map(|p| p.1),
        }
    }
}

/// Everything the monitor and the sandbox process share after the clone.
pub struct Launch {
    /// The settled command line.
    pub cfg: Config,
    /// The caller's real uid.
    pub real_uid: u32,
    /// The caller's real gid.
    pub real_gid: u32,
    /// A root caller's effective capabilities before any namespace was created: what the
    /// command keeps unless `--cap-drop` (a new user namespace would show a full set).
    pub root_caps: process::caps::CapSet,
    /// `/proc` opened (`O_PATH`) before the pivot, for id maps and sysctls.
    pub proc_fd: RawFd,
    /// The caller's working directory, tried again inside the sandbox.
    pub old_cwd: Option<OsString>,
    /// Facts about the host gathered before the clone.
    pub host: setup::HostContext,
    /// The fds linking monitor, sandbox and init.
    pub channels: Channels,
}

impl Launch {
    /// The uid the command runs as.
    pub fn sandbox_uid(&self) -> u32 {
        self.cfg.uid.unwrap_or(self.real_uid)
    }

    /// The gid the command runs as.
    pub fn sandbox_gid(&self) -> u32 {
        self.cfg.gid.unwrap_or(self.real_gid)
    }
}

/// Refuses setuid (and setgid) installs and leftover file capabilities, then sets
/// no_new_privs.
fn check_privilege_mode(real_uid: u32) {
    let setgid = nix::unistd::getegid() != nix::unistd::getgid();
    if nix::unistd::geteuid().as_raw() != real_uid || setgid {
        die(
            "this bwrap does not support setuid or setgid mode; remove the bit (chmod u-s,g-s) and use unprivileged user namespaces",
        );
    }
    process::caps::assert_none_unless_root(real_uid);
    if let Err(e) = nix::sys::prctl::set_no_new_privs() {
        die_errno("prctl(PR_SET_NO_NEW_PRIVS) failed", e);
    }
}

/// The whole program; never returns.
pub fn run() -> ! {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.len() == 2 && argv[1] == "--version" {
        print!("{}", args::version());
        std::process::exit(0);
    }
    // SAFETY: restoring the default disposition installs no handler code.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    let (real_uid, real_gid) = (getuid().as_raw(), getgid().as_raw());
    check_privilege_mode(real_uid);
    let stdout_tty = isatty(std::io::stdout())
        .unwrap_or(false)
        .then(|| nix::unistd::ttyname(std::io::stdout()).ok())
        .flatten();
    let mut cfg = args::parse(&argv);
    args::validate(&mut cfg, real_uid, real_gid);
    let proc_fd = open(
        "/proc",
        OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_DIRECTORY,
        Mode::empty(),
    )
    .unwrap_or_else(|e| die_errno("Can't open /proc", e))
    .into_raw_fd();
    let host = setup::HostContext {
        new_pid_ns: cfg.unshare.pid || cfg.pidns_fd.is_some(),
        proc_fd,
        stdout_tty,
    };
    let channels = Channels::new(&cfg);
    let launch = Launch {
        old_cwd: std::env::current_dir().ok().map(|p| p.into_os_string()),
        cfg,
        real_uid,
        real_gid,
        root_caps: if real_uid == 0 {
            process::caps::current().0
        } else {
            0
        },
        proc_fd,
        host,
        channels,
    };
    start(&launch)
}

/// `--userns FD`: joined before the clone, with upstream's explanation for EINVAL.
fn join_userns(fd: std::os::fd::RawFd) {
    let userns = nix::sched::CloneFlags::CLONE_NEWUSER;
    match nix::sched::setns(setup::fsutil::borrow(fd), userns) {
        Ok(()) => {}
        Err(nix::errno::Errno::EINVAL) => die(
            "Joining the specified user namespace failed, it might not be a descendant of the current user namespace.",
        ),
        Err(e) => die_errno("Joining specified user namespace failed", e),
    }
}

fn start(launch: &Launch) -> ! {
    let cfg = &launch.cfg;
    if let Some(fd) = cfg.userns_fd {
        join_userns(fd);
    }
    if cfg.pidns_fd.is_some()
        && let Err(e) = nix::sys::prctl::set_child_subreaper(true)
    {
        die_errno("prctl(PR_SET_CHILD_SUBREAPER)", e);
    }
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&chld), None) {
        die_errno("sigprocmask", e);
    }
    let pid = ns::clone_into(ns::clone_flags(cfg), launch.real_uid == 0);
    if pid.as_raw() != 0 {
        monitor::run(launch, pid);
    }
    if let Some(pidns) = cfg.pidns_fd {
        process::spawn_in_pidns(launch, pidns);
    }
    process::sandbox_main(launch)
}
