//! The Bazel-built bwrap as a last bundled candidate, for Bazel debug test runs only.
//!
//! Active only when both hold:
//! - this `sandbox` was compiled by Bazel in a debug build: `BUILD.bazel` sets the rustc
//!   environment variable `SANDBOX_BAZEL_BUILD=1` (through `rustc_env`) and the build has
//!   `debug_assertions`. Cargo never sets it, and release builds ignore it;
//! - at run time a runfiles environment is present: `RUNFILES_DIR`, `TEST_SRCDIR` or
//!   `RUNFILES_MANIFEST_FILE`.
//!
//! The candidate is `CARGO_BIN_EXE_bwrap` (run-time environment): an absolute path is used
//! as is; a relative one is an rlocation path, looked up under `$RUNFILES_DIR`,
//! `$RUNFILES_DIR/$TEST_WORKSPACE`, the same under `$TEST_SRCDIR`, then in the manifest.
//! The digest check of the bundled bwrap still applies to it.

use std::ffi::OsString;
use std::path::PathBuf;

/// Whether this build honours the runfiles candidate at all.
pub const ENABLED: bool = cfg!(debug_assertions) && option_env!("SANDBOX_BAZEL_BUILD").is_some();

/// The runfiles candidate, if this build honours it and the environment provides one.
pub fn candidate() -> Option<PathBuf> {
    if !ENABLED {
        return None;
    }
    resolve(&|name| std::env::var_os(name))
}

/// Resolves `CARGO_BIN_EXE_bwrap` through a runfiles environment read by `env`.
pub fn resolve(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let in_runfiles = ["RUNFILES_DIR", "TEST_SRCDIR", "RUNFILES_MANIFEST_FILE"]
        .iter()
        .any(|name| env(name).is_some());
    if !in_runfiles {
        return None;
    }
    let wanted = PathBuf::from(env("CARGO_BIN_EXE_bwrap")?);
    if wanted.is_absolute() {
        return Some(wanted);
    }
    let workspace = env("TEST_WORKSPACE");
    let under_roots = ["RUNFILES_DIR", "TEST_SRCDIR"]
        .iter()
        .filter_map(|root| env(root).map(PathBuf::from))
        .flat_map(|root| {
            let in_workspace = workspace.as_ref().map(|w| root.join(w).join(&wanted));
            std::iter::once(root.join(&wanted)).chain(in_workspace)
        })
        .find(|p| p.is_file());
    under_roots.or_else(|| from_manifest(env("RUNFILES_MANIFEST_FILE")?, &wanted))
}

/// Looks `key` up in a runfiles manifest (`<key> <path>` per line).
fn from_manifest(manifest: OsString, key: &std::path::Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let key = key.to_str()?;
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| PathBuf::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn without_runfiles_environment_there_is_no_candidate() {
        let env = env_of(&[("CARGO_BIN_EXE_bwrap", "/usr/bin/bwrap")]);
        assert_eq!(resolve(&env), None);
    }

    #[test]
    fn absolute_value_is_used_as_is() {
        let env = env_of(&[
            ("RUNFILES_DIR", "/nonexistent"),
            ("CARGO_BIN_EXE_bwrap", "/usr/bin/bwrap"),
        ]);
        assert_eq!(resolve(&env), Some(PathBuf::from("/usr/bin/bwrap")));
    }

    #[test]
    fn rlocation_path_resolves_under_runfiles_dir_and_workspace() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("_main/bwrap/bwrap");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::write(&bin, "").unwrap();
        let env = env_of(&[
            ("RUNFILES_DIR", root.path().to_str().unwrap()),
            ("TEST_WORKSPACE", "_main"),
            ("CARGO_BIN_EXE_bwrap", "bwrap/bwrap"),
        ]);
        assert_eq!(resolve(&env), Some(bin));
    }

    #[test]
    fn rlocation_path_resolves_through_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("MANIFEST");
        std::fs::write(&manifest, "other /x\n_main/bwrap/bwrap /real/bwrap\n").unwrap();
        let env = env_of(&[
            ("RUNFILES_MANIFEST_FILE", manifest.to_str().unwrap()),
            ("CARGO_BIN_EXE_bwrap", "_main/bwrap/bwrap"),
        ]);
        assert_eq!(resolve(&env), Some(PathBuf::from("/real/bwrap")));
    }
}
