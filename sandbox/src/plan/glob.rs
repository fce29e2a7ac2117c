//! Expanding deny globs (`**/*.env = none`) into concrete paths to mask at launch.
//!
//! The scan includes hidden files, ignores `.gitignore`, does not follow symlinks and stops
//! at `glob_scan_max_depth` (1 = direct children of the search root). For each match it
//! masks the path itself, or for a symlink its real target; a matched file with other hard
//! links also gets every other name found in the same scan masked. A directory whose
//! entries (at least [`COLLAPSE_MIN_ENTRIES`]) all match is masked as one directory, so the
//! mask count stays near the number of matches. More than [`MAX_GLOB_MATCHES`] matches, or
//! any error reading the tree, fails closed.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use super::PlanError;
use super::mounts::Identity;
use crate::policy::ResolvedGlob;

/// The most matches one glob may have before the sandbox refuses to start.
pub const MAX_GLOB_MATCHES: usize = 8192;

/// A directory is collapsed into one mask only when it has at least this many entries
/// (all matching): collapsing a directory holding a single secret would only make its
/// siblings-to-be uncreatable, without saving any mount.
pub const COLLAPSE_MIN_ENTRIES: u32 = 2;

/// One path to mask, with the identity the scan saw when it looked at it (a matched file;
/// `None` for directories, symlink targets and other links, which the scan does not stat),
/// so that the plan need not look it up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The path to mask.
    pub path: PathBuf,
    /// Its identity from the scan's `lstat`, if it made one.
    pub identity: Option<Identity>,
}

impl Match {
    fn unseen(path: PathBuf) -> Match {
        Match {
            path,
            identity: None,
        }
    }
}

/// Expands one glob (its search root already resolved to a real, symlink-free path).
pub fn expand(
    glob: &ResolvedGlob,
    search_root: &Path,
    max_depth: Option<usize>,
) -> Result<Vec<Match>, PlanError> {
    if !search_root.is_dir() {
        return Ok(Vec::new());
    }
    let compiled = GlobBuilder::new(&glob.relative)
        .literal_separator(true)
        .backslash_escape(true)
        .build();
    // A one-glob set picks a fast strategy (extension, suffix, literal) where it can.
    let matcher = compiled
        .and_then(|g| GlobSetBuilder::new().add(g).build())
        .map_err(|e| PlanError::Glob {
            pattern: glob.key.clone(),
            problem: e.to_string(),
        })?;
    // The search root is never collapsed, so each directory directly under it is an
    // independent subtree: those are scanned in parallel, the root's other entries here.
    let mut scan = Scan::new(&matcher, glob, search_root, max_depth);
    let mut subtrees = Vec::new();
    for entry in read_dir(search_root)? {
        let entry = entry?;
        if entry.file_type.is_dir() {
            subtrees.push(entry.path);
        } else {
            scan.visit_other(entry)?;
        }
    }
    for subtree in scan_in_parallel(&matcher, glob, search_root, &subtrees, max_depth) {
        scan.absorb(subtree?)?;
    }
    if !scan.linked.is_empty() {
        scan.add_other_links(search_root, max_depth)?;
    }
    let mut masks = scan.masks;
    masks.extend(scan.targets.into_iter().map(Match::unseen));
    Ok(masks)
}

/// Scans each of `dirs` (directories directly under `root`) on a few threads; results in
/// the order of `dirs`.
fn scan_in_parallel<'a>(
    matcher: &'a GlobSet,
    glob: &'a ResolvedGlob,
    root: &'a Path,
    dirs: &[PathBuf],
    max_depth: Option<usize>,
) -> Vec<Result<Scan<'a>, PlanError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<Scan<'a>, PlanError>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(dirs.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(dir) = dirs.get(i) else { break done };
                        done.push((i, scan_subtree(matcher, glob, root, dir, max_depth)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Scans `dir` (at depth 1 under `root`) and everything below it within the depth cap.
fn scan_subtree<'a>(
    matcher: &'a GlobSet,
    glob: &'a ResolvedGlob,
    root: &'a Path,
    dir: &Path,
    max_depth: Option<usize>,
) -> Result<Scan<'a>, PlanError> {
    let mut scan = Scan::new(matcher, glob, root, max_depth);
    scan.visit_dir(dir.to_path_buf(), 1)?;
    Ok(scan)
}

/// The entries of `dir` with their types (symlinks not followed). The type comes from the
/// directory listing where the file system gives it, and [`std::fs::DirEntry::metadata`]
/// is looked up relative to the open directory, so a scan does not walk each path from
/// `/` again.
fn read_dir(dir: &Path) -> Result<impl Iterator<Item = Result<Entry, PlanError>> + '_, PlanError> {
    let io = move |source| PlanError::Io {
        path: dir.to_path_buf(),
        action: "scan for deny globs",
        source,
    };
    let entries = std::fs::read_dir(dir).map_err(io)?;
    Ok(entries.map(move |entry| {
        let entry = entry.map_err(io)?;
        let file_type = entry.file_type().map_err(io)?;
        Ok(Entry {
            path: entry.path(),
            file_type,
            entry,
        })
    }))
}

/// One directory entry being scanned.
struct Entry {
    entry: std::fs::DirEntry,
    path: PathBuf,
    file_type: std::fs::FileType,
}

fn walker(root: &Path, max_depth: Option<usize>) -> WalkDir {
    let walk = WalkDir::new(root).follow_links(false).contents_first(true);
    match max_depth {
        Some(d) => walk.max_depth(d),
        None => walk,
    }
}

fn walk_error(root: &Path, e: walkdir::Error) -> PlanError {
    let path = e.path().unwrap_or(root).to_path_buf();
    PlanError::Io {
        path,
        action: "scan for deny globs",
        source: e.into(),
    }
}

struct Scan<'a> {
    matcher: &'a GlobSet,
    glob: &'a ResolvedGlob,
    /// The search root: matching is on paths relative to it.
    root: &'a Path,
    /// Directories at this depth are not descended into.
    max_depth: Option<usize>,
    masks: Vec<Match>,
    /// Real targets of matched symlinks (they may lie outside any collapsed directory).
    targets: Vec<PathBuf>,
    matches: usize,
    /// (dev, ino) of matched files with more than one link.
    linked: HashSet<(u64, u64)>,
}

impl<'a> Scan<'a> {
    fn new(
        matcher: &'a GlobSet,
        glob: &'a ResolvedGlob,
        root: &'a Path,
        max_depth: Option<usize>,
    ) -> Self {
        Scan {
            matcher,
            glob,
            root,
            max_depth,
            masks: Vec::new(),
            targets: Vec::new(),
            matches: 0,
            linked: HashSet::new(),
        }
    }

    /// Adds the results of a scan of another subtree.
    fn absorb(&mut self, other: Scan<'_>) -> Result<(), PlanError> {
        self.matches += other.matches;
        self.check_cap()?;
        self.masks.extend(other.masks);
        self.targets.extend(other.targets);
        self.linked.extend(other.linked);
        Ok(())
    }

    fn is_match(&self, path: &Path) -> bool {
        self.matcher.is_match(relative_to(path, self.root))
    }

    /// Visits the directory `dir` at `depth` below the search root: its contents first
    /// (within the depth cap), then itself. A directory that matches, or whose entries (at
    /// least [`COLLAPSE_MIN_ENTRIES`]) all matched, is masked as a whole, replacing the
    /// masks found inside it. Returns whether it is masked.
    fn visit_dir(&mut self, dir: PathBuf, depth: usize) -> Result<bool, PlanError> {
        let start = self.masks.len();
        let (mut total, mut matched) = (0u32, 0u32);
        if self.max_depth.is_none_or(|max| depth < max) {
            for entry in read_dir(&dir)? {
                let entry = entry?;
                let hit = if entry.file_type.is_dir() {
                    self.visit_dir(entry.path, depth + 1)?
                } else {
                    self.visit_other(entry)?
                };
                total += 1;
                matched += u32::from(hit);
            }
        }
        let full = total >= COLLAPSE_MIN_ENTRIES && matched == total;
        let masked = full || self.is_match(&dir);
        if masked {
            self.masks.truncate(start);
            self.record(Match::unseen(dir))?;
        }
        Ok(masked)
    }

    /// Visits an entry that is not a directory; returns whether it matched.
    fn visit_other(&mut self, entry: Entry) -> Result<bool, PlanError> {
        if !self.is_match(&entry.path) {
            return Ok(false);
        }
        if entry.file_type.is_symlink() {
            // The name itself holds nothing; mask what it points to, if anything.
            // Kept apart: a collapse of this directory must not drop it.
            if let Ok(target) = std::fs::canonicalize(&entry.path) {
                self.count()?;
                self.targets.push(target);
            }
        } else {
            let meta = entry.entry.metadata().map_err(|source| PlanError::Io {
                path: entry.path.clone(),
                action: "scan for deny globs",
                source,
            })?;
            if meta.is_file() && meta.nlink() > 1 {
                self.linked.insert((meta.dev(), meta.ino()));
            }
            self.record(Match {
                path: entry.path,
                identity: Some(Identity::from_metadata(&meta)),
            })?;
        }
        Ok(true)
    }

    fn record(&mut self, found: Match) -> Result<(), PlanError> {
        self.count()?;
        self.masks.push(found);
        Ok(())
    }

    fn count(&mut self) -> Result<(), PlanError> {
        self.matches += 1;
        self.check_cap()
    }

    fn check_cap(&self) -> Result<(), PlanError> {
        if self.matches > MAX_GLOB_MATCHES {
            return Err(PlanError::TooManyMatches {
                pattern: self.glob.key.clone(),
                cap: MAX_GLOB_MATCHES,
            });
        }
        Ok(())
    }

    /// Second pass, only when a matched file has several names: masks the other names.
    fn add_other_links(&mut self, root: &Path, max_depth: Option<usize>) -> Result<(), PlanError> {
        let already: HashSet<PathBuf> = self.masks.iter().map(|m| m.path.clone()).collect();
        for entry in walker(root, max_depth) {
            let entry = entry.map_err(|e| walk_error(root, e))?;
            if !entry.file_type().is_file() || already.contains(entry.path()) {
                continue;
            }
            let meta = entry.metadata().map_err(|e| walk_error(root, e))?;
            if self.linked.contains(&(meta.dev(), meta.ino())) {
                self.record(Match::unseen(entry.path().to_path_buf()))?;
            }
        }
        Ok(())
    }
}

/// `path` relative to `root`. walkdir builds every path as `root` + `/` + names, so this
/// is a byte slice; `Path::strip_prefix` compares component by component, which was a
/// fifth of a 200,000-file scan. Anything else falls back to it.
fn relative_to<'p>(path: &'p Path, root: &Path) -> &'p Path {
    let prefix = root.as_os_str().as_bytes();
    let rest = path
        .as_os_str()
        .as_bytes()
        .strip_prefix(prefix)
        .and_then(|rest| {
            if prefix.ends_with(b"/") {
                Some(rest)
            } else {
                rest.strip_prefix(b"/")
            }
        });
    match rest {
        Some(rest) => Path::new(OsStr::from_bytes(rest)),
        None => path.strip_prefix(root).unwrap_or(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_those_strip_prefix_gives() {
        for (path, root) in [
            ("/w/a/b.env", "/w"),
            ("/w/a/b.env", "/w/"),
            ("/a/b.env", "/"),
            ("/w", "/w"),
            ("/wx/a", "/w"),
            ("/w/./a", "/w/."),
        ] {
            let (path, root) = (Path::new(path), Path::new(root));
            assert_eq!(
                relative_to(path, root),
                path.strip_prefix(root).unwrap_or(path),
                "{path:?} under {root:?}"
            );
        }
    }
    use std::fs;

    fn glob(root: &Path, rel: &str) -> ResolvedGlob {
        ResolvedGlob {
            key: rel.to_string(),
            pattern: format!("{}/{rel}", root.display()),
            search_root: root.to_path_buf(),
            relative: rel.to_string(),
        }
    }

    fn sorted(found: Vec<Match>) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = found.into_iter().map(|m| m.path).collect();
        v.sort();
        v
    }

    #[test]
    fn matches_hidden_files_and_ignores_gitignore_within_depth() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("app/deep")).unwrap();
        fs::write(r.join(".gitignore"), ".env\n").unwrap();
        for f in [
            ".env",
            "app/.env",
            "app/x.txt",
            "app/deep/.env",
            "app/deep/y.txt",
        ] {
            fs::write(r.join(f), "s").unwrap();
        }
        let got = sorted(expand(&glob(r, "**/*.env"), r, Some(2)).unwrap());
        assert_eq!(got, vec![r.join(".env"), r.join("app/.env")]);
        let all = sorted(expand(&glob(r, "**/*.env"), r, None).unwrap());
        assert_eq!(
            all,
            vec![r.join(".env"), r.join("app/.env"), r.join("app/deep/.env")]
        );
    }

    #[test]
    fn a_matched_file_carries_the_identity_lstat_gives_and_a_collapsed_directory_none() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("app/all")).unwrap();
        for f in ["app/a.env", "app/b.txt", "app/all/x.env", "app/all/y.env"] {
            fs::write(r.join(f), "s").unwrap();
        }
        let found = expand(&glob(r, "**/*.env"), r, None).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        for m in found {
            let expected = (m.path != r.join("app/all")).then(|| Identity::of(&m.path).unwrap());
            assert_eq!(m.identity, expected, "{}", m.path.display());
        }
    }

    #[test]
    fn masks_symlink_targets_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().canonicalize().unwrap();
        fs::create_dir(r.join("sub")).unwrap();
        fs::write(r.join("real.txt"), "s").unwrap();
        fs::write(r.join("sub/a.env"), "s").unwrap();
        fs::write(r.join("sub/keep.txt"), "k").unwrap();
        fs::hard_link(r.join("sub/a.env"), r.join("alias.txt")).unwrap();
        std::os::unix::fs::symlink("real.txt", r.join("l.env")).unwrap();
        let got = sorted(expand(&glob(&r, "**/*.env"), &r, None).unwrap());
        assert_eq!(
            got,
            vec![r.join("alias.txt"), r.join("real.txt"), r.join("sub/a.env")]
        );
    }

    #[test]
    fn collapses_a_directory_whose_entries_all_match() {
        let dir = tempfile::tempdir().unwrap();
        let r = &dir.path().canonicalize().unwrap();
        fs::create_dir_all(r.join("secrets/inner")).unwrap();
        for f in [
            "secrets/a.env",
            "secrets/b.env",
            "secrets/inner/c.env",
            "secrets/inner/d.env",
            "top.env",
            "x.txt",
        ] {
            fs::write(r.join(f), "s").unwrap();
        }
        // a matched symlink inside the collapsed directory still masks its target outside
        std::os::unix::fs::symlink("../x.txt", r.join("secrets/l.env")).unwrap();
        let got = sorted(expand(&glob(r, "**/*.env"), r, None).unwrap());
        assert_eq!(
            got,
            vec![r.join("secrets"), r.join("top.env"), r.join("x.txt")]
        );
    }

    #[test]
    fn the_match_cap_counts_across_parallel_subtrees() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for sub in ["a", "b"] {
            fs::create_dir(r.join(sub)).unwrap();
            fs::write(r.join(sub).join("keep"), "").unwrap();
            for i in 0..=MAX_GLOB_MATCHES / 2 {
                fs::write(r.join(sub).join(format!("{i}.env")), "").unwrap();
            }
        }
        let err = expand(&glob(r, "**/*.env"), r, None).unwrap_err();
        assert!(matches!(err, PlanError::TooManyMatches { .. }), "{err}");
    }

    #[test]
    fn too_many_matches_fail_closed() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for i in 0..=MAX_GLOB_MATCHES {
            fs::write(r.join(format!("{i}.env")), "").unwrap();
        }
        fs::write(r.join("keep"), "").unwrap();
        let err = expand(&glob(r, "*.env"), r, None).unwrap_err();
        assert!(matches!(err, PlanError::TooManyMatches { .. }), "{err}");
    }
}
