//! User-supplied seccomp programs (`--seccomp`, `--add-seccomp-fd`): read, check, install.
//!
//! bwrap never installs a filter of its own; the caller's programs are installed in argv
//! order as the very last step before exec (the kernel runs the last one installed first).

use crate::error::{SetupError, failed};
use nix::errno::Errno;
use std::os::fd::RawFd;

use crate::bpf::INSN_SIZE;

/// Reads a whole cBPF program from `fd` (a descriptor number from the command line) and
/// closes it.
pub(crate) fn read_program(fd: RawFd) -> Result<Vec<u8>, SetupError> {
    let data = crate::fd::read_numbered(fd).map_err(failed("Can't read seccomp data"))?;
    if !crate::bpf::is_whole(&data) {
        return Err(SetupError::msg(
            "Invalid seccomp data, must be multiple of 8",
        ));
    }
    Ok(data)
}

/// Installs each program in order. `PR_SET_NO_NEW_PRIVS` is already set at startup.
pub(crate) fn install_all(programs: &[Vec<u8>]) -> Result<(), SetupError> {
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
                return Err(SetupError::msg(
                    "Unable to set up system call filtering as requested: prctl(PR_SET_SECCOMP) reported EINVAL. (Hint: this requires a kernel configured with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER.)",
                ));
            }
            return Err(failed("prctl(PR_SET_SECCOMP)")(errno));
        }
    }
    Ok(())
}
