//! Capabilities: names, the bounding set, `capset` and ambient raising.

use crate::diag::{die, die_errno};
use nix::errno::Errno;

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

/// A set of capabilities as a bit mask (bit N = capability N).
pub type CapSet = u64;

/// Parses a capability name like libcap's `cap_from_name`: `CAP_X`, `cap_x` or a number.
pub fn from_name(name: &[u8]) -> Option<u32> {
    let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    if let Ok(n) = name.parse::<u32>() {
        return (n <= last_cap()).then_some(n);
    }
    let bare = name.strip_prefix("cap_")?;
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(NAMES.len() as u32 - 1)
    })
}

/// Every capability the kernel knows.
pub fn all_caps() -> CapSet {
    let last = last_cap();
    if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

/// The calling thread's (effective, permitted, inheritable) sets.
pub fn current() -> (CapSet, CapSet, CapSet) {
    let sets = uapi::caps::get().unwrap_or_else(|e| die_errno("capget failed", e));
    (sets.effective, sets.permitted, sets.inheritable)
}

/// Sets effective = permitted = `caps`, and inheritable = `inheritable`.
pub fn try_set(caps: CapSet, inheritable: CapSet) -> Result<(), Errno> {
    uapi::caps::set(uapi::caps::CapSets {
        effective: caps,
        permitted: caps,
        inheritable,
    })
}

/// Like [`try_set`], dying on failure.
pub fn set(caps: CapSet, inheritable: CapSet) {
    if let Err(e) = try_set(caps, inheritable) {
        die_errno("capset failed", e);
    }
}

/// Removes from the bounding set every capability not in `keep`. Each capability is read
/// first (`PR_CAPBSET_READ`); any failure is fatal, so a sandbox never starts with a
/// bounding set other than the one intended.
pub fn limit_bounding_set(keep: CapSet) {
    for cap in 0..=last_cap() {
        match uapi::caps::bounding_has(cap) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(errno) => die_errno("Reading the capability bounding set failed", errno),
        }
        if keep & (1 << cap) == 0
            && let Err(errno) = uapi::caps::bounding_drop(cap)
        {
            die_errno("Dropping capability from the bounding set failed", errno);
        }
    }
}

/// Raises each capability of `caps` in the ambient set so it survives exec as a non-root uid.
pub fn raise_ambient(caps: CapSet) {
    // Only inheritable capabilities can be ambient; root that kept its own caps has none.
    let caps = caps & current().2;
    for cap in (0..=last_cap()).filter(|c| caps & (1 << c) != 0) {
        if let Err(errno) = uapi::caps::ambient_raise(cap) {
            // Old kernels without ambient capabilities: the caps still apply to uid 0.
            if errno == Errno::EINVAL {
                return;
            }
            die_errno(&format!("Adding ambient capability {cap}"), errno);
        }
    }
}

/// Applies the `--cap-add`/`--cap-drop` changes in order to `start`.
pub fn apply_changes(start: CapSet, changes: &[crate::args::CapChange]) -> CapSet {
    use crate::args::CapChange::{Add, Drop};
    changes.iter().fold(start, |set, change| match change {
        Add(None) => set | all_caps(),
        Add(Some(cap)) => set | (1 << cap),
        Drop(None) => 0,
        Drop(Some(cap)) => set & !(1 << cap),
    })
}

/// Dies unless the process holds no capabilities (an unprivileged caller must not have any).
pub fn assert_none_unless_root(real_uid: u32) {
    if real_uid != 0 && current().1 != 0 {
        die("Unexpected capabilities but not setuid, old file caps config?");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::CapChange::{Add, Drop};

    #[test]
    fn names_parse_like_libcap() {
        assert_eq!(from_name(b"CAP_NET_ADMIN"), Some(12));
        assert_eq!(from_name(b"cap_sys_admin"), Some(21));
        assert_eq!(from_name(b"CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(from_name(b"7"), Some(7));
        assert_eq!(from_name(b"NET_ADMIN"), None);
        assert_eq!(from_name(b"cap_bogus"), None);
    }

    #[test]
    fn changes_apply_in_argv_order() {
        let kill = 1 << 5;
        assert_eq!(apply_changes(0, &[Add(Some(5))]), kill);
        assert_eq!(
            apply_changes(0, &[Add(None), Drop(None), Add(Some(5))]),
            kill
        );
        assert_eq!(apply_changes(all_caps(), &[Drop(Some(5))]) & kill, 0);
    }
}
