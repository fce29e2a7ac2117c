//! Capabilities of the calling thread: the effective, permitted and inheritable sets
//! (`capget`/`capset`, version 3: 64 bits each), the bounding set and the ambient set
//! (`prctl`). Each function is one system call, safe between `fork` and `exec`.

use nix::errno::Errno;

/// `_LINUX_CAPABILITY_VERSION_3` (<linux/capability.h>): two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`: one 32-bit word of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three per-thread capability sets, as masks (bit N = capability N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    /// What the kernel checks now.
    pub effective: u64,
    /// The limit of `effective`, and what `inheritable` may add.
    pub permitted: u64,
    /// What survives `exec` (for an ambient capability or a file's inheritable set).
    pub inheritable: u64,
}

impl CapSets {
    /// Splits each set into the two 32-bit words version 3 expects.
    fn to_data(self) -> [Data; 2] {
        let word = |set: u64, half: u32| (set >> (32 * half)) as u32;
        [0, 1].map(|half| Data {
            effective: word(self.effective, half),
            permitted: word(self.permitted, half),
            inheritable: word(self.inheritable, half),
        })
    }

    fn from_data(data: &[Data; 2]) -> Self {
        let join = |f: fn(&Data) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
        CapSets {
            effective: join(|d| d.effective),
            permitted: join(|d| d.permitted),
            inheritable: join(|d| d.inheritable),
        }
    }
}

fn header() -> Header {
    // pid 0: the calling thread.
    Header {
        version: VERSION_3,
        pid: 0,
    }
}

/// The calling thread's sets (`capget`).
pub fn get() -> Result<CapSets, Errno> {
    let mut header = header();
    let mut data = [Data::default(); 2];
    // SAFETY: for version 3 capget reads one header and writes two Data structs; both point
    // to live values of exactly those layouts.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    Errno::result(rc)?;
    Ok(CapSets::from_data(&data))
}

/// Replaces the calling thread's sets (`capset`). The kernel refuses (`EPERM`) to add to
/// `permitted`, or to `inheritable` beyond the bounding set and `permitted` without
/// `CAP_SETPCAP`.
pub fn set(sets: CapSets) -> Result<(), Errno> {
    let mut header = header();
    let data = sets.to_data();
    // SAFETY: for version 3 capset reads one header and two Data structs; both point to live
    // values of exactly those layouts, and the kernel does not write through them.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// `prctl(option, arg2, arg3, 0, 0)` for the capability options, which take integers only.
fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> Result<i32, Errno> {
    // SAFETY: the options passed here (PR_CAPBSET_*, PR_CAP_AMBIENT) read no memory: every
    // argument is an integer.
    let rc = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    Errno::result(rc)
}

/// Whether `cap` is in the bounding set (`PR_CAPBSET_READ`); `EINVAL` for a capability the
/// kernel does not know.
pub fn bounding_has(cap: u32) -> Result<bool, Errno> {
    prctl(libc::PR_CAPBSET_READ, cap.into(), 0).map(|set| set == 1)
}

/// Removes `cap` from the bounding set (`PR_CAPBSET_DROP`; needs `CAP_SETPCAP`, `EINVAL` for
/// a capability the kernel does not know).
pub fn bounding_drop(cap: u32) -> Result<(), Errno> {
    prctl(libc::PR_CAPBSET_DROP, cap.into(), 0).map(drop)
}

/// Whether `cap` is in the ambient set (`PR_CAP_AMBIENT_IS_SET`).
pub fn ambient_has(cap: u32) -> Result<bool, Errno> {
    let is_set = libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong;
    prctl(libc::PR_CAP_AMBIENT, is_set, cap.into()).map(|set| set == 1)
}

/// Adds `cap` to the ambient set (`PR_CAP_AMBIENT_RAISE`): it must be permitted and
/// inheritable (`EPERM` otherwise); `EINVAL` on kernels without ambient capabilities (< 4.3).
pub fn ambient_raise(cap: u32) -> Result<(), Errno> {
    let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
    prctl(libc::PR_CAP_AMBIENT, raise, cap.into()).map(drop)
}

/// Empties the ambient set (`PR_CAP_AMBIENT_CLEAR_ALL`).
pub fn ambient_clear() -> Result<(), Errno> {
    let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong;
    prctl(libc::PR_CAP_AMBIENT, clear, 0).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::passes_in_child;

    const CAP_CHOWN: u32 = 0;
    const CAP_SETPCAP: u32 = 8;

    /// A `Cap*:` mask of `/proc/thread-self/status`, the kernel's own report.
    fn status_mask(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(":"))
            .unwrap_or_else(|| panic!("no {field} in /proc/thread-self/status"));
        u64::from_str_radix(line.trim(), 16).unwrap()
    }

    fn last_cap() -> u32 {
        let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap();
        text.trim().parse().unwrap()
    }

    #[test]
    fn get_reads_the_sets_proc_reports() {
        let sets = get().unwrap();
        assert_eq!(sets.effective, status_mask("CapEff"));
        assert_eq!(sets.permitted, status_mask("CapPrm"));
        assert_eq!(sets.inheritable, status_mask("CapInh"));
    }

    #[test]
    fn set_to_empty_leaves_no_capability_and_cannot_be_undone() {
        assert!(passes_in_child(|| {
            let before = get().unwrap();
            set(CapSets::default()).unwrap();
            let emptied = get().unwrap() == CapSets::default() && status_mask("CapEff") == 0;
            // Permitted capabilities once dropped cannot come back.
            let regained = before.permitted != 0 && set(before) != Err(Errno::EPERM);
            emptied && !regained
        }));
    }

    #[test]
    fn set_writes_both_words_of_each_set() {
        assert!(passes_in_child(|| {
            let held = get().unwrap().permitted;
            // Keep the capabilities above 31 only, so that the high word matters.
            let high = CapSets {
                effective: held & !0xffff_ffff,
                permitted: held & !0xffff_ffff,
                inheritable: 0,
            };
            set(high).unwrap();
            get().unwrap() == high && status_mask("CapPrm") == high.permitted
        }));
    }

    #[test]
    fn bounding_has_matches_proc_and_refuses_unknown_capabilities() {
        let bounding = status_mask("CapBnd");
        for cap in 0..=last_cap() {
            assert_eq!(
                bounding_has(cap),
                Ok(bounding & (1 << cap) != 0),
                "cap {cap}"
            );
        }
        assert_eq!(bounding_has(last_cap() + 1), Err(Errno::EINVAL));
    }

    #[test]
    fn bounding_drop_removes_only_that_capability() {
        assert!(passes_in_child(|| {
            let before = status_mask("CapBnd");
            if get().unwrap().effective & (1 << CAP_SETPCAP) == 0 {
                // Without CAP_SETPCAP the kernel refuses.
                return bounding_drop(CAP_CHOWN) == Err(Errno::EPERM);
            }
            bounding_drop(CAP_CHOWN).unwrap();
            bounding_has(CAP_CHOWN) == Ok(false)
                && status_mask("CapBnd") == before & !(1 << CAP_CHOWN)
        }));
    }

    #[test]
    fn ambient_raise_needs_the_capability_inheritable() {
        assert!(passes_in_child(|| {
            let mut sets = get().unwrap();
            sets.inheritable = 0;
            set(sets).unwrap();
            ambient_clear().unwrap();
            if ambient_raise(CAP_CHOWN) != Err(Errno::EPERM) || status_mask("CapAmb") != 0 {
                return false;
            }
            if sets.permitted & (1 << CAP_CHOWN) == 0 {
                return true;
            }
            sets.inheritable = 1 << CAP_CHOWN;
            set(sets).unwrap();
            ambient_raise(CAP_CHOWN).unwrap();
            let raised = ambient_has(CAP_CHOWN) == Ok(true) && status_mask("CapAmb") == 1;
            ambient_clear().unwrap();
            raised && ambient_has(CAP_CHOWN) == Ok(false) && status_mask("CapAmb") == 0
        }));
    }
}
