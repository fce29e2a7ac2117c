//! The Landlock ABI the running kernel offers.

use crate::legacy::landlock::REQUIRED_ABI;

/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version instead of a ruleset.
const CREATE_RULESET_VERSION: libc::c_uint = 1;

/// What the kernel says about Landlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landlock {
    /// Landlock works; this is the kernel's ABI version (1 = Linux 5.13, 5 = 6.10, ...).
    Abi(i32),
    /// Built in but not enabled at boot (`EOPNOTSUPP`): add `landlock` to the `lsm=` list.
    NotEnabled,
    /// Not in this kernel, or its syscalls are filtered (`ENOSYS`).
    NotImplemented,
}

/// Asks the kernel (`landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`).
pub fn detect() -> Landlock {
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
    if version > 0 {
        return Landlock::Abi(version as i32);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EOPNOTSUPP) => Landlock::NotEnabled,
        _ => Landlock::NotImplemented,
    }
}

impl Landlock {
    /// A one-line description, with the fix when Landlock cannot carry the legacy mode.
    pub fn describe(self) -> (String, Option<&'static str>) {
        match self {
            Landlock::Abi(v) if v >= REQUIRED_ABI as i32 => (format!("ABI {v}"), None),
            Landlock::Abi(v) => (
                format!(
                    "ABI {v}, below the ABI {} --legacy-landlock needs",
                    REQUIRED_ABI as i32
                ),
                Some("use Linux 6.10 or later"),
            ),
            Landlock::NotEnabled => (
                "built in but not enabled".to_owned(),
                Some("add `landlock` to the kernel's `lsm=` boot parameter"),
            ),
            Landlock::NotImplemented => (
                "not available (ENOSYS: not built in, or filtered by seccomp)".to_owned(),
                Some("use a kernel built with CONFIG_SECURITY_LANDLOCK (5.13 or later)"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abi_below_the_legacy_requirement_carries_a_fix() {
        assert!(Landlock::Abi(4).describe().1.is_some());
        assert!(Landlock::Abi(REQUIRED_ABI as i32).describe().1.is_none());
        assert!(Landlock::NotImplemented.describe().1.is_some());
    }

    #[test]
    fn this_kernel_reports_a_landlock_abi() {
        // The project's hosts run kernel 6.18 with Landlock enabled.
        match detect() {
            Landlock::Abi(v) => assert!(v >= 1),
            other => crate::testing::skip(format!("Landlock not usable on this host: {other:?}")),
        }
    }
}
