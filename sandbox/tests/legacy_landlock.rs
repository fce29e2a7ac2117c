//! Legacy Landlock mode on the real kernel: what the rules allow and refuse, and the
//! refusal when Landlock is unavailable.

mod host_support;

use std::io::ErrorKind;

use host_support::*;
use sandbox::legacy::landlock::{LandlockError, prepare};

/// Applies the legacy Landlock rules to this (re-run child) process.
fn restrict(writable: &[std::path::PathBuf]) -> Result<(), LandlockError> {
    let ruleset = prepare(writable)?;
    nix::sys::prctl::set_no_new_privs().unwrap();
    ruleset.restrict_self().unwrap();
    Ok(())
}

#[test]
fn landlock_rules_allow_writable_roots_only() {
    if is_rerun() {
        let writable = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let existing = other.path().join("existing");
        std::fs::write(&existing, "keep").unwrap();
        restrict(&[writable.path().to_path_buf()]).unwrap();

        std::fs::write(writable.path().join("new"), "ok").unwrap();
        std::fs::create_dir(writable.path().join("sub")).unwrap();
        let denied = std::fs::write(other.path().join("new"), "no").unwrap_err();
        assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
        let truncate = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&existing)
            .unwrap_err();
        assert_eq!(truncate.kind(), ErrorKind::PermissionDenied);
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep");
        std::fs::write("/dev/null", "discarded").unwrap();
        assert!(
            std::fs::read_to_string("/etc/passwd")
                .unwrap()
                .contains("root")
        );
        return;
    }
    rerun_as_root_and_user("landlock_rules_allow_writable_roots_only", &[], &[]);
}

#[test]
fn landlock_unavailable_refuses_instead_of_running_weaker() {
    if is_rerun() {
        let writable = tempfile::tempdir().unwrap();
        let err = restrict(&[writable.path().to_path_buf()]).unwrap_err();
        assert!(matches!(err, LandlockError::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("fix:"), "{err}");
        return;
    }
    rerun_as_root_and_user_with(
        "landlock_unavailable_refuses_instead_of_running_weaker",
        &[],
        &[],
        without_landlock,
    );
}
