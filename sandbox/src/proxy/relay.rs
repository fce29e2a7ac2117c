//! Copying one connection in both directions, passing each half-close on.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::socket::{Shutdown, shutdown};

/// Concurrent connections one bridge relays; further ones are closed at once.
pub const MAX_CONNECTIONS: usize = 256;

/// Copies `a` to `b` and `b` to `a` until both directions have ended; when one side stops
/// sending, the other side's write half is shut down, so request/response protocols that
/// half-close keep working. Both descriptors must be connected stream sockets.
pub fn relay(a: OwnedFd, b: OwnedFd) -> io::Result<()> {
    let (a_read, b_write) = (File::from(a.try_clone()?), File::from(b.try_clone()?));
    let upstream = std::thread::Builder::new()
        .name("proxy-relay".into())
        .spawn(move || copy_then_close(a_read, b_write))?;
    let downstream = copy_then_close(File::from(b), File::from(a));
    let upstream = upstream
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("relay thread panicked")));
    downstream.and(upstream)
}

fn copy_then_close(mut from: File, mut to: File) -> io::Result<()> {
    let copied = io::copy(&mut from, &mut to);
    // ENOTCONN when the peer is already gone: nothing left to tell it.
    let _ = shutdown(to.as_raw_fd(), Shutdown::Write);
    copied.map(|_| ())
}

/// Relays `accepted` to a fresh connection from `connect` on its own thread, unless
/// [`MAX_CONNECTIONS`] are already being relayed (then `accepted` is closed).
pub fn spawn(
    accepted: OwnedFd,
    active: &Arc<AtomicUsize>,
    connect: impl FnOnce() -> io::Result<OwnedFd> + Send + 'static,
) {
    if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
        active.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let counter = Arc::clone(active);
    let started = std::thread::Builder::new()
        .name("proxy-conn".into())
        .spawn(move || {
            // A refused or failed upstream simply closes the client's connection.
            if let Ok(upstream) = connect() {
                let _ = relay(accepted, upstream);
            }
            counter.fetch_sub(1, Ordering::SeqCst);
        });
    if started.is_err() {
        active.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn copies_both_ways_and_passes_half_close_on() {
        let (client, bridge_a) = UnixStream::pair().unwrap();
        let (bridge_b, mut server) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || relay(bridge_a.into(), bridge_b.into()));
        let mut client = client;
        client.write_all(b"request").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"request", "half-close reached the server as EOF");
        server.write_all(b"response").unwrap();
        drop(server);
        let mut back = Vec::new();
        client.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"response");
        t.join().unwrap().unwrap();
    }
}
