//! Host resources a case creates before its commands run: System V IPC objects, POSIX
//! message queues and loopback listeners. Each is removed or closed on drop.

use std::io::{self, Write};
use std::net::TcpListener;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::case::{Fixture, ListenerKind};
use crate::placeholders::Placeholders;

/// Why a case's host resource could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// `shmget`, `semget` or `msgget` failed.
    #[error("host {kind}get(key {key:#x}): {source}")]
    Sysv {
        /// `shm`, `sem` or `msg`.
        kind: &'static str,
        /// The key.
        key: libc::key_t,
        /// Why.
        source: io::Error,
    },
    /// A queue name with a NUL byte.
    #[error(transparent)]
    Nul(#[from] std::ffi::NulError),
    /// `mq_open` failed.
    #[error("host mq_open({name}): {source}")]
    MqOpen {
        /// The queue.
        name: String,
        /// Why.
        source: io::Error,
    },
    /// A listener could not bind its address.
    #[error("host bind {address}: {source}")]
    Bind {
        /// The address (`127.0.0.1:0`, `abstract @NAME`).
        address: String,
        /// Why.
        source: io::Error,
    },
    /// A socket address could not be made or read.
    #[error(transparent)]
    Address(io::Error),
    /// A listener could not be made non-blocking.
    #[error("{label}: {source}")]
    Listener {
        /// The listener (`tcp listener NAME`).
        label: String,
        /// Why.
        source: io::Error,
    },
    /// A host process could not be started.
    #[error("host process {name}: spawning {}: {source}", probe.display())]
    Process {
        /// The case's name for it.
        name: String,
        /// The `probe` it runs.
        probe: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// A System V IPC object kind.
#[derive(Debug, Clone, Copy)]
enum SysvKind {
    Shm,
    Sem,
    Msg,
}

impl SysvKind {
    fn prefix(self) -> &'static str {
        match self {
            SysvKind::Shm => "shm",
            SysvKind::Sem => "sem",
            SysvKind::Msg => "msg",
        }
    }

    /// Creates a new object with `key`, readable and writable by everyone (so that only the
    /// IPC namespace can keep the sandbox away from it).
    fn create(self, key: libc::key_t) -> io::Result<libc::c_int> {
        let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o666;
        // SAFETY: plain syscalls with scalar arguments; no memory is shared with the kernel.
        let id = unsafe {
            match self {
                SysvKind::Shm => libc::shmget(key, 4096, flags),
                SysvKind::Sem => libc::semget(key, 1, flags),
                SysvKind::Msg => libc::msgget(key, flags),
            }
        };
        if id < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(id)
        }
    }

    fn remove(self, id: libc::c_int) {
        // SAFETY: IPC_RMID takes no buffer (null is allowed); `id` came from *get.
        unsafe {
            match self {
                SysvKind::Shm => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                SysvKind::Sem => libc::semctl(id, 0, libc::IPC_RMID),
                SysvKind::Msg => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
            };
        }
    }
}

struct SysvObject {
    kind: SysvKind,
    id: libc::c_int,
}

struct PosixQueue {
    name: std::ffi::CString,
}

struct Listener {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
    expected: Option<u32>,
    label: String,
}

/// The live host resources of one trial.
#[derive(Default)]
pub struct HostResources {
    sysv: Vec<SysvObject>,
    queues: Vec<PosixQueue>,
    listeners: Vec<Listener>,
    processes: Vec<std::process::Child>,
}

/// A key unlikely to collide with other trials or other users' objects.
fn fresh_key(unique: u32, attempt: u32) -> libc::key_t {
    let mixed = (std::process::id() << 12) ^ unique.wrapping_mul(2_654_435_761) ^ attempt;
    (mixed & 0x3fff_ffff | 0x4000_0000) as libc::key_t
}

impl HostResources {
    /// Creates the fixture's host resources and defines their placeholders:
    /// `{shm.N.id}`, `{shm.N.key}` (decimal), `{shm.N.keyhex}` (as `ipcs` prints it), the
    /// same for `sem` and `msg`, `{mq.N}`, `{tcp.N.port}` (and `{tcp.N.porthex}` as `/proc/net/tcp` shows it),
    /// `{unix.N}` and `{proc.N.pid}`.
    /// Host processes run `probe`.
    pub fn create(
        fixture: &Fixture,
        unique: u32,
        probe: &std::path::Path,
        vars: &mut Placeholders,
    ) -> Result<Self, ResourceError> {
        let mut res = HostResources::default();
        let groups = [
            (SysvKind::Shm, &fixture.sysv_shm),
            (SysvKind::Sem, &fixture.sysv_sem),
            (SysvKind::Msg, &fixture.sysv_msg),
        ];
        let mut attempt = 0;
        for (kind, list) in groups {
            for named in list {
                let (key, id) = loop {
                    attempt += 1;
                    let key = fresh_key(unique, attempt);
                    match kind.create(key) {
                        Ok(id) => break (key, id),
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) && attempt < 64 => {}
                        Err(source) => {
                            return Err(ResourceError::Sysv {
                                kind: kind.prefix(),
                                key,
                                source,
                            });
                        }
                    }
                };
                res.sysv.push(SysvObject { kind, id });
                let base = format!("{}.{}", kind.prefix(), named.name);
                vars.set(format!("{base}.id"), id.to_string());
                vars.set(format!("{base}.key"), key.to_string());
                vars.set(format!("{base}.keyhex"), format!("{key:#010x}"));
            }
        }
        for named in &fixture.posix_mq {
            let name = format!(
                "/conformance-{}-{unique}-{}",
                std::process::id(),
                named.name
            );
            res.queues.push(PosixQueue::create(&name)?);
            vars.set(format!("mq.{}", named.name), name);
        }
        for spec in &fixture.listener {
            let mut listener = match spec.kind {
                ListenerKind::Tcp => {
                    let sock =
                        TcpListener::bind("127.0.0.1:0").map_err(|source| ResourceError::Bind {
                            address: "127.0.0.1:0".into(),
                            source,
                        })?;
                    let port = sock.local_addr().map_err(ResourceError::Address)?.port();
                    vars.set(format!("tcp.{}.port", spec.name), port.to_string());
                    vars.set(format!("tcp.{}.porthex", spec.name), format!("{port:04X}"));
                    Listener::serve(sock, format!("tcp listener {}", spec.name))?
                }
                ListenerKind::UnixAbstract => {
                    let name = format!("conformance-{}-{unique}-{}", std::process::id(), spec.name);
                    let addr = SocketAddr::from_abstract_name(name.as_bytes())
                        .map_err(ResourceError::Address)?;
                    let sock =
                        UnixListener::bind_addr(&addr).map_err(|source| ResourceError::Bind {
                            address: format!("abstract @{name}"),
                            source,
                        })?;
                    vars.set(format!("unix.{}", spec.name), name);
                    Listener::serve(sock, format!("unix listener {}", spec.name))?
                }
            };
            listener.expected = spec.connections;
            res.listeners.push(listener);
        }
        for spec in &fixture.process {
            let mut cmd = std::process::Command::new(probe);
            cmd.args(["sleep", "60", &spec.marker])
                .env("CONFORMANCE_MARKER", &spec.marker)
                .stdin(std::process::Stdio::null());
            let child = crate::exec::spawn(&mut cmd).map_err(|source| ResourceError::Process {
                name: spec.name.clone(),
                probe: probe.to_path_buf(),
                source,
            })?;
            vars.set(format!("proc.{}.pid", spec.name), child.id().to_string());
            res.processes.push(child);
        }
        Ok(res)
    }

    /// Checks each listener's connection count against the case; returns the failures.
    pub fn check_listeners(&self) -> Vec<String> {
        self.listeners
            .iter()
            .filter_map(|l| {
                let got = l.count.load(Ordering::SeqCst);
                let want = l.expected?;
                (got != want)
                    .then(|| format!("{}: received {got} connection(s), expected {want}", l.label))
            })
            .collect()
    }
}

impl PosixQueue {
    fn create(name: &str) -> Result<Self, ResourceError> {
        let cname = std::ffi::CString::new(name)?;
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR;
        // One tiny message: queues count against the user's RLIMIT_MSGQUEUE, which parallel
        // trials (and other tests of the same user) share.
        // SAFETY: an all-zero mq_attr is valid; the two fields are then set.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        attr.mq_maxmsg = 1;
        attr.mq_msgsize = 64;
        // SAFETY: `cname` is a valid NUL-terminated string and `attr` a live mq_attr.
        let fd = unsafe {
            libc::mq_open(
                cname.as_ptr(),
                flags,
                0o666 as libc::mode_t,
                &mut attr as *mut libc::mq_attr,
            )
        };
        if fd < 0 {
            return Err(ResourceError::MqOpen {
                name: name.to_owned(),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: `fd` is the descriptor mq_open just returned; the queue stays until unlink.
        unsafe { libc::mq_close(fd) };
        Ok(Self { name: cname })
    }
}

impl Drop for PosixQueue {
    fn drop(&mut self) {
        // SAFETY: `name` is a valid NUL-terminated string.
        unsafe { libc::mq_unlink(self.name.as_ptr()) };
    }
}

/// A listening socket the serving thread can poll without blocking.
trait Acceptor: Send + 'static {
    fn set_nonblocking(&self) -> io::Result<()>;
    /// Accepts one pending connection, greets it, and says whether there was one.
    fn accept_one(&self) -> io::Result<bool>;
}

fn greet(mut stream: impl Write) {
    let _ = stream.write_all(b"HOST_LISTENER_REACHED\n");
}

fn would_block(e: io::Error) -> io::Result<bool> {
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

impl Acceptor for TcpListener {
    fn set_nonblocking(&self) -> io::Result<()> {
        TcpListener::set_nonblocking(self, true)
    }
    fn accept_one(&self) -> io::Result<bool> {
        self.accept()
            .map(|(s, _)| greet(s))
            .map(|()| true)
            .or_else(would_block)
    }
}

impl Acceptor for UnixListener {
    fn set_nonblocking(&self) -> io::Result<()> {
        UnixListener::set_nonblocking(self, true)
    }
    fn accept_one(&self) -> io::Result<bool> {
        self.accept()
            .map(|(s, _)| greet(s))
            .map(|()| true)
            .or_else(would_block)
    }
}

impl Listener {
    fn serve(sock: impl Acceptor, label: String) -> Result<Self, ResourceError> {
        if let Err(source) = sock.set_nonblocking() {
            return Err(ResourceError::Listener { label, source });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU32::new(0));
        let (stop2, count2) = (stop.clone(), count.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match sock.accept_one() {
                    Ok(true) => {
                        count2.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(false) | Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Self {
            stop,
            count,
            thread: Some(thread),
            expected: None,
            label,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HostResources {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for obj in &self.sysv {
            obj.kind.remove(obj.id);
        }
    }
}
