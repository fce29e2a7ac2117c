//! Why no usable bwrap could be chosen, each cause with its data.

use std::path::PathBuf;

use super::bundled::MalformedDigest;
use super::probe::ProbeError;
use crate::exit;
use crate::host::wsl::WSL1_REFUSAL;

/// The kind of a [`LaunchError`], which decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaunchErrorKind {
    /// No usable bwrap was found, or the host cannot run one (WSL1).
    Unavailable,
    /// The bundled bwrap's SHA-256 differs from the compiled-in digest.
    DigestMismatch,
}

/// Why no usable bwrap could be chosen; the message names the cause and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// The host is WSL1, which has no user namespaces.
    #[error("{WSL1_REFUSAL}")]
    Wsl1,
    /// `/proc/self/exe` could not be read.
    #[error("cannot locate the sandbox executable through /proc/self/exe: {0}")]
    CurrentExe(#[source] std::io::Error),
    /// The compiled-in digest of the bundled bwrap is malformed.
    #[error(transparent)]
    MalformedDigest(#[from] MalformedDigest),
    /// The `--bwrap PATH` binary gave no `--help` answer.
    #[error("--bwrap {}: {source}; pass the path of a working bubblewrap", .path.display())]
    ExplicitProbe {
        /// The path given.
        path: PathBuf,
        /// Why the probe failed.
        source: ProbeError,
    },
    /// The `--bwrap PATH` binary lacks options the plan needs.
    #[error(
        "--bwrap {} ({version}) lacks {}; pass a bubblewrap 0.5 or later",
        .path.display(),
        .missing.join(", ")
    )]
    ExplicitLacks {
        /// The path given.
        path: PathBuf,
        /// Its `--version` line.
        version: String,
        /// The required options its `--help` does not list.
        missing: Vec<&'static str>,
    },
    /// No bwrap on `PATH` is usable and there is no bundled one.
    #[error(
        "no usable bwrap: {why_not_system}, and no bundled bwrap at {}; install bubblewrap 0.5 \
         or later, or reinstall sandbox with its bundled bwrap",
        joined(tried)
    )]
    NoBundled {
        /// Why no bwrap from `PATH` is used.
        why_not_system: String,
        /// Every bundled candidate that was tried.
        tried: Vec<PathBuf>,
    },
    /// The bundled bwrap could not be opened.
    #[error("open bundled bwrap {}: {source}", .path.display())]
    OpenBundled {
        /// The bundled bwrap.
        path: PathBuf,
        /// Why it could not be opened.
        source: std::io::Error,
    },
    /// The bundled bwrap's descriptor could not be moved above the fixed numbers.
    #[error("dup bundled bwrap {}: {source}", .path.display())]
    DupBundled {
        /// The bundled bwrap.
        path: PathBuf,
        /// Why `fcntl(F_DUPFD_CLOEXEC)` failed.
        source: nix::errno::Errno,
    },
    /// The bundled bwrap could not be read to hash it.
    #[error("read bundled bwrap {}: {source}", .path.display())]
    ReadBundled {
        /// The bundled bwrap.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The bundled bwrap's SHA-256 differs from the compiled-in digest.
    #[error(
        "bundled bwrap digest mismatch for {}: expected sha256:{expected}, got \
         sha256:{actual}; it was modified or belongs to another build: reinstall \
         sandbox, or install bubblewrap on PATH",
        .path.display()
    )]
    DigestMismatch {
        /// The bundled bwrap.
        path: PathBuf,
        /// The compiled-in digest, lower-case hex.
        expected: String,
        /// The file's SHA-256, lower-case hex.
        actual: String,
    },
    /// The bundled bwrap gave no `--help` answer.
    #[error("bundled bwrap {}: {source}; reinstall sandbox", .path.display())]
    BundledProbe {
        /// The bundled bwrap.
        path: PathBuf,
        /// Why the probe failed.
        source: ProbeError,
    },
    /// The bundled bwrap lacks options the plan needs.
    #[error(
        "bundled bwrap {} lacks {}; reinstall sandbox or install bubblewrap 0.5 or later",
        .path.display(),
        .missing.join(", ")
    )]
    BundledLacks {
        /// The bundled bwrap.
        path: PathBuf,
        /// The required options its `--help` does not list.
        missing: Vec<&'static str>,
    },
}

impl LaunchError {
    /// What went wrong, for the exit status.
    pub fn kind(&self) -> LaunchErrorKind {
        match self {
            LaunchError::DigestMismatch { .. } => LaunchErrorKind::DigestMismatch,
            _ => LaunchErrorKind::Unavailable,
        }
    }

    /// The documented exit status for this failure.
    pub fn exit_status(&self) -> i32 {
        match self.kind() {
            LaunchErrorKind::DigestMismatch => exit::DIGEST_MISMATCH,
            LaunchErrorKind::Unavailable => exit::FAILURE,
        }
    }
}

/// The paths, comma-separated.
fn joined(paths: &[PathBuf]) -> String {
    let shown: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variant_decides_the_exit_status_and_the_message() {
        let mismatch = LaunchError::DigestMismatch {
            path: PathBuf::from("/b"),
            expected: "aa".to_owned(),
            actual: "bb".to_owned(),
        };
        assert_eq!(mismatch.kind(), LaunchErrorKind::DigestMismatch);
        assert_eq!(mismatch.exit_status(), exit::DIGEST_MISMATCH);
        let missing = LaunchError::NoBundled {
            why_not_system: "none".to_owned(),
            tried: vec![PathBuf::from("/a"), PathBuf::from("/b")],
        };
        assert_eq!(missing.kind(), LaunchErrorKind::Unavailable);
        assert_eq!(missing.exit_status(), exit::FAILURE);
        assert_eq!(
            missing.to_string(),
            "no usable bwrap: none, and no bundled bwrap at /a, /b; install bubblewrap 0.5 or \
             later, or reinstall sandbox with its bundled bwrap"
        );
        assert_eq!(LaunchError::Wsl1.to_string(), WSL1_REFUSAL);
    }
}
