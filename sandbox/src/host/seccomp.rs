//! Whether seccomp filters can be installed here, and whether one is already active.

/// What this process sees of seccomp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seccomp {
    /// The kernel accepts filters that return errno (`SECCOMP_GET_ACTION_AVAIL`).
    pub filters_available: bool,
    /// How many filters already apply to this process (from `/proc/self/status`), if known.
    pub inherited_filters: Option<u32>,
}

/// Probes the kernel and `/proc/self/status`.
pub fn detect() -> Seccomp {
    let action: u32 = libc::SECCOMP_RET_ERRNO;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL only reads the u32 behind the pointer, which lives
    // for the duration of the call; it changes no state.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    Seccomp {
        filters_available: rc == 0,
        inherited_filters: status_field("Seccomp_filters:"),
    }
}

fn status_field(name: &str) -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_kernel_accepts_seccomp_filters() {
        let s = detect();
        assert!(s.filters_available);
        assert!(s.inherited_filters.is_some());
    }
}
