//! Resolving policy paths on the host without letting a writable symlink redirect a mount.
//!
//! A symlink whose parent directory is writable inside the sandbox can be swapped by the
//! command (or by a concurrent run) between planning and mounting. Any policy path that
//! crosses such a link is refused, naming the link. Symlinks in read-only places (for
//! example `/lib -> usr/lib`) are followed.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::PlanError;

/// Symlinks followed while resolving one path before giving up (as the kernel does).
const MAX_LINKS: usize = 40;

/// A symlink followed while resolving a path: where it is and what it says.
pub type Followed = (PathBuf, PathBuf);

/// Resolves `path` to its real location, following symlinks that lie outside every
/// directory in `writable` and failing on the first one that lies inside. Components
/// that do not exist are appended unchanged. `origin` names the policy entry in errors.
pub fn secure_path(path: &Path, writable: &[PathBuf], origin: &str) -> Result<PathBuf, PlanError> {
    secure_path_with_links(path, writable, origin, &mut Vec::new())
}

/// [`secure_path`], also recording every symlink it followed in `followed`.
pub fn secure_path_with_links(
    path: &Path,
    writable: &[PathBuf],
    origin: &str,
    followed: &mut Vec<Followed>,
) -> Result<PathBuf, PlanError> {
    walk(path, writable, origin, path, followed)
}

fn walk(
    path: &Path,
    writable: &[PathBuf],
    origin: &str,
    entry: &Path,
    followed: &mut Vec<Followed>,
) -> Result<PathBuf, PlanError> {
    let mut current = PathBuf::from("/");
    let mut components = path.components();
    while let Some(component) = components.next() {
        match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
            Component::ParentDir => {
                current.pop();
                continue;
            }
            Component::Normal(name) => current.push(name),
        }
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                current.extend(components);
                return Ok(current);
            }
            Err(e) => {
                return Err(PlanError::Io {
                    path: current,
                    action: "inspect",
                    source: e,
                });
            }
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let parent = current.parent().unwrap_or(Path::new("/")).to_path_buf();
        if writable.iter().any(|w| parent.starts_with(w)) {
            return Err(PlanError::WritableSymlink {
                path: entry.to_path_buf(),
                link: current,
                origin: origin.to_string(),
            });
        }
        if followed.len() >= MAX_LINKS {
            return Err(PlanError::Io {
                path: current,
                action: "resolve",
                source: io::Error::from_raw_os_error(libc::ELOOP),
            });
        }
        let target = std::fs::read_link(&current).map_err(|e| PlanError::Io {
            path: current.clone(),
            action: "read the symlink",
            source: e,
        })?;
        let mut joined = parent.join(&target);
        followed.push((current, target));
        joined.extend(components);
        return walk(&joined, writable, origin, entry, followed);
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn follows_links_outside_writable_roots() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        symlink("real", dir.path().join("link")).unwrap();
        let got = secure_path(&dir.path().join("link/missing/x"), &[], "k").unwrap();
        assert_eq!(got, real.canonicalize().unwrap().join("missing/x"));
    }

    #[test]
    fn refuses_a_link_inside_a_writable_root_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        symlink("real", root.join("link")).unwrap();
        let err =
            secure_path(&root.join("link/secret"), std::slice::from_ref(&root), "k").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&root.join("link").display().to_string()),
            "{msg}"
        );
        assert!(matches!(err, PlanError::WritableSymlink { .. }));
    }

    #[test]
    fn detects_link_loops() {
        let dir = tempfile::tempdir().unwrap();
        symlink("b", dir.path().join("a")).unwrap();
        symlink("a", dir.path().join("b")).unwrap();
        assert!(secure_path(&dir.path().join("a/x"), &[], "k").is_err());
    }
}
