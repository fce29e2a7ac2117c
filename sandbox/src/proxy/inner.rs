//! The sandbox side of the proxy bridge: TCP on `127.0.0.1` -> the host bridge's Unix
//! socket, inside the new network namespace, set up by the inner stage before seccomp.
//!
//! The bridge directory is reached only through the descriptor the launcher opened
//! before bwrap started: each bridge process makes it its working directory and connects
//! by the socket's bare name. The directory is never mounted where the command could
//! see it, so the command can neither replace a socket nor point one elsewhere.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use nix::unistd::{ForkResult, fork};

use super::{ProxyUrl, UrlError, relay};

/// Why the proxy listeners could not start in the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// Network mode `proxy` came without routes.
    #[error("proxy mode without proxy routes")]
    NoRoutes,
    /// A routed variable is not in the sandbox's environment.
    #[error("proxy variable {0} is missing or not UTF-8 in the sandbox")]
    MissingVariable(String),
    /// A routed variable's value is not a proxy URL.
    #[error("proxy variable {key}: {source}")]
    Url {
        /// The variable.
        key: String,
        /// Why its value was refused.
        source: UrlError,
    },
    /// The listener's port could not be read.
    #[error("getsockname on the proxy listener: {0}")]
    LocalAddr(io::Error),
    /// The bridge process could not be forked.
    #[error("fork for the proxy bridge: {0}")]
    Fork(nix::Error),
    /// The namespace's loopback is down and `SIOCSIFFLAGS` failed.
    #[error("loopback is down and cannot be brought up (ioctl SIOCSIFFLAGS on lo): {0}")]
    Loopback(io::Error),
    /// Binding `127.0.0.1:0` failed.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(io::Error),
}

/// Starts one loopback listener and bridge process per distinct socket of `routes`
/// (`(variable, socket name in dir)` pairs) and rewrites each variable to its listener's
/// port. Must run in the sandbox before seccomp, while the process is single-threaded; the
/// bridges are children of the caller and die with the sandbox's pid namespace.
pub fn activate(routes: &[(String, String)], dir: &OwnedFd) -> Result<(), BridgeError> {
    if routes.is_empty() {
        return Err(BridgeError::NoRoutes);
    }
    let mut ports: BTreeMap<&str, u16> = BTreeMap::new();
    for (_, socket) in routes {
        if !ports.contains_key(socket.as_str()) {
            let port = start_bridge(socket, dir)?;
            ports.insert(socket, port);
        }
    }
    for (key, socket) in routes {
        let value = std::env::var(key).map_err(|_| BridgeError::MissingVariable(key.clone()))?;
        let url = ProxyUrl::parse(&value).map_err(|source| BridgeError::Url {
            key: key.clone(),
            source,
        })?;
        // SAFETY: the inner stage is single-threaded here (the bridges are separate
        // processes), so nothing reads the environment concurrently.
        unsafe { std::env::set_var(key, url.with_local_port(ports[socket.as_str()])) };
    }
    Ok(())
}

/// Binds `127.0.0.1:0`, forks a bridge process serving it, and returns the port.
fn start_bridge(socket: &str, dir: &OwnedFd) -> Result<u16, BridgeError> {
    let listener = bind_loopback()?;
    let port = listener
        .local_addr()
        .map_err(BridgeError::LocalAddr)?
        .port();
    // SAFETY: the inner stage is single-threaded here; the child only sets up its
    // descriptors and serves the listener, never returning to the caller.
    match unsafe { fork() }.map_err(BridgeError::Fork)? {
        ForkResult::Child => {
            let code = match serve(listener, socket, dir) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("sandbox: proxy bridge to {socket}: {e}");
                    crate::exit::FAILURE
                }
            };
            // SAFETY: _exit skips atexit handlers and buffers shared with the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { .. } => Ok(port),
    }
}

/// `127.0.0.1:0`, bringing `lo` up first if the namespace's loopback is down.
fn bind_loopback() -> Result<TcpListener, BridgeError> {
    let any_port = (Ipv4Addr::LOCALHOST, 0);
    match TcpListener::bind(any_port) {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EADDRNOTAVAIL | libc::ENETUNREACH)
            ) =>
        {
            uapi::net::bring_up_lo().map_err(|e| BridgeError::Loopback(e.into()))?;
            TcpListener::bind(any_port)
        }
        other => other,
    }
    .map_err(BridgeError::Listen)
}

/// The bridge process: accepts TCP connections and relays each to `socket` in `dir`.
fn serve(listener: TcpListener, socket: &str, dir: &OwnedFd) -> io::Result<()> {
    // Not dumpable: the command (same uid) can neither ptrace this process nor write its
    // memory through /proc, nor open its /proc/PID/cwd (the bridge directory), so it cannot
    // use this unfiltered process to reach other Unix sockets.
    let _ = nix::sys::prctl::set_dumpable(false);
    nix::unistd::fchdir(dir)?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    let socket = socket.to_string();
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let socket = socket.clone();
                relay::spawn(stream.into(), &active, move || {
                    UnixStream::connect(&socket).map(OwnedFd::from)
                })
            }
            Err(e) if super::host::is_transient(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}
