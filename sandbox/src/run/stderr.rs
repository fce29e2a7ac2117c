//! bwrap's own stderr: a pipe copied to ours as it arrives and kept (the first
//! [`KEPT_BYTES`]) so a failure before the command starts can be explained
//! ([`super::diagnose()`]). The command's stderr is the caller's own descriptor, which the
//! inner stage restores ([`crate::inner::InnerArgs::stderr_fd`]): it never passes here.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

/// How much of bwrap's stderr is kept for the diagnosis.
pub const KEPT_BYTES: usize = 16 * 1024;

/// A running copy of a pipe's contents to this process's stderr.
pub struct Relay(JoinHandle<Vec<u8>>);

impl Relay {
    /// Starts copying from `read` (the pipe's read end) until every writer closed it.
    pub fn start(read: OwnedFd) -> Relay {
        Relay(std::thread::spawn(move || {
            let mut pipe = File::from(read);
            let mut kept = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                let _ = std::io::stderr().write_all(&chunk[..n]);
                let room = KEPT_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
            kept
        }))
    }

    /// Waits for the end of the pipe and returns what was kept, as text.
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.0.join().unwrap_or_default()).into_owned()
    }
}
