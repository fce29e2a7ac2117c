//! Running one command with a deadline, an optional signal, and captured output.

use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::RwLock;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// Spawns take this for reading, writers of files that may be executed take it for writing:
/// a child forked while another thread holds such a file open for writing would keep the
/// descriptor until its exec, and executing the file meanwhile fails with ETXTBSY.
static SPAWN_GUARD: RwLock<()> = RwLock::new(());

/// Spawns `cmd` while no executable file is being written (see [`write_file`]).
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let _guard = SPAWN_GUARD.read().unwrap_or_else(|e| e.into_inner());
    cmd.spawn()
}

/// Writes `contents` to `path` (and sets `mode`) while no process is being spawned.
pub fn write_file(
    path: &std::path::Path,
    contents: &str,
    mode: Option<u32>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _guard = SPAWN_GUARD.write().unwrap_or_else(|e| e.into_inner());
    std::fs::write(path, contents)?;
    match mode {
        Some(mode) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)),
        None => Ok(()),
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exit(i32),
    /// It was killed by this signal (the sandbox itself, not the command inside).
    Signal(i32),
    /// It outlived its deadline and was killed.
    TimedOut,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// How it ended.
    pub ended: Ended,
    /// Captured stdout (lossy UTF-8).
    pub stdout: String,
    /// Captured stderr (lossy UTF-8).
    pub stderr: String,
}

/// A signal to send some time after the start.
#[derive(Debug, Clone, Copy)]
pub struct DelayedSignal {
    /// Time after spawn.
    pub after: Duration,
    /// The signal.
    pub signal: Signal,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A signal name or number that is no signal.
    #[error("unknown signal {0:?}")]
    Signal(String),
    /// A run's argv is empty.
    #[error("empty argv")]
    EmptyArgv,
    /// The program could not be started.
    #[error("spawning {program}: {source}")]
    Spawn {
        /// The program, as `Debug` shows it.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// The child has no stdout or stderr pipe.
    #[error("no {0} pipe")]
    NoPipe(&'static str),
}

/// Parses `TERM`, `SIGTERM` or a number.
pub fn parse_signal(name: &str) -> Result<Signal, ExecError> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>()
        .or_else(|_| {
            name.parse::<i32>()
                .map_err(|_| ())
                .and_then(|n| Signal::try_from(n).map_err(|_| ()))
        })
        .map_err(|()| ExecError::Signal(name.to_owned()))
}

fn drain(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Output collected by `rx`; a process that escaped and still holds the pipe open gets
/// `PIPE_GRACE` before what was read is given up (reported as such).
fn collect(rx: &Receiver<Vec<u8>>) -> String {
    match rx.recv_timeout(PIPE_GRACE) {
        Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => "<output pipe still open: a process outlived the sandbox>".into(),
    }
}

const PIPE_GRACE: Duration = Duration::from_secs(3);

fn wait_until(
    child: &mut Child,
    deadline: Instant,
    mut signal: Option<(Instant, Signal)>,
) -> Ended {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match (status.code(), status.signal()) {
                    (Some(code), _) => Ended::Exit(code),
                    (None, Some(sig)) => Ended::Signal(sig),
                    (None, None) => Ended::Exit(-1),
                };
            }
            Ok(None) => {}
            Err(_) => return Ended::Exit(-1),
        }
        let now = Instant::now();
        if let Some((at, sig)) = signal
            && now >= at
        {
            let _ = kill(Pid::from_raw(child.id() as i32), sig);
            signal = None;
        }
        if now >= deadline {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            return Ended::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Runs `cmd` in its own process group with stdin closed, killing the group at `timeout`.
pub fn run(
    mut cmd: Command,
    timeout: Duration,
    signal: Option<DelayedSignal>,
) -> Result<Output, ExecError> {
    let shown = format!("{:?}", cmd.get_program());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = spawn(&mut cmd).map_err(|source| ExecError::Spawn {
        program: shown,
        source,
    })?;
    let out = drain(child.stdout.take().ok_or(ExecError::NoPipe("stdout"))?);
    let err = drain(child.stderr.take().ok_or(ExecError::NoPipe("stderr"))?);
    let ended = wait_until(
        &mut child,
        start + timeout,
        signal.map(|s| (start + s.after, s.signal)),
    );
    if ended == Ended::TimedOut {
        // Descendants that escaped the group could hold the pipes open forever.
        let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    }
    let stdout = collect(&out);
    let stderr = collect(&err);
    Ok(Output {
        ended,
        stdout,
        stderr,
    })
}
