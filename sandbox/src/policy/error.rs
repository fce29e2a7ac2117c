//! [`PolicyError`]: a refused policy, naming the file, the entry and the fix.

/// A policy that was refused, naming the file, the entry and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: entry `{entry}`: {problem}; fix: {fix}")]
pub struct PolicyError {
    /// The file (or `<string>`) the policy came from.
    pub origin: String,
    /// The entry or key at fault.
    pub entry: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}
