//! What the host gives the sandbox: WSL, user namespaces, AppArmor, Landlock, seccomp,
//! containers. Each probe reads the real kernel; problems come back as [`Warning`]s that
//! name the cause and the fix.

pub mod apparmor;
pub(crate) mod child;
pub mod container;
pub mod landlock;
pub mod probe;
pub mod seccomp;
pub mod userns;
pub mod wsl;

use std::fmt;

/// A problem shown on stderr before the command runs: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What is wrong on this host.
    pub cause: String,
    /// What the user can do about it.
    pub fix: String,
}

impl Warning {
    /// A warning with its cause and fix.
    pub fn new(cause: &str, fix: &str) -> Self {
        Warning {
            cause: cause.to_owned(),
            fix: fix.to_owned(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sandbox: warning: {}\n  fix: {}", self.cause, self.fix)
    }
}
