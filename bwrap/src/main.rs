//! The `bwrap` binary: see the library for the implementation.
//!
//! `main` is the C entry point, without Rust's runtime set-up (which would ignore `SIGPIPE`,
//! reopen closed standard descriptors on `/dev/null` and read `/proc/self/maps` to install a
//! stack-overflow handler): C bubblewrap does none of that, and a minimal sandbox's start is
//! measurably faster without it. Arguments still come from `std::env::args_os` (glibc hands
//! them to the Rust runtime before `main`), and `std::process::exit` still flushes stdout.
#![cfg_attr(not(test), no_main)]

/// The process entry point, called by the C runtime (the test harness has its own).
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    bwrap::run()
}
