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

/// The calling thread's (effective, permitted, inheritable) sets.
pub(crate) fn current() -> Result<(CapSet, CapSet, CapSet), SetupError> {
    let sets = uapi::caps::get().map_err(failed("capget failed"))?;
    Ok((sets.effective, sets.permitted, sets.inheritable))
}

/// Sets effective = permitted = `caps`, and inheritable = `inheritable`.
pub(crate) fn try_set(caps: CapSet, inheritable: CapSet) -> Result<(), Errno> {
    uapi::caps::set(uapi::caps::CapSets {
        effective: caps,
        permitted: caps,
        inheritable,
    })
}

/// Like [`try_set`], with upstream's message on failure.
pub(crate) fn set(caps: CapSet, inheritable: CapSet) -> Result<(), SetupError> {
    try_set(caps, inheritable).map_err(failed("capset failed"))
}

/// Removes from the bounding set every capability not in `keep`. Each capability is read
/// first (`PR_CAPBSET_READ`); any failure is fatal, so a sandbox never starts with a
/// bounding set other than the one intended.
pub(crate) fn limit_bounding_set(keep: CapSet) -> Result<(), SetupError> {
    for cap in 0..=last_cap() {
        let held = uapi::caps::bounding_has(cap)
            .map_err(failed("Reading the capability bounding set failed"))?;
        if held && keep & (1 << cap) == 0 {
            uapi::caps::bounding_drop(cap)
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
        if let Err(errno) = uapi::caps::ambient_raise(cap) {
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
