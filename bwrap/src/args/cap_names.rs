//! Capability names as libcap's `cap_from_name` reads them, and the kernel's last capability.

/// libcap's names for capabilities 0..=40, indexed by number.
const NAMES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// Parses a capability name like libcap's `cap_from_name`: `CAP_X`, `cap_x` or a number.
pub(crate) fn from_name(name: &[u8]) -> Option<u32> {
    let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    if let Ok(n) = name.parse::<u32>() {
        return (n <= last_cap()).then_some(n);
    }
    let bare = name.strip_prefix("cap_")?;
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// The highest capability the running kernel knows.
pub(crate) fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(NAMES.len() as u32 - 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_like_libcap() {
        assert_eq!(from_name(b"CAP_NET_ADMIN"), Some(12));
        assert_eq!(from_name(b"cap_sys_admin"), Some(21));
        assert_eq!(from_name(b"CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(from_name(b"7"), Some(7));
        assert_eq!(from_name(b"NET_ADMIN"), None);
        assert_eq!(from_name(b"cap_bogus"), None);
    }
}
