//! The inner stage: our own executable, run by bwrap inside the namespaces.
//!
//! It applies the plan's inner-stage mounts and drops the capabilities bwrap kept for them
//! ([`mounts`]), sets `PR_SET_NO_NEW_PRIVS`, checks that no capability is left, in network mode
//! `proxy` starts the loopback proxy bridges (`proxy::inner`), installs the seccomp
//! filter for the network mode and runs the command as a child it supervises as pid 1:
//! forwarding `SIGHUP`/`SIGINT`/`SIGQUIT`/`SIGTERM`, reaping orphans, and exiting with the
//! command's status (128 + N when it was killed by signal N).
//!
//! bwrap selects it by `argv[0]` ([`INNER_STAGE_NAME`]): with `--argv0` when bwrap has it,
//! otherwise by binding the executable at [`COMPAT_PATH`], whose basename is that name.
//! Its own options come first and end at the first `--`; everything after is the command,
//! taken verbatim, so the command's arguments cannot be read as options.

pub mod caps;
mod error;
pub mod mounts;
pub mod seccomp;

use std::ffi::{CString, OsString};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::sys::signal::{SigmaskHow, Signal, kill, pthread_sigmask};
use nix::unistd::{ForkResult, fork};

pub use error::{ArgsError, InnerError};

use crate::policy::NetworkMode;
use crate::supervise;

/// The `argv[0]` basename that selects the inner stage.
pub const INNER_STAGE_NAME: &str = "sandbox-inner";

/// Where the executable is bound inside the sandbox when bwrap has no `--argv0`.
pub const COMPAT_PATH: &str = "/dev/.sandbox/sandbox-inner";

/// The inner stage's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerArgs {
    /// Which seccomp filter to install.
    pub network: NetworkMode,
    /// A descriptor to write one byte to once the sandbox is complete (then closed).
    pub ready_fd: Option<RawFd>,
    /// A descriptor holding the inner-stage mounts ([`mounts::Payload`]) to apply first.
    pub mounts_fd: Option<RawFd>,
    /// The caller's real stderr: moved to descriptor 2 first thing, so that bwrap's own
    /// messages (on a pipe the launcher reads) and the command's output stay apart.
    pub stderr_fd: Option<RawFd>,
    /// Network mode `proxy`: `(variable, socket name in the bridge directory)` pairs, see
    /// [`crate::proxy`].
    pub proxy_routes: Vec<(String, String)>,
    /// Network mode `proxy`: the descriptor of the host bridges' directory (closed before
    /// the command starts).
    pub proxy_dir_fd: Option<RawFd>,
    /// Descriptors besides 0, 1, 2 the command inherits (`--pass-fd`); all others are
    /// closed on exec.
    pub pass_fds: Vec<RawFd>,
    /// The command and its arguments.
    pub command: Vec<OsString>,
}

impl InnerArgs {
    /// The arguments that follow the inner-stage program in bwrap's command.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec!["--network".into(), self.network.as_str().into()];
        for (option, fd) in [
            ("--ready-fd", self.ready_fd),
            ("--stderr-fd", self.stderr_fd),
        ] {
            if let Some(fd) = fd {
                out.push(option.into());
                out.push(fd.to_string().into());
            }
        }
        if let Some(fd) = self.mounts_fd {
            out.push("--mounts-fd".into());
            out.push(fd.to_string().into());
        }
        for (key, socket) in &self.proxy_routes {
            out.push("--proxy-route".into());
            out.push(format!("{key}={socket}").into());
        }
        if let Some(fd) = self.proxy_dir_fd {
            out.push("--proxy-dir-fd".into());
            out.push(fd.to_string().into());
        }
        for fd in &self.pass_fds {
            out.push("--pass-fd".into());
            out.push(fd.to_string().into());
        }
        out.push("--".into());
        out.extend(self.command.iter().cloned());
        out
    }

    /// Parses [`to_args`](Self::to_args) output (without `argv[0]`).
    pub fn parse(args: &[OsString]) -> Result<InnerArgs, ArgsError> {
        let mut network = None;
        let mut ready_fd = None;
        let mut mounts_fd = None;
        let mut stderr_fd = None;
        let mut proxy_routes = Vec::new();
        let mut proxy_dir_fd = None;
        let mut pass_fds = Vec::new();
        let mut rest = args.iter();
        loop {
            let arg = rest.next().ok_or(ArgsError::MissingSeparator)?;
            let mut value = || {
                rest.next()
                    .and_then(|v| v.to_str())
                    .ok_or_else(|| ArgsError::NeedsValue(arg.clone()))
            };
            match arg.to_str() {
                Some("--") => break,
                Some("--network") if network.is_none() => {
                    network = Some(match value()? {
                        "restricted" => NetworkMode::Restricted,
                        "enabled" => NetworkMode::Enabled,
                        "proxy" => NetworkMode::Proxy,
                        other => return Err(ArgsError::NetworkMode(other.to_owned())),
                    })
                }
                Some("--ready-fd") if ready_fd.is_none() => {
                    ready_fd = Some(
                        value()?
                            .parse()
                            .map_err(|_| ArgsError::NotANumber("--ready-fd"))?,
                    )
                }
                Some("--mounts-fd") if mounts_fd.is_none() => {
                    mounts_fd = Some(
                        value()?
                            .parse()
                            .map_err(|_| ArgsError::NotANumber("--mounts-fd"))?,
                    )
                }
                Some("--stderr-fd") if stderr_fd.is_none() => {
                    stderr_fd = Some(
                        value()?
                            .parse()
                            .map_err(|_| ArgsError::NotANumber("--stderr-fd"))?,
                    )
                }
                Some("--proxy-route") => {
                    let (key, socket) = value()?.split_once('=').ok_or(ArgsError::ProxyRoute)?;
                    proxy_routes.push((key.to_string(), socket.to_string()));
                }
                Some("--proxy-dir-fd") if proxy_dir_fd.is_none() => {
                    proxy_dir_fd = Some(
                        value()?
                            .parse()
                            .map_err(|_| ArgsError::NotANumber("--proxy-dir-fd"))?,
                    )
                }
                Some("--pass-fd") => pass_fds.push(
                    value()?
                        .parse()
                        .map_err(|_| ArgsError::NotANumber("--pass-fd"))?,
                ),
                _ => return Err(ArgsError::Unexpected(arg.clone())),
            }
        }
        let command: Vec<OsString> = rest.cloned().collect();
        if command.is_empty() {
            return Err(ArgsError::NoCommand);
        }
        let network = network.ok_or(ArgsError::MissingNetwork)?;
        if (network == NetworkMode::Proxy) == proxy_routes.is_empty()
            || proxy_routes.is_empty() != proxy_dir_fd.is_none()
        {
            return Err(ArgsError::ProxyMismatch);
        }
        Ok(InnerArgs {
            network,
            ready_fd,
            mounts_fd,
            stderr_fd,
            proxy_routes,
            proxy_dir_fd,
            pass_fds,
            command,
        })
    }
}

/// Runs the inner stage with `args` (argv without `argv[0]`); never returns.
pub fn main(args: &[OsString]) -> ! {
    let code = match InnerArgs::parse(args)
        .map_err(InnerError::from)
        .and_then(|a| {
            restore_stderr(a.stderr_fd)?;
            run(&a)
        }) {
        Ok(code) => code,
        Err(InnerError::Mounts(mounts::MountsError::CalledOff)) => crate::exit::FAILURE,
        Err(message) => {
            eprintln!("sandbox: inner stage: {message}");
            crate::exit::FAILURE
        }
    };
    std::process::exit(code)
}

fn run(args: &InnerArgs) -> Result<i32, InnerError> {
    if let Some(fd) = args.mounts_fd {
        mounts::apply(fd)?;
    }
    nix::sys::prctl::set_no_new_privs()
        .map_err(|e| InnerError::NoNewPrivs(std::io::Error::from(e)))?;
    caps::ensure_none()?;
    if let Some(fd) = args.proxy_dir_fd {
        // SAFETY: the launcher passed the bridge directory as this descriptor for this
        // purpose only; it is closed when `dir` goes out of scope, before the command runs.
        let dir = unsafe { OwnedFd::from_raw_fd(fd) };
        crate::proxy::inner::activate(&args.proxy_routes, &dir)?;
    }
    seccomp::install(args.network)?;
    let program = cstring(&args.command[0])?;
    let argv = args
        .command
        .iter()
        .map(cstring)
        .collect::<Result<Vec<_>, _>>()?;
    // SAFETY: the descriptor was passed to us by the launcher for this purpose only.
    let ready = args.ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let previous = supervise::block().map_err(InnerError::BlockSignals)?;
    // SAFETY: this process is single-threaded here; the child only restores its signal
    // mask and SIGPIPE's disposition, closes a descriptor, marks the others close-on-exec
    // and execs (or exits).
    match unsafe { fork() }.map_err(InnerError::Fork)? {
        ForkResult::Child => {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
            // This executable ignores SIGPIPE (main.rs), and an ignored signal stays
            // ignored across exec: the command gets the default, as under bare bwrap.
            // SAFETY: signal() is async-signal-safe and SIG_DFL installs no handler.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            drop(ready);
            // Only 0, 1, 2 and the passed descriptors reach the command.
            let err = match crate::fds::inherit_only(&args.pass_fds) {
                Ok(()) => nix::unistd::execvp(&program, &argv).unwrap_err(),
                Err(e) => nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)),
            };
            eprintln!("sandbox: cannot run {:?}: {err}", args.command[0]);
            // SAFETY: _exit skips atexit handlers and buffers shared with the parent.
            unsafe {
                libc::_exit(if err == nix::errno::Errno::ENOENT {
                    127
                } else {
                    126
                })
            }
        }
        ForkResult::Parent { child } => {
            if let Some(fd) = ready {
                let _ = nix::unistd::write(&fd, b"1");
            }
            let outcome = supervise::wait(child, true, |signal: Signal| {
                let _ = kill(child, signal);
            })
            .map_err(InnerError::Wait)?;
            Ok(outcome.code())
        }
    }
}

/// Makes `fd` (the caller's stderr, see [`InnerArgs::stderr_fd`]) descriptor 2 and closes it.
fn restore_stderr(fd: Option<RawFd>) -> Result<(), InnerError> {
    let Some(fd) = fd else { return Ok(()) };
    // SAFETY: dup2 and close on descriptors the launcher passed for this purpose only.
    let rc = unsafe { libc::dup2(fd, libc::STDERR_FILENO) };
    if rc < 0 {
        return Err(InnerError::RestoreStderr {
            fd,
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: as above; nothing else uses this descriptor.
    unsafe { libc::close(fd) };
    Ok(())
}

fn cstring(arg: &OsString) -> Result<CString, InnerError> {
    CString::new(arg.as_bytes()).map_err(|_| InnerError::NulByte(arg.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn args_round_trip_and_command_options_stay_the_commands() {
        let a = InnerArgs {
            network: NetworkMode::Restricted,
            ready_fd: Some(4),
            mounts_fd: Some(6),
            stderr_fd: Some(8),
            proxy_routes: Vec::new(),
            proxy_dir_fd: None,
            pass_fds: vec![7, 9],
            command: os(&["sh", "--network", "enabled", "--", "-c"]),
        };
        assert_eq!(InnerArgs::parse(&a.to_args()).unwrap(), a);
        let p = InnerArgs {
            network: NetworkMode::Proxy,
            ready_fd: None,
            mounts_fd: None,
            stderr_fd: None,
            proxy_routes: vec![("https_proxy".into(), "route-0.sock".into())],
            proxy_dir_fd: Some(7),
            pass_fds: Vec::new(),
            command: os(&["curl"]),
        };
        assert_eq!(InnerArgs::parse(&p.to_args()).unwrap(), p);
    }

    #[test]
    fn rejects_unknown_or_repeated_options_and_empty_commands() {
        assert!(
            InnerArgs::parse(&os(&[
                "--network",
                "restricted",
                "--network",
                "enabled",
                "--",
                "x"
            ]))
            .is_err()
        );
        assert!(InnerArgs::parse(&os(&["--bogus", "--", "x"])).is_err());
        assert!(InnerArgs::parse(&os(&["--network", "restricted", "--"])).is_err());
        assert!(InnerArgs::parse(&os(&["--network", "proxy", "--", "x"])).is_err());
        let stray_route = [
            "--network",
            "restricted",
            "--proxy-route",
            "A=/s",
            "--",
            "x",
        ];
        assert!(InnerArgs::parse(&os(&stray_route)).is_err());
    }
}
