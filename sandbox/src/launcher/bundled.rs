//! The bwrap shipped with `sandbox`: where it is looked up, and its digest check.
//!
//! Locations, relative to the directory of the running `sandbox` executable (symlinks
//! resolved), first match wins:
//! 1. `../libexec/agent-sandbox/bwrap` (installed layout: `bin/sandbox`, `libexec/...`);
//! 2. `bwrap` in the same directory (release archives and `target/<profile>/`).
//!
//! The expected SHA-256 is compiled in from the build-time environment variable
//! `SANDBOX_BWRAP_SHA256` (64 hex digits). When it is unset or all zeros the build is a
//! development build and the check is skipped. The file is opened once; the digest is
//! computed through that descriptor and the same descriptor is executed through
//! `/proc/self/fd/N`, so the file cannot be swapped between the check and the exec.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The expected digest as compiled in, if any.
pub const COMPILED_DIGEST: Option<&str> = option_env!("SANDBOX_BWRAP_SHA256");

/// Where the bundled bwrap is looked for, in order, given the `sandbox` executable.
pub fn candidates(exe: &Path) -> Vec<PathBuf> {
    let Some(dir) = exe.parent() else {
        return Vec::new();
    };
    vec![
        dir.join("../libexec/agent-sandbox/bwrap"),
        dir.join("bwrap"),
    ]
}

/// The digest the bundled bwrap must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// Development build: no digest compiled in (or all zeros); the check is skipped.
    Unchecked,
    /// Release build: the file must hash to exactly this.
    Sha256([u8; 32]),
}

impl Expected {
    /// Parses the compiled-in value: `None`, empty or all zeros mean [`Expected::Unchecked`].
    pub fn parse(value: Option<&str>) -> Result<Self, MalformedDigest> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Expected::Unchecked);
        };
        let digest = decode_hex(value).ok_or_else(|| MalformedDigest(value.to_owned()))?;
        Ok(if digest == [0; 32] {
            Expected::Unchecked
        } else {
            Expected::Sha256(digest)
        })
    }

    /// The digest compiled into this `sandbox`.
    pub fn compiled() -> Result<Self, MalformedDigest> {
        Self::parse(COMPILED_DIGEST)
    }
}

/// The compiled-in `SANDBOX_BWRAP_SHA256` is not a digest (the value, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SANDBOX_BWRAP_SHA256 compiled into sandbox is not 64 hex digits: {0:?}")]
pub struct MalformedDigest(pub String);

/// Outcome of hashing the opened bundled bwrap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestStatus {
    /// Development build: not compared; the actual digest is still reported.
    Unchecked {
        /// The file's SHA-256, lower-case hex.
        actual: String,
    },
    /// The file matches the compiled-in digest.
    Verified {
        /// The file's SHA-256, lower-case hex.
        actual: String,
    },
    /// The file differs from the compiled-in digest: it must not run.
    Mismatch {
        /// The compiled-in digest, lower-case hex.
        expected: String,
        /// The file's SHA-256, lower-case hex.
        actual: String,
    },
}

/// Hashes the already-open `file` (positioned reads, the offset is untouched) and
/// compares the result with `expected`.
pub fn check(file: &File, expected: Expected) -> std::io::Result<DigestStatus> {
    let actual = sha256_of(file)?;
    Ok(match expected {
        Expected::Unchecked => DigestStatus::Unchecked {
            actual: encode_hex(&actual),
        },
        Expected::Sha256(want) if want == actual => DigestStatus::Verified {
            actual: encode_hex(&actual),
        },
        Expected::Sha256(want) => DigestStatus::Mismatch {
            expected: encode_hex(&want),
            actual: encode_hex(&actual),
        },
    })
}

fn sha256_of(file: &File) -> std::io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let n = file.read_at(&mut chunk, offset)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        offset += n as u64;
    }
    Ok(hasher.finalize().into())
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn missing_empty_and_all_zero_digests_mean_unchecked() {
        assert_eq!(Expected::parse(None), Ok(Expected::Unchecked));
        assert_eq!(Expected::parse(Some("")), Ok(Expected::Unchecked));
        assert_eq!(
            Expected::parse(Some(&"0".repeat(64))),
            Ok(Expected::Unchecked)
        );
    }

    #[test]
    fn malformed_digests_are_errors() {
        assert!(Expected::parse(Some("abc")).is_err());
        assert!(Expected::parse(Some(&"g".repeat(64))).is_err());
        assert!(Expected::parse(Some(&"a".repeat(66))).is_err());
    }

    #[test]
    fn matching_digest_verifies_and_other_content_mismatches() {
        let expected = Expected::parse(Some(EMPTY_SHA256)).unwrap();
        let mut file = tempfile::tempfile().unwrap();
        assert_eq!(
            check(&file, expected).unwrap(),
            DigestStatus::Verified {
                actual: EMPTY_SHA256.into()
            }
        );
        file.write_all(b"x").unwrap();
        assert!(matches!(
            check(&file, expected).unwrap(),
            DigestStatus::Mismatch { .. }
        ));
    }

    #[test]
    fn candidates_are_libexec_then_same_directory() {
        let got = candidates(Path::new("/opt/x/bin/sandbox"));
        assert_eq!(
            got,
            vec![
                PathBuf::from("/opt/x/bin/../libexec/agent-sandbox/bwrap"),
                PathBuf::from("/opt/x/bin/bwrap"),
            ]
        );
    }
}
