//! Tests that change the calling thread's credentials or namespaces run in a forked child,
//! so that the test process (and the tests sharing it) keep theirs.

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

/// Runs `check` in a forked child and returns whether it returned `true` (a panic counts as
/// `false`). The child is single-threaded, so it may also `unshare` a user namespace.
pub fn passes_in_child(check: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child runs only `check` and `_exit`s; glibc's fork resets the allocator's
    // locks, so the allocations of a test's checks cannot deadlock.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let passed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
            // SAFETY: _exit ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(if matches!(passed, Ok(true)) { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).expect("waitpid") == WaitStatus::Exited(child, 0)
        }
    }
}
