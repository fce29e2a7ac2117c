//! Capabilities: names, the bounding set, `capset` and ambient raising.

use crate::error::{SetupError, failed};
use nix::errno::Errno;

use crate::args::last_cap;

/// A set of capabilities as a bit mask (bit N = capability N).
pub(crate) type CapSet = u64;

/// Every capability the kernel knows.
pub(crate) fn all_caps() -> CapSet {
    let last = last_cap();
    if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// The calling thread's (effective, permitted, inheritable) sets.
pub(crate) fn current() -> Result<(CapSet, CapSet, CapSet), SetupError> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array are what capget expects for version 3.
    let ret = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if ret != 0 {
        return Err(SetupError::sys("capget failed", Errno::last()));
    }
    let join = |f: fn(&CapData) -> u32| f(&data[0]) as u64 | (f(&data[1]) as u64) << 32;
    Ok((
        join(|d| d.effective),
        join(|d| d.permitted),
        join(|d| d.inheritable),
    ))
}

/// Sets effective = permitted = `caps`, and inheritable = `inheritable`.
pub(crate) fn try_set(caps: CapSet, inheritable: CapSet) -> Result<(), Errno> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let split = |v: CapSet| [v as u32, (v >> 32) as u32];
    let (c, i) = (split(caps), split(inheritable));
    let data = [
        CapData {
            effective: c[0],
            permitted: c[0],
            inheritable: i[0],
        },
        CapData {
            effective: c[1],
            permitted: c[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: header and a two-element data array are what capset expects for version 3.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// Like [`try_set`], with upstream's message on failure.
pub(crate) fn set(caps: CapSet, inheritable: CapSet) -> Result<(), SetupError> {
    try_set(caps, inheritable).map_err(failed("capset failed"))
}

fn prctl(option: i32, arg: u64, arg2: u64) -> Result<i32, Errno> {
    // SAFETY: the prctl options used here take integer arguments only.
    let ret = unsafe { libc::prctl(option, arg, arg2, 0u64, 0u64) };
    Errno::result(ret)
}

/// Removes from the bounding set every capability not in `keep`. Each capability is read
/// first (`PR_CAPBSET_READ`); any failure is fatal, so a sandbox never starts with a
/// bounding set other than the one intended.
pub(crate) fn limit_bounding_set(keep: CapSet) -> Result<(), SetupError> {
    for cap in 0..=last_cap() {
        let held = prctl(libc::PR_CAPBSET_READ, cap as u64, 0)
            .map_err(failed("Reading the capability bounding set failed"))?;
        if held != 0 && keep & (1 << cap) == 0 {
            prctl(libc::PR_CAPBSET_DROP, cap as u64, 0)
                .map_err(failed("Dropping capability from the bounding set failed"))?;
        }
    }
    Ok(())
}

/// Raises each capability of `caps` in the ambient set so it survives exec as a non-root uid.
pub(crate) fn raise_ambient(caps: CapSet) -> Result<(), SetupError> {
    // Only inheritable capabilities can be ambient; root that kept its own caps has none.
    let caps = caps & current()?.2;
    for cap in (0..=last_cap()).filter(|c| caps & (1 << c) != 0) {
        if let Err(errno) = prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as u64,
            cap as u64,
        ) {
            // Old kernels without ambient capabilities: the caps still apply to uid 0.
            if errno == Errno::EINVAL {
                return Ok(());
            }
            return Err(SetupError::sys(
                format!("Adding ambient capability {cap}"),
                errno,
            ));
        }
    }
    Ok(())
}

/// Applies the `--cap-add`/`--cap-drop` changes in order to `start`.
pub(crate) fn apply_changes(start: CapSet, changes: &[crate::args::CapChange]) -> CapSet {
    use crate::args::CapChange::{Add, Drop};
    changes.iter().fold(start, |set, change| match change {
        Add(None) => set | all_caps(),
        Add(Some(cap)) => set | (1 << cap),
        Drop(None) => 0,
        Drop(Some(cap)) => set & !(1 << cap),
    })
}

/// Fails unless the process holds no capabilities (an unprivileged caller must not have any).
pub(crate) fn assert_none_unless_root(real_uid: u32) -> Result<(), SetupError> {
    if real_uid != 0 && current()?.1 != 0 {
        return Err(SetupError::msg(
            "Unexpected capabilities but not setuid, old file caps config?",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::CapChange::{Add, Drop};

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
