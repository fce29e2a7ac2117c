//! Protected metadata under writable roots: `.git` (and its `gitdir:` target), `.codex`,
//! `.agents` and `.aws` (cloud credentials and config, as in current Codex) stay read-only,
//! and where missing cannot be created.

use std::path::{Path, PathBuf};

use super::PlanError;
use super::symlink::secure_path;

/// The names protected under every writable root.
pub const PROTECTED_NAMES: [&str; 4] = [".git", ".codex", ".agents", ".aws"];

/// The read-only paths that protect `root`: each protected name (existing or not) and, when
/// `.git` is a `gitdir:` file, the directory it points to. A protected name that is a
/// symlink fails closed: the command could retarget it.
pub fn protected_paths(root: &Path, writable: &[PathBuf]) -> Result<Vec<PathBuf>, PlanError> {
    let mut out = Vec::new();
    for name in PROTECTED_NAMES {
        let path = root.join(name);
        let meta = std::fs::symlink_metadata(&path).ok();
        if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
            return Err(PlanError::WritableSymlink {
                path: path.clone(),
                link: path,
                origin: format!("protected metadata under {}", root.display()),
            });
        }
        if name == ".git"
            && meta.as_ref().is_some_and(|m| m.is_file())
            && let Some(target) = gitdir_target(&path)?
        {
            let origin = format!("gitdir: of {}", path.display());
            out.push(secure_path(&target, writable, &origin)?);
        }
        out.push(path);
    }
    Ok(out)
}

/// The directory a `.git` file's `gitdir: X` line names (relative to the file's directory).
fn gitdir_target(git_file: &Path) -> Result<Option<PathBuf>, PlanError> {
    let text = std::fs::read_to_string(git_file).map_err(|e| PlanError::Io {
        path: git_file.to_path_buf(),
        action: "read",
        source: e,
    })?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("gitdir:"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| git_file.parent().unwrap_or(Path::new("/")).join(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_all_names_and_the_gitdir_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("store/wt")).unwrap();
        std::fs::write(root.join(".git"), "gitdir: store/wt\n").unwrap();
        let got = protected_paths(&root, &[]).unwrap();
        assert_eq!(
            got,
            vec![
                root.join("store/wt"),
                root.join(".git"),
                root.join(".codex"),
                root.join(".agents"),
                root.join(".aws")
            ]
        );
    }

    #[test]
    fn symlinked_metadata_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("decoy")).unwrap();
        std::os::unix::fs::symlink("decoy", dir.path().join(".codex")).unwrap();
        let err = protected_paths(dir.path(), &[]).unwrap_err().to_string();
        assert!(err.contains(".codex"), "{err}");
    }
}
