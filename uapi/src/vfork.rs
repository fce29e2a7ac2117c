//! Starting a process that borrows the caller's memory until it execs (`CLONE_VM |
//! CLONE_VFORK`), the way `posix_spawn` starts one.
//!
//! A `fork` copies the page tables of every private mapping with anonymous pages, and the
//! exec that follows tears the copy down again: on these hosts ~0.1-0.2 ms per command
//! started, even for a small static binary. A child that shares the caller's memory copies
//! nothing; the calling thread is suspended until the child has exec'd or exited, so the
//! two never run on that memory at once.

use nix::errno::Errno;
use nix::unistd::Pid;
use std::ffi::c_void;

/// The child's own stack. Only what it touches is ever backed by memory.
const STACK_SIZE: usize = 256 * 1024;

/// Runs `child` in a new process that shares this process's memory, on a stack of its own,
/// and returns the new process's pid once it has exec'd or ended. The process is created with
/// `SIGCHLD` as its exit signal (wait for it as for a forked child); it ends with the status
/// `child` returns if `child` returns.
///
/// # Safety
/// `child` runs in another process, in this process's memory, while the calling thread is
/// suspended but other threads are not. It must:
/// - end in a successful `execve` or return (or `_exit`); a panic aborts the child (it cannot
///   unwind out of the `extern "C"` entry), so `child` should not panic;
/// - not drop, free or move out of anything it does not own itself (the caller keeps using
///   it), and not leave this process's shared state half-changed;
/// - not take a lock another thread may hold (the allocator's included, when this process has
///   other threads);
/// - run in a process with no signal handlers installed, or block the signals that have one
///   (a handler would run in the child, on this process's memory).
///
/// Changes to per-process state in the child (descriptors, signal mask, credentials,
/// namespaces, seccomp, `prctl`) stay the child's, as after `fork`.
pub unsafe fn spawn_shared<F: FnMut() -> libc::c_int>(child: &mut F) -> Result<Pid, Errno> {
    extern "C" fn entry<F: FnMut() -> libc::c_int>(arg: *mut c_void) -> libc::c_int {
        // SAFETY: `arg` is the `&mut F` passed to clone below, alive until clone returns,
        // which (CLONE_VFORK) is after this process has exec'd or ended.
        let child = unsafe { &mut *arg.cast::<F>() };
        child()
    }
    let mut stack = vec![0u8; STACK_SIZE];
    // SAFETY: the stack pointer is one past the end of `stack`, rounded down to the 16 bytes
    // the ABI wants; `stack` outlives the child's use of it (clone returns only once the child
    // has exec'd or ended). `entry::<F>` matches `child`'s type. The rest is the caller's
    // promise above.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(STACK_SIZE) as usize & !15;
        libc::clone(
            entry::<F>,
            top as *mut c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (child as *mut F).cast::<c_void>(),
        )
    };
    drop(stack);
    Errno::result(pid).map(Pid::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::{WaitStatus, waitpid};
    use std::ffi::CString;

    #[test]
    fn the_child_runs_in_this_memory_and_the_caller_waits_for_it() {
        let mut seen_pid = 0;
        let mut child = || {
            // Visible to the caller: the memory is shared, and the caller only goes on
            // once this process has ended.
            seen_pid = std::process::id();
            7
        };
        // SAFETY: the child only writes an integer the caller owns and returns.
        let pid = unsafe { spawn_shared(&mut child) }.unwrap();
        assert_eq!(seen_pid, pid.as_raw() as u32);
        assert_ne!(seen_pid, std::process::id());
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 7));
    }

    #[test]
    fn an_exec_in_the_child_releases_the_caller() {
        let program = CString::new("/bin/sh").unwrap();
        let args = [
            CString::new("sh").unwrap(),
            CString::new("-c").unwrap(),
            CString::new("exit 3").unwrap(),
        ];
        let argv: Vec<*const libc::c_char> = args
            .iter()
            .map(|a| a.as_ptr())
            .chain([std::ptr::null()])
            .collect();
        let mut failed = None;
        let mut child = || {
            // SAFETY: program and argv are NUL-terminated and outlive the call.
            unsafe { libc::execv(program.as_ptr(), argv.as_ptr()) };
            failed = Some(Errno::last());
            127
        };
        // SAFETY: the child only execs, or records the error in an Option the caller owns.
        let pid = unsafe { spawn_shared(&mut child) }.unwrap();
        assert_eq!(failed, None);
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 3));
    }
}
