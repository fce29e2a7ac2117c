//! What the command starts with besides its filesystem view, the same for both enforcers
//! (bwrap and legacy Landlock): its environment, the descriptors passed on, the limits.

pub(crate) mod environ;

use std::ffi::OsString;

use crate::policy::Limits;

/// What the spawned sandbox inherits besides the filesystem and network plan.
#[derive(Debug, Clone, Default)]
pub struct SpawnSettings {
    /// The command's complete environment (bwrap and the inner stage pass it on).
    pub env: Vec<(OsString, OsString)>,
    /// The caller's descriptors passed on to the command (`--pass-fd`), besides 0, 1, 2.
    pub pass_fds: Vec<i32>,
    /// The policy's resource limits, set before bwrap (or the legacy command) starts.
    pub limits: Limits,
}

impl SpawnSettings {
    /// The environment's variable names (for `explain`, which shows no values).
    pub fn env_names(&self) -> Vec<String> {
        self.env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect()
    }
}
