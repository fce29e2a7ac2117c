//! Running a short-lived helper process with a deadline, for probes.
//!
//! Probes must never hang the sandbox: the child is killed when the deadline passes, and
//! its output is read without blocking after it exits, so a descendant that keeps the pipe
//! open cannot stall the caller.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// At most this many bytes of each stream are kept.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// How often the child's status is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// What a bounded run produced.
#[derive(Debug)]
pub struct BoundedOutput {
    /// The exit status, or `None` when the deadline passed and the child was killed.
    pub status: Option<ExitStatus>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl BoundedOutput {
    /// Both streams, stdout first.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` with stdin closed and both output streams captured, killing it after
/// `timeout`. Errors only when the child cannot be started.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> io::Result<BoundedOutput> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // The child may have exited in between; either way it is reaped below.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(POLL_INTERVAL);
    };
    let stdout = child
        .stdout
        .take()
        .map(drain_nonblocking)
        .unwrap_or_default();
    let stderr = child
        .stderr
        .take()
        .map(drain_nonblocking)
        .unwrap_or_default();
    Ok(BoundedOutput {
        status,
        stdout,
        stderr,
    })
}

/// Reads what is buffered in a pipe without waiting for writers that are still alive.
fn drain_nonblocking<R: Read + AsFd>(mut pipe: R) -> String {
    let mut bytes = Vec::new();
    let flags = nix::fcntl::fcntl(pipe.as_fd(), nix::fcntl::FcntlArg::F_GETFL)
        .map(nix::fcntl::OFlag::from_bits_truncate);
    if let Ok(flags) = flags {
        let _ = nix::fcntl::fcntl(
            pipe.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(flags | nix::fcntl::OFlag::O_NONBLOCK),
        );
    }
    let mut chunk = [0u8; 8192];
    while bytes.len() < OUTPUT_LIMIT {
        match pipe.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    bytes.truncate(OUTPUT_LIMIT);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status_of_a_quick_child() {
        let out = run_with_timeout(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.status.and_then(|s| s.code()), Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn kills_a_child_that_outlives_the_deadline() {
        let started = Instant::now();
        let out =
            run_with_timeout(Command::new("sleep").arg("5"), Duration::from_millis(50)).unwrap();
        assert!(out.status.is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn does_not_wait_for_a_descendant_holding_stderr_open() {
        let started = Instant::now();
        let out = run_with_timeout(
            Command::new("sh").args(["-c", "echo gone >&2; sleep 5 & exit 1"]),
            Duration::from_secs(3),
        )
        .unwrap();
        assert_eq!(out.status.and_then(|s| s.code()), Some(1));
        assert_eq!(out.stderr, "gone\n");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
