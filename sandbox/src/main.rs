//! The `sandbox` command-line tool: see `sandbox --help`.
//!
//! `main` is the C entry point, without Rust's runtime set-up: that set-up reads
//! `/proc/self/maps` and maps an alternate signal stack to report stack overflows, in every
//! process this executable starts as (the CLI, the inner stage, the proxy bridges), which is
//! a measurable part of a sandbox's start. The two parts of it this program relies on are
//! done here instead, first: standard descriptors that are closed are opened on `/dev/null`
//! (so that no file or pipe the program opens later becomes its stdout or stderr), and
//! `SIGPIPE` is ignored (a write to a closed pipe fails with `EPIPE` instead of killing the
//! launcher; commands still start with the default, see `inner` and `std::process`).
//! Arguments still come from `std::env::args_os` (glibc hands them to the Rust runtime before
//! `main`), and `std::process::exit` still flushes stdout.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::os::fd::BorrowedFd;

#[cfg(not(test))]
use nix::{
    fcntl::{OFlag, open},
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::stat::Mode,
};

/// The process entry point, called by the C runtime (the test harness has its own).
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    if !standard_descriptors_open() {
        std::process::abort();
    }
    // SAFETY: ignoring a signal installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    sandbox::dispatch_inner_stage();
    std::process::exit(sandbox::cli::main(std::env::args_os().skip(1).collect()));
}

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is closed (the lowest free
/// number is the closed one, as they are filled in order). `false` if that failed.
#[cfg(not(test))]
fn standard_descriptors_open() -> bool {
    // SAFETY: polled only; a closed number reports POLLNVAL, and nothing closes these
    // descriptors during the call.
    let fds = [0, 1, 2].map(|fd| unsafe { BorrowedFd::borrow_raw(fd) });
    let mut polled = fds.map(|fd| PollFd::new(fd, PollFlags::empty()));
    match poll(&mut polled, PollTimeout::ZERO) {
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return standard_descriptors_open(),
        Err(_) => return false,
    }
    let closed = polled
        .iter()
        .filter(|p| p.revents().is_some_and(|r| r.contains(PollFlags::POLLNVAL)))
        .count();
    (0..closed).all(|_| {
        open("/dev/null", OFlag::O_RDWR, Mode::empty())
            .map(std::os::fd::IntoRawFd::into_raw_fd)
            .is_ok_and(|fd| fd <= 2)
    })
}
