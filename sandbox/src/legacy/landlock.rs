//! Applying the legacy model with Landlock: `/` readable, each writable root (and
//! `/dev/null`) fully accessible, everything else read-only.
//!
//! The ruleset handles every filesystem right up to Landlock ABI 5 (Linux 6.10: truncate,
//! cross-directory rename/link and device ioctls included) as a hard requirement: on an
//! older kernel, or without Landlock, building it fails and nothing runs, so the command
//! never runs under weaker rules than the policy says.
//!
//! The ruleset is built in the parent ([`prepare`]); a child applies it between fork and
//! exec with one system call ([`RulesetFd::restrict_self`]), which is async-signal-safe.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, PathFdError,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError,
};

/// The Landlock ABI whose filesystem rights the legacy model needs.
pub const REQUIRED_ABI: ABI = ABI::V5;

/// Why Landlock could not be applied in full.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LandlockError {
    /// The kernel lacks Landlock or the rights of [`REQUIRED_ABI`].
    #[error(
        "Landlock cannot fully enforce the legacy rules on this kernel ({0}); fix: use a \
         kernel 6.10 or later with Landlock enabled, or run without --legacy-landlock (bwrap)"
    )]
    Unsupported(RulesetError),
    /// The ruleset was built but has no descriptor to restrict with.
    #[error(
        "Landlock cannot fully enforce the legacy rules on this kernel (no ruleset descriptor); \
         fix: use a kernel 6.10 or later with Landlock enabled, or run without \
         --legacy-landlock (bwrap)"
    )]
    NoDescriptor,
    /// A writable root could not be opened for its rule.
    #[error("Landlock rule for {}: {source}", .path.display())]
    Rule {
        /// The path the rule was for.
        path: PathBuf,
        /// What went wrong.
        source: PathFdError,
    },
}

/// A complete Landlock ruleset, not yet applied to any process.
#[derive(Debug)]
pub struct RulesetFd(OwnedFd);

/// Builds the ruleset: read-only `/` plus full access beneath each existing path of
/// `writable` and `/dev/null`. Writable roots that do not exist are skipped: their
/// read-only parent already keeps them from being created.
pub fn prepare(writable: &[PathBuf]) -> Result<RulesetFd, LandlockError> {
    let unsupported = LandlockError::Unsupported;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(REQUIRED_ABI))
        .map_err(unsupported)?
        .create()
        .map_err(unsupported)?
        .add_rule(rule(Path::new("/"), AccessFs::from_read(REQUIRED_ABI))?)
        .map_err(unsupported)?;
    let existing = writable.iter().filter(|p| p.exists());
    for path in existing.chain(std::iter::once(&PathBuf::from("/dev/null"))) {
        ruleset = ruleset
            .add_rule(rule(path, AccessFs::from_all(REQUIRED_ABI))?)
            .map_err(unsupported)?;
    }
    let fd: Option<OwnedFd> = ruleset.into();
    fd.map(RulesetFd).ok_or(LandlockError::NoDescriptor)
}

impl RulesetFd {
    /// Restricts the calling thread (and what it execs) to the ruleset. `no_new_privs`
    /// must be set first. Only one system call: safe between fork and exec.
    pub fn restrict_self(&self) -> io::Result<()> {
        // SAFETY: landlock_restrict_self takes a ruleset descriptor we own and flags 0;
        // it reads no memory of ours.
        let rc =
            unsafe { libc::syscall(libc::SYS_landlock_restrict_self, self.0.as_raw_fd(), 0u32) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// A rule granting `access` beneath `path`; for a file, only the rights files can have.
fn rule(path: &Path, access: BitFlags<AccessFs>) -> Result<PathBeneath<PathFd>, LandlockError> {
    let fd = PathFd::new(path).map_err(|source| LandlockError::Rule {
        path: path.to_path_buf(),
        source,
    })?;
    let access = if path.is_dir() {
        access
    } else {
        access & AccessFs::from_file(REQUIRED_ABI)
    };
    Ok(PathBeneath::new(fd, access))
}
