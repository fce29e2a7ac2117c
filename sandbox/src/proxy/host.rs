//! The host side of the proxy bridge: Unix socket -> TCP endpoint, in the host's network
//! namespace, one process per endpoint.
//!
//! [`HostBridges::start`] creates `<$XDG_RUNTIME_DIR or /tmp>/sandbox-proxy-<euid>-<pid>-<n>`
//! (mode 0700, created fresh so nobody else can own or pre-fill it), binds one listening
//! socket per endpoint in it and hands each to a bridge process: this executable re-run
//! with `argv[0]` [`BRIDGE_NAME`] (so nothing is forked from a possibly multi-threaded
//! process), the socket as descriptor 3. The sockets are listening before bwrap starts, so
//! no readiness handshake is needed. Dropping [`HostBridges`] kills the bridges and removes
//! the directory; if `sandbox` itself is killed, `PR_SET_PDEATHSIG` kills them and the next
//! proxy run of the same user removes the directory.

use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::{ProxyError, ProxyRoutes, relay};
use crate::supervise;

/// The `argv[0]` basename that selects the host bridge.
pub const BRIDGE_NAME: &str = "sandbox-proxy-bridge";

/// The descriptor a bridge process finds its listening socket on.
const LISTENER_FD: i32 = 3;

/// How long a bridge waits for the proxy to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest Unix socket path (`sun_path` minus the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The running host bridges of one sandbox run.
#[derive(Debug)]
pub struct HostBridges {
    dir: PathBuf,
    handle: OwnedFd,
    children: Vec<Child>,
}

impl HostBridges {
    /// Creates the socket directory and starts one bridge per endpoint of `routes`, running
    /// `exe` (which must call [`crate::dispatch_inner_stage`] first in `main`).
    pub fn start(routes: &ProxyRoutes, exe: &Path) -> Result<HostBridges, ProxyError> {
        let parent = socket_parent();
        remove_stale(&parent);
        let dir = create_private_dir(&parent)?;
        let handle = open_dir(&dir)?;
        let mut bridges = HostBridges {
            dir,
            handle,
            children: Vec::new(),
        };
        for (index, endpoint) in routes.endpoints().into_iter().enumerate() {
            let path = bridges.dir.join(format!("route-{index}.sock"));
            if path.as_os_str().len() > MAX_SOCKET_PATH {
                return Err(ProxyError::io(
                    "bind",
                    path.display(),
                    std::io::Error::other(
                        "path too long for a Unix socket; fix: set XDG_RUNTIME_DIR to a shorter directory",
                    ),
                ));
            }
            let listener =
                UnixListener::bind(&path).map_err(|e| ProxyError::io("bind", path.display(), e))?;
            let child = spawn_bridge(exe, listener.into(), endpoint)
                .map_err(|e| ProxyError::io("start the bridge for", endpoint, e))?;
            bridges.children.push(child);
        }
        Ok(bridges)
    }

    /// The socket directory on the host (masked in the sandbox).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory, opened right after it was created: what the inner stage gets.
    pub fn handle(&self) -> BorrowedFd<'_> {
        self.handle.as_fd()
    }
}

impl Drop for HostBridges {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Opens the fresh directory (`O_DIRECTORY | O_NOFOLLOW`: the one just created, no link).
fn open_dir(dir: &Path) -> Result<OwnedFd, ProxyError> {
    nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_RDONLY
            | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| ProxyError::io("open", dir.display(), e.into()))
}

/// The directory the next [`HostBridges::start`] of this process will most likely use
/// (shown by `explain`, which starts nothing).
pub fn planned_dir() -> PathBuf {
    socket_parent().join(format!("{}{}-0", dir_prefix(), std::process::id()))
}

/// Where socket directories are created: `$XDG_RUNTIME_DIR` if absolute, else `/tmp`.
pub fn socket_parent() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

fn dir_prefix() -> String {
    format!("sandbox-proxy-{}-", nix::unistd::geteuid())
}

/// Creates a new directory only this user can enter (never reuses an existing one).
fn create_private_dir(parent: &Path) -> Result<PathBuf, ProxyError> {
    let pid = std::process::id();
    for n in 0..128 {
        let dir = parent.join(format!("{}{pid}-{n}", dir_prefix()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                // The umask can only have removed bits; make the mode exact.
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| ProxyError::io("chmod", dir.display(), e))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ProxyError::io("create", dir.display(), e)),
        }
    }
    Err(ProxyError::io(
        "create",
        parent.join(format!("{}{pid}-*", dir_prefix())).display(),
        std::io::Error::other("128 directories of this process already exist"),
    ))
}

/// Removes this user's socket directories whose `sandbox` process is gone (killed before
/// it could clean up). Best effort.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let prefix = dir_prefix();
    let euid = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let ours = entry
            .metadata()
            .is_ok_and(|m| m.is_dir() && m.uid() == euid);
        let dead = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            == Err(nix::errno::Errno::ESRCH);
        if ours && dead {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Starts `exe` as a bridge from `listener` to `endpoint`, dying with this process.
fn spawn_bridge(exe: &Path, listener: OwnedFd, endpoint: SocketAddr) -> std::io::Result<Child> {
    let mut command = Command::new(exe);
    command
        .arg0(BRIDGE_NAME)
        .arg(endpoint.to_string())
        // Its own process group: a Ctrl-C meant for the command (which `sandbox` forwards)
        // must not take the proxy away from it.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let raw = listener.as_raw_fd();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure only calls dup2, fcntl, prctl and getppid (async-signal-safe);
    // `listener` stays open in this process until spawn returns.
    unsafe {
        command.pre_exec(move || {
            if raw == LISTENER_FD {
                // dup2 onto itself would keep close-on-exec set.
                if libc::fcntl(raw, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(raw, LISTENER_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            supervise::die_with_parent(parent)
        });
    }
    let child = command.spawn();
    drop(listener);
    child
}

/// The bridge process: accepts on descriptor 3 and relays each connection to the endpoint
/// in `args[0]`. Never returns.
pub fn bridge_main(args: &[OsString]) -> ! {
    let endpoint: Option<SocketAddr> = args
        .first()
        .and_then(|a| a.to_str())
        .and_then(|a| a.parse().ok());
    let Some(endpoint) = endpoint.filter(|_| args.len() == 1) else {
        eprintln!("sandbox: proxy bridge: expected one argument, the TCP endpoint");
        std::process::exit(crate::exit::FAILURE);
    };
    // Not dumpable: no other process of this user can ptrace it or open its /proc/<pid>/mem.
    let _ = nix::sys::prctl::set_dumpable(false);
    // SAFETY: the parent passed the listening socket as descriptor 3 for this purpose.
    let listener = unsafe { UnixListener::from_raw_fd(LISTENER_FD) };
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        match listener.accept() {
            Ok((stream, _)) => relay::spawn(stream.into(), &active, move || {
                TcpStream::connect_timeout(&endpoint, CONNECT_TIMEOUT).map(OwnedFd::from)
            }),
            Err(e) if is_transient(&e) => continue,
            Err(e) => {
                eprintln!("sandbox: proxy bridge to {endpoint}: accept failed: {e}");
                std::process::exit(crate::exit::FAILURE);
            }
        }
    }
}

/// Accept errors that concern one connection, not the listener.
pub(super) fn is_transient(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINTR | libc::ECONNABORTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_dirs_are_fresh_and_private() {
        let parent = tempfile::tempdir().unwrap();
        let a = create_private_dir(parent.path()).unwrap();
        let b = create_private_dir(parent.path()).unwrap();
        assert_ne!(a, b);
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn stale_dirs_of_dead_processes_are_removed_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let mut dead = Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        dead.wait().unwrap();
        let stale = parent.path().join(format!("{}{dead_pid}-0", dir_prefix()));
        let live = parent
            .path()
            .join(format!("{}{}-0", dir_prefix(), std::process::id()));
        for dir in [&stale, &live] {
            std::fs::create_dir(dir).unwrap();
        }
        remove_stale(parent.path());
        assert!(!stale.exists());
        assert!(live.exists());
    }
}
