//! Resolving a policy against one workspace: special names, relative paths, globs.

use std::path::{Component, Path, PathBuf};

use super::error::PolicyError;
use super::model::{Access, NetworkMode, PathSpec, Policy, Special};
use super::parse::check_glob_prefix;

/// The system directories `:minimal` makes readable (those that exist).
pub const MINIMAL_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/nix/store",
    "/run/current-system/sw",
];

/// Paths the sandbox builds itself; a policy entry on them is refused.
const RESERVED: &[(&str, &str)] = &[
    (
        "/proc",
        "the sandbox mounts its own /proc (use --no-proc to hide it)",
    ),
    (
        "/dev",
        "the sandbox mounts its own /dev; name single entries such as /dev/shm",
    ),
];

/// One concrete path entry after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEntry {
    /// The absolute path (lexical: symlinks are handled by the plan).
    pub path: PathBuf,
    /// The access it grants.
    pub access: Access,
    /// The policy key(s) it came from, for messages and `explain`.
    pub origin: String,
}

/// A deny glob after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedGlob {
    /// The policy key.
    pub key: String,
    /// The absolute pattern.
    pub pattern: String,
    /// The directory scanned for matches (the pattern's static prefix).
    pub search_root: PathBuf,
    /// The pattern relative to `search_root`.
    pub relative: String,
}

/// A policy resolved against one workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Access to `/` (from `:root`; `None` when absent).
    pub root: Access,
    /// Concrete path entries other than `/`, one per path, sorted by depth then path.
    pub entries: Vec<ResolvedEntry>,
    /// Deny globs.
    pub globs: Vec<ResolvedGlob>,
    /// The workspace root (absolute).
    pub workspace: PathBuf,
    /// The network mode.
    pub network: NetworkMode,
    /// The glob expansion depth cap.
    pub glob_scan_max_depth: Option<usize>,
}

impl Policy {
    /// Resolves the policy for `workspace` (absolute; canonicalised by the caller) with
    /// `tmpdir` as `$TMPDIR`. Refuses entries on paths the sandbox reserves and globs that
    /// would scan from `/`.
    pub fn resolve(
        &self,
        workspace: &Path,
        tmpdir: Option<&Path>,
    ) -> Result<Resolved, PolicyError> {
        let err = |key: &str, problem: String, fix: &str| PolicyError {
            origin: self.origin.clone(),
            entry: format!("filesystem.\"{key}\""),
            problem,
            fix: fix.to_string(),
        };
        let mut resolved = Resolved {
            root: Access::None,
            entries: Vec::new(),
            globs: Vec::new(),
            workspace: workspace.to_path_buf(),
            network: self.network,
            glob_scan_max_depth: self.glob_scan_max_depth,
        };
        let mut root: Option<Access> = None;
        for entry in &self.entries {
            let paths: Vec<PathBuf> = match &entry.spec {
                PathSpec::Special(Special::Root) => vec![PathBuf::from("/")],
                PathSpec::Special(Special::WorkspaceRoots) => vec![workspace.to_path_buf()],
                PathSpec::Special(Special::Tmpdir) => tmpdir
                    .filter(|t| t.is_absolute())
                    .map(normalize)
                    .into_iter()
                    .collect(),
                PathSpec::Special(Special::SlashTmp) => vec![PathBuf::from("/tmp")],
                PathSpec::Special(Special::Minimal) => MINIMAL_DIRS
                    .iter()
                    .map(PathBuf::from)
                    .filter(|p| p.exists())
                    .collect(),
                PathSpec::Absolute(p) => vec![normalize(p)],
                PathSpec::Relative(p) => vec![normalize(&workspace.join(p))],
                PathSpec::Glob(pattern) => {
                    let absolute = if pattern.starts_with('/') {
                        pattern.clone()
                    } else {
                        format!("{}/{pattern}", workspace.display())
                    };
                    let (search_root, relative) = check_glob_prefix(&absolute).map_err(|p| {
                        err(
                            &entry.key,
                            p.to_string(),
                            "start the glob with a directory other than /",
                        )
                    })?;
                    resolved.globs.push(ResolvedGlob {
                        key: entry.key.clone(),
                        pattern: absolute,
                        search_root,
                        relative,
                    });
                    continue;
                }
            };
            for path in paths {
                if path == Path::new("/") && entry.spec == PathSpec::Special(Special::Tmpdir) {
                    return Err(err(
                        &entry.key,
                        "$TMPDIR is /, which would make the whole filesystem writable".into(),
                        "set TMPDIR to a dedicated directory, or remove :tmpdir",
                    ));
                }
                if path == Path::new("/") {
                    root = Some(root.map_or(entry.access, |a| a.max(entry.access)));
                    continue;
                }
                if let Some((_, why)) = RESERVED
                    .iter()
                    .find(|(r, _)| path == Path::new(r) || (*r == "/proc" && path.starts_with(r)))
                {
                    return Err(err(
                        &entry.key,
                        format!("{} is reserved: {why}", path.display()),
                        "remove the entry",
                    ));
                }
                merge(&mut resolved.entries, path, entry.access, &entry.key);
            }
        }
        resolved.root = root.unwrap_or(Access::None);
        resolved.entries.sort_by(|a, b| {
            depth(&a.path)
                .cmp(&depth(&b.path))
                .then_with(|| a.path.cmp(&b.path))
        });
        Ok(resolved)
    }
}

/// Adds an entry, or on a path already present keeps the stronger access (none > write > read).
fn merge(entries: &mut Vec<ResolvedEntry>, path: PathBuf, access: Access, key: &str) {
    match entries.iter_mut().find(|e| e.path == path) {
        Some(existing) => {
            existing.access = existing.access.max(access);
            existing.origin = format!("{}, {key}", existing.origin);
        }
        None => entries.push(ResolvedEntry {
            path,
            access,
            origin: key.to_string(),
        }),
    }
}

/// The number of normal components of an absolute path (`/` is 0).
pub fn depth(path: &Path) -> usize {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}

/// Drops `.` components and trailing slashes (policy paths never contain `..`).
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| *c != Component::CurDir)
        .collect()
}

impl Resolved {
    /// The access the policy gives `path`: the most specific entry containing it wins
    /// (entries are unique per path, ties were merged as none > write > read); paths no
    /// entry covers get the root's access, which defaults to none.
    pub fn access_for(&self, path: &Path) -> Access {
        self.entries
            .iter()
            .filter(|e| path.starts_with(&e.path))
            .max_by_key(|e| depth(&e.path))
            .map_or(self.root, |e| e.access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Resolved {
        Policy::parse(text, "test.toml")
            .unwrap()
            .resolve(Path::new("/ws"), Some(Path::new("/tmp/t")))
            .unwrap()
    }

    #[test]
    fn most_specific_entry_wins_in_both_directions() {
        let r = resolve(
            "[filesystem]\n\":root\" = \"read\"\n\"/repo\" = \"write\"\n\"/repo/a\" = \"none\"\n\"/repo/a/b\" = \"write\"\n",
        );
        assert_eq!(r.access_for(Path::new("/etc")), Access::Read);
        assert_eq!(r.access_for(Path::new("/repo/x")), Access::Write);
        assert_eq!(r.access_for(Path::new("/repo/a/x")), Access::None);
        assert_eq!(r.access_for(Path::new("/repo/a/b/c")), Access::Write);
        // a sibling whose name only shares a prefix is not covered
        assert_eq!(r.access_for(Path::new("/repo/ab")), Access::Write);
    }

    #[test]
    fn uncovered_paths_are_denied() {
        let r = resolve("[filesystem]\n\"/usr\" = \"read\"\n");
        assert_eq!(r.root, Access::None);
        assert_eq!(r.access_for(Path::new("/etc/passwd")), Access::None);
        assert_eq!(r.access_for(Path::new("/usr/bin/true")), Access::Read);
    }

    #[test]
    fn ties_resolve_none_over_write_over_read() {
        let r = resolve("[filesystem]\n\":workspace_roots\" = \"write\"\n\".\" = \"read\"\n");
        assert_eq!(r.access_for(Path::new("/ws/f")), Access::Write);
        let r = resolve("[filesystem]\n\"/ws\" = \"write\"\n\":workspace_roots\" = \"none\"\n");
        assert_eq!(r.access_for(Path::new("/ws/f")), Access::None);
        assert_eq!(r.entries.len(), 1);
    }

    #[test]
    fn special_paths_resolve() {
        let r = resolve(
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\":tmpdir\" = \"write\"\n\":slash_tmp\" = \"none\"\n\"rel/dir\" = \"read\"\n",
        );
        assert_eq!(r.root, Access::Read);
        let paths: Vec<_> = r
            .entries
            .iter()
            .map(|e| (e.path.to_str().unwrap(), e.access))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/tmp", Access::None),
                ("/ws", Access::Write),
                ("/tmp/t", Access::Write),
                ("/ws/rel/dir", Access::Read)
            ]
        );
    }

    #[test]
    fn default_policy_is_workspace_write() {
        let r = Policy::default().resolve(Path::new("/ws"), None).unwrap();
        assert_eq!(r.root, Access::Read);
        assert_eq!(r.access_for(Path::new("/ws/x")), Access::Write);
        assert_eq!(r.access_for(Path::new("/tmp/x")), Access::Write);
        assert_eq!(r.network, NetworkMode::Restricted);
        let r = Policy::default()
            .resolve(Path::new("/ws"), Some(Path::new("/var/t")))
            .unwrap();
        assert_eq!(r.access_for(Path::new("/var/t/x")), Access::Write);
        assert_eq!(r.access_for(Path::new("/tmp/x")), Access::Write);
    }

    #[test]
    fn without_writable_tmp_leaves_tmp_to_what_encloses_it() {
        let r = Policy::default()
            .without_writable_tmp()
            .resolve(Path::new("/ws"), Some(Path::new("/var/t")))
            .unwrap();
        assert_eq!(r.access_for(Path::new("/tmp/x")), Access::Read);
        assert_eq!(r.access_for(Path::new("/var/t/x")), Access::Read);
        assert_eq!(r.access_for(Path::new("/ws/x")), Access::Write);
    }

    #[test]
    fn relative_glob_is_anchored_at_the_workspace() {
        let r = resolve("[filesystem]\n\"**/*.env\" = \"none\"\n");
        assert_eq!(r.globs[0].pattern, "/ws/**/*.env");
        assert_eq!(r.globs[0].search_root, Path::new("/ws"));
        assert_eq!(r.globs[0].relative, "**/*.env");
    }

    #[test]
    fn glob_in_workspace_at_slash_is_refused() {
        let p = Policy::parse("[filesystem]\n\"**/*.env\" = \"none\"\n", "p.toml").unwrap();
        let e = p.resolve(Path::new("/"), None).unwrap_err();
        assert!(
            e.to_string().contains("no directory prefix other than /"),
            "{e}"
        );
    }

    #[test]
    fn tmpdir_at_slash_is_refused() {
        let e = Policy::default()
            .resolve(Path::new("/ws"), Some(Path::new("/")))
            .unwrap_err();
        assert!(e.to_string().contains("TMPDIR"), "{e}");
    }

    #[test]
    fn reserved_paths_are_refused() {
        let p = Policy::parse("[filesystem]\n\"/proc/1\" = \"read\"\n", "p.toml").unwrap();
        let e = p.resolve(Path::new("/ws"), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.toml: entry `filesystem.\"/proc/1\"`"),
            "{e}"
        );
    }
}
