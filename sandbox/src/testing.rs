//! What a unit test does on a host that lacks one of its prerequisites.

/// Ends a test whose prerequisite this host lacks: under CI (`CI` set and non-empty, where
/// every prerequisite is installed) the test fails with `reason`, so it can't pass without
/// running; elsewhere it prints `skipped: <reason>` for the test to return (`return skip(..)`).
#[track_caller]
pub(crate) fn skip(reason: impl std::fmt::Display) {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    assert!(!ci, "CI is set, so a missing prerequisite fails: {reason}");
    eprintln!("skipped: {reason}");
}
