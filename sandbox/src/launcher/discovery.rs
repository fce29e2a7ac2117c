//! Finding a trusted `bwrap` on `PATH`.
//!
//! A `bwrap` whose canonical path lies inside the command's working directory is never
//! used: the workspace is writable by the sandboxed agent, so a binary planted there
//! would otherwise run outside the sandbox on the next command. The only exception is a
//! working directory of `/`, where "inside" would exclude everything.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::host::probe::is_executable_file;

/// The first executable `bwrap` in `path_var` (a `PATH` value) that is outside `cwd`.
/// Relative `PATH` entries are taken relative to `cwd`.
pub fn find_trusted_bwrap(path_var: Option<&OsStr>, cwd: &Path) -> Option<PathBuf> {
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .map(|dir| cwd.join(dir).join("bwrap"))
        .filter(|candidate| is_executable_file(candidate))
        .filter_map(|candidate| candidate.canonicalize().ok())
        .find(|canonical| cwd == Path::new("/") || !canonical.starts_with(&cwd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn plant(dir: &Path, mode: u32) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let file = dir.join("bwrap");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        file
    }

    #[test]
    fn finds_first_executable_bwrap_in_path_order() {
        let tmp = tempfile::tempdir().unwrap();
        let not_exec = plant(&tmp.path().join("a"), 0o644);
        let first = plant(&tmp.path().join("b"), 0o755);
        plant(&tmp.path().join("c"), 0o755);
        let path = std::env::join_paths([
            not_exec.parent().unwrap(),
            first.parent().unwrap(),
            &tmp.path().join("c"),
        ])
        .unwrap();
        let cwd = tempfile::tempdir().unwrap();
        let found = find_trusted_bwrap(Some(&path), cwd.path()).unwrap();
        assert_eq!(found, first.canonicalize().unwrap());
    }

    #[test]
    fn skips_bwrap_planted_inside_the_working_directory() {
        let workspace = tempfile::tempdir().unwrap();
        let planted = plant(&workspace.path().join("bin"), 0o755);
        let outside = tempfile::tempdir().unwrap();
        let trusted = plant(outside.path(), 0o755);
        let path = std::env::join_paths([planted.parent().unwrap(), outside.path()]).unwrap();
        let found = find_trusted_bwrap(Some(&path), workspace.path()).unwrap();
        assert_eq!(found, trusted.canonicalize().unwrap());
    }

    #[test]
    fn skips_a_symlink_that_resolves_into_the_working_directory() {
        let workspace = tempfile::tempdir().unwrap();
        let planted = plant(workspace.path(), 0o755);
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&planted, outside.path().join("bwrap")).unwrap();
        let path = std::env::join_paths([outside.path()]).unwrap();
        assert_eq!(find_trusted_bwrap(Some(&path), workspace.path()), None);
    }

    #[test]
    fn relative_path_entries_resolve_against_the_working_directory() {
        let workspace = tempfile::tempdir().unwrap();
        plant(&workspace.path().join("tools"), 0o755);
        assert_eq!(
            find_trusted_bwrap(Some(OsStr::new("tools")), workspace.path()),
            None
        );
    }

    #[test]
    fn root_working_directory_does_not_hide_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let bwrap = plant(dir.path(), 0o755);
        let found = find_trusted_bwrap(Some(dir.path().as_os_str()), Path::new("/")).unwrap();
        assert_eq!(found, bwrap.canonicalize().unwrap());
    }

    #[test]
    fn unset_path_means_no_candidate() {
        assert_eq!(find_trusted_bwrap(None, Path::new("/tmp")), None);
    }
}
