//! The Landlock ABI the running kernel offers.

use nix::errno::Errno;

/// `LANDLOCK_CREATE_RULESET_VERSION` (<linux/landlock.h>): ask for the ABI version instead
/// of creating a ruleset.
const CREATE_RULESET_VERSION: libc::c_uint = 1;

/// The kernel's Landlock ABI version (1 = Linux 5.13, 5 = 6.10, ...), from
/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`. `EOPNOTSUPP`: built
/// in but not enabled at boot; `ENOSYS`: not built in, or the call is filtered.
pub fn abi_version() -> Result<i32, Errno> {
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the syscall reads
    // no memory and creates no descriptor; it only returns the ABI version or an error.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    Errno::result(version).map(|v| v as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{FromRawFd, OwnedFd};

    /// `LANDLOCK_ACCESS_FS_*` bits each ABI added (ABIs 4, 6 and 7 added none).
    fn fs_rights(abi: i32) -> u64 {
        let mut rights = (1 << 13) - 1; // ABI 1: EXECUTE ... MAKE_SYM
        for (since, bit) in [(2, 13), (3, 14), (5, 15)] {
            if abi >= since {
                rights |= 1 << bit;
            }
        }
        rights
    }

    /// `landlock_create_ruleset` for a ruleset handling `fs` rights.
    fn create_ruleset(fs: u64) -> Result<OwnedFd, Errno> {
        #[repr(C)]
        struct Attr {
            handled_access_fs: u64,
        }
        let attr = Attr {
            handled_access_fs: fs,
        };
        // SAFETY: the kernel reads `size_of::<Attr>()` bytes of `attr` (a prefix of
        // struct landlock_ruleset_attr) and returns a new descriptor or an error.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr,
                std::mem::size_of::<Attr>(),
                0,
            )
        };
        // SAFETY: a non-negative return is a new descriptor nothing else owns.
        Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    #[test]
    fn the_reported_abi_is_the_one_the_kernel_enforces() {
        match abi_version() {
            Ok(abi) => {
                assert!(abi >= 1, "ABI {abi}");
                // Every right of this ABI is accepted, a right past it refused.
                assert!(create_ruleset(fs_rights(abi)).is_ok(), "ABI {abi}");
                let next = fs_rights(abi) + 1;
                assert_eq!(create_ruleset(next).err(), Some(Errno::EINVAL), "ABI {abi}");
            }
            Err(errno) => {
                // No Landlock: creating a ruleset fails the same way.
                assert_eq!(create_ruleset(fs_rights(1)).err(), Some(errno));
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI requires Landlock: {errno}"
                );
                eprintln!("skip: no Landlock on this host ({errno})");
            }
        }
    }
}
