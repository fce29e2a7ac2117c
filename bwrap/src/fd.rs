//! Descriptor I/O shared by the monitor, the sandbox process and setup: whole reads and
//! writes retried on `EINTR`, one-byte waits, and the pipes linking the processes.

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::unistd::{pipe2, read, write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

/// Reads `fd` until end of file.
pub(crate) fn read_to_end(fd: impl AsFd) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match read(fd.as_fd(), &mut buf) {
            Ok(0) => return Ok(data),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads a descriptor named on the command line (`--args`, `--seccomp`, ...) to its end and
/// closes it: bwrap is handed such a descriptor to consume.
pub(crate) fn read_numbered(fd: RawFd) -> Result<Vec<u8>, Errno> {
    // SAFETY: no Rust object of this process owns `fd`; the borrow lasts for this read only
    // and it stays open until the close below (a number that is not open makes the read
    // fail with EBADF).
    let data = read_to_end(unsafe { BorrowedFd::borrow_raw(fd) })?;
    let _ = nix::unistd::close(fd);
    Ok(data)
}

/// Writes all of `data` to `fd`, retrying on short writes.
pub(crate) fn write_all(fd: impl AsFd, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match write(fd.as_fd(), data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Copies everything readable from `from` into `to`.
pub(crate) fn copy(from: impl AsFd, to: impl AsFd) -> Result<(), Errno> {
    let mut buf = [0u8; 65536];
    loop {
        match read(from.as_fd(), &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => write_all(to.as_fd(), &buf[..n])?,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Fills `buf` from `fd`; `Ok(false)` if end of file came first.
pub(crate) fn read_exact(fd: impl AsFd, buf: &mut [u8]) -> Result<bool, Errno> {
    let mut got = 0;
    while got < buf.len() {
        match read(fd.as_fd(), &mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Blocks until one byte (or end of file, or an error) can be read from `fd`
/// (`--block-fd` and friends).
pub(crate) fn block_on(fd: impl AsFd) {
    let mut byte = [0u8; 1];
    while let Err(Errno::EINTR) = read(fd.as_fd(), &mut byte) {}
}

/// A close-on-exec pipe (read end, write end), its read end nonblocking if asked.
pub(crate) fn pipe(nonblocking_read: bool) -> Result<(OwnedFd, OwnedFd), Errno> {
    let (r, w) = pipe2(OFlag::O_CLOEXEC)?;
    if nonblocking_read {
        let _ = fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    }
    Ok((r, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_carry_whole_messages_and_report_end_of_file() {
        let (r, w) = pipe(false).unwrap();
        write_all(&w, b"abcd").unwrap();
        let mut four = [0u8; 4];
        assert!(read_exact(&r, &mut four).unwrap());
        assert_eq!(&four, b"abcd");
        write_all(&w, b"tail").unwrap();
        drop(w);
        assert_eq!(read_to_end(&r).unwrap(), b"tail");
        assert!(!read_exact(&r, &mut four).unwrap());
    }

    #[test]
    fn a_nonblocking_read_end_does_not_wait() {
        let (r, _w) = pipe(true).unwrap();
        assert_eq!(read(&r, &mut [0u8; 1]), Err(Errno::EAGAIN));
    }
}
