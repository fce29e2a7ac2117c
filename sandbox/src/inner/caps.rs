//! The check that no capability survived into the sandbox, and dropping them all.

use std::io;

use uapi::caps::CapSets;

/// The effective, permitted and inheritable sets of this thread, as 64-bit masks.
pub fn current() -> io::Result<[u64; 3]> {
    let sets = uapi::caps::get()?;
    Ok([sets.effective, sets.permitted, sets.inheritable])
}

/// Why [`ensure_none`] refused to go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CapsError {
    /// The sets could not be read.
    #[error("capget failed: {0}")]
    Get(io::Error),
    /// A set is not empty.
    #[error(
        "capabilities survived into the sandbox (effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x}); the bwrap in use did not drop them: run it with --cap-drop ALL"
    )]
    Survived {
        /// The effective set.
        effective: u64,
        /// The permitted set.
        permitted: u64,
        /// The inheritable set.
        inheritable: u64,
    },
}

/// Fails unless the effective, permitted and inheritable sets are all empty.
pub fn ensure_none() -> Result<(), CapsError> {
    let [effective, permitted, inheritable] = current().map_err(CapsError::Get)?;
    if effective | permitted | inheritable != 0 {
        return Err(CapsError::Survived {
            effective,
            permitted,
            inheritable,
        });
    }
    Ok(())
}

/// The highest capability number to drop from the bounding set (the kernel refuses
/// numbers past its own last one with `EINVAL`, which is ignored).
const LAST_CAPABILITY: u32 = 63;

/// Empties the bounding and ambient capability sets and the thread's own sets, so an
/// exec'd program has no capability even when this one holds some (the bounding set is
/// left alone when none is held: dropping from it needs `CAP_SETPCAP`). Used by the inner
/// stage and by the legacy Landlock mode, which has no bwrap to drop them. Only system
/// calls: safe between fork and exec.
pub fn drop_all() -> io::Result<()> {
    let [effective, permitted, _] = current()?;
    if effective | permitted != 0 {
        for cap in 0..=LAST_CAPABILITY {
            match uapi::caps::bounding_drop(cap) {
                Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    uapi::caps::ambient_clear()?;
    Ok(uapi::caps::set(CapSets::default())?)
}
