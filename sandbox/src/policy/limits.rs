//! The policy's optional `[limits]` section: resource limits set on bwrap before it
//! starts, so the sandbox and everything in it inherit them.
//!
//! ```toml
//! [limits]
//! processes = 256              # RLIMIT_NPROC
//! open_files = 1024            # RLIMIT_NOFILE
//! address_space = 4294967296   # RLIMIT_AS, bytes, per process
//! ```
//!
//! `processes` is the kernel's per-real-uid count: it counts every process of the
//! caller's uid on the host, not only the sandbox's, so set it well above what the
//! caller runs outside. The kernel never applies it to uid 0, so a root caller with
//! `processes` set is refused. Each limit sets both the soft and the hard value, so the command
//! cannot raise it again.

/// A parsed `[limits]` section; `None` leaves the inherited limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// `processes` (`RLIMIT_NPROC`).
    pub processes: Option<u64>,
    /// `open_files` (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// `address_space` (`RLIMIT_AS`, bytes).
    pub address_space: Option<u64>,
}

impl Limits {
    /// `(resource, value)` for each limit that is set.
    fn each(&self) -> [(libc::__rlimit_resource_t, Option<u64>); 3] {
        [
            (libc::RLIMIT_NPROC, self.processes),
            (libc::RLIMIT_NOFILE, self.open_files),
            (libc::RLIMIT_AS, self.address_space),
        ]
    }

    /// Sets every limit (soft and hard) on the calling process. Async-signal-safe: for a
    /// `pre_exec` hook.
    pub fn apply(&self) -> std::io::Result<()> {
        for (resource, value) in self.each() {
            let Some(value) = value else { continue };
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            // SAFETY: setrlimit reads the struct we own.
            if unsafe { libc::setrlimit(resource, &limit) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Refuses a limit that would not hold: `processes` for real uid 0 (the kernel does
    /// not apply `RLIMIT_NPROC` to root), and a limit above the caller's own hard limit
    /// (an unprivileged process cannot raise it, so bwrap would fail with a bare EPERM).
    pub fn check(&self, origin: &str) -> Result<(), LimitError> {
        if self.processes.is_some() && nix::unistd::getuid().is_root() {
            return Err(LimitError::ProcessesForRoot {
                origin: origin.to_owned(),
            });
        }
        for ((resource, value), name) in
            self.each()
                .into_iter()
                .zip(["processes", "open_files", "address_space"])
        {
            let Some(value) = value else { continue };
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes the struct we own.
            if unsafe { libc::getrlimit(resource, &mut current) } < 0 {
                return Err(LimitError::Getrlimit(std::io::Error::last_os_error()));
            }
            let privileged = nix::unistd::geteuid().is_root();
            if value > current.rlim_max && !privileged {
                return Err(LimitError::AboveHardLimit {
                    origin: origin.to_owned(),
                    name,
                    value,
                    hard: current.rlim_max,
                });
            }
        }
        Ok(())
    }
}

/// Why a policy's `[limits]` would not hold for this process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// `limits.processes` under real uid 0, to which the kernel does not apply it.
    #[error(
        "{origin}: limits.processes cannot be enforced for root: the kernel does not apply RLIMIT_NPROC to uid 0; fix: run the sandbox as an unprivileged user, or remove limits.processes"
    )]
    ProcessesForRoot {
        /// The policy's origin.
        origin: String,
    },
    /// The current limits could not be read.
    #[error("getrlimit: {0}")]
    Getrlimit(std::io::Error),
    /// A limit above the caller's hard limit, which an unprivileged process cannot raise.
    #[error(
        "{origin}: limits.{name} = {value} is above this process's hard limit {hard}; fix: lower it (an unprivileged process cannot raise a hard limit)"
    )]
    AboveHardLimit {
        /// The policy's origin.
        origin: String,
        /// The limit's key.
        name: &'static str,
        /// The policy's value.
        value: u64,
        /// This process's hard limit.
        hard: u64,
    },
}
