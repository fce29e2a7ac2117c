//! User-supplied seccomp programs (`--seccomp`, `--add-seccomp-fd`): read, check, install.
//!
//! bwrap never installs a filter of its own; the caller's programs are installed in argv
//! order as the very last step before exec (the kernel runs the last one installed first).

use crate::diag::{die, die_errno};
use nix::errno::Errno;
use std::os::fd::RawFd;

/// Size of one classic BPF instruction (`struct sock_filter`).
const INSN_SIZE: usize = 8;

/// Reads a whole cBPF program from `fd` and closes it.
pub fn read_program(fd: RawFd) -> Vec<u8> {
    let data = match crate::setup::fsutil::read_fd_to_end(fd) {
        Ok(data) => data,
        Err(errno) => die_errno("Can't read seccomp data", errno),
    };
    let _ = nix::unistd::close(fd);
    if data.len() % INSN_SIZE != 0 {
        die("Invalid seccomp data, must be multiple of 8");
    }
    data
}

/// Installs each program in order. `PR_SET_NO_NEW_PRIVS` is already set at startup.
pub fn install_all(programs: &[Vec<u8>]) {
    for program in programs {
        let filter = libc::sock_fprog {
            len: (program.len() / INSN_SIZE) as u16,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `filter` points at `len` complete sock_filter records owned by `program`,
        // which outlives the call; the kernel copies the program.
        let ret = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &filter as *const _,
            )
        };
        if ret != 0 {
            let errno = Errno::last();
            if errno == Errno::EINVAL {
                die(
                    "Unable to set up system call filtering as requested: prctl(PR_SET_SECCOMP) reported EINVAL. (Hint: this requires a kernel configured with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER.)",
                );
            }
            die_errno("prctl(PR_SET_SECCOMP)", errno);
        }
    }
}
