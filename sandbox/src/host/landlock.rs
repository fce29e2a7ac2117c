//! The Landlock ABI the running kernel offers.

use crate::legacy::landlock::REQUIRED_ABI;

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
    match uapi::landlock::abi_version() {
        Ok(version) => Landlock::Abi(version),
        Err(nix::errno::Errno::EOPNOTSUPP) => Landlock::NotEnabled,
        Err(_) => Landlock::NotImplemented,
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
    fn the_legacy_mode_is_reported_usable_exactly_when_its_ruleset_can_be_built() {
        let landlock = detect();
        let built = crate::legacy::landlock::prepare(&[]);
        assert_eq!(
            landlock.describe().1.is_none(),
            built.is_ok(),
            "{landlock:?}, ruleset: {built:?}"
        );
    }
}
