//! AppArmor's restriction on unprivileged user namespaces (Ubuntu 24.04 and later).

use std::path::Path;

/// The sysctl that makes AppArmor gate user-namespace creation per profile.
pub const RESTRICT_SYSCTL: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";

/// What AppArmor does to user namespaces here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppArmor {
    /// AppArmor is the active LSM (its securityfs directory exists).
    pub enabled: bool,
    /// `kernel.apparmor_restrict_unprivileged_userns` is 1.
    pub restricts_userns: bool,
    /// Loaded profiles that grant bwrap user namespaces (names containing `bwrap`).
    pub bwrap_profiles: Vec<String>,
}

/// Reads the sysctl and the loaded profile list (the list needs root to read).
pub fn detect() -> AppArmor {
    let restricts_userns = std::fs::read_to_string(RESTRICT_SYSCTL).is_ok_and(|v| v.trim() == "1");
    let bwrap_profiles = std::fs::read_to_string("/sys/kernel/security/apparmor/profiles")
        .map(|list| {
            list.lines()
                .filter(|l| l.contains("bwrap"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    AppArmor {
        enabled: Path::new("/sys/kernel/security/apparmor").exists()
            || std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|v| v.trim() == "Y"),
        restricts_userns,
        bwrap_profiles,
    }
}
