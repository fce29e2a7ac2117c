//! Helpers for the attack tests (issue 10) and the concurrency stress test (issue 9):
//! policies over the default writable workspace, and snapshots of host trees that show
//! whether a run truncated, replaced, removed or left behind anything.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Fixture;

/// Writes a policy `name` in the fixture's aux directory: `:root` read, the workspace
/// writable, and the given `"key" = "access"` lines.
pub fn policy_with(f: &Fixture, name: &str, entries: &[(&str, &str)]) -> PathBuf {
    let mut text =
        String::from("[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n");
    for (key, access) in entries {
        text.push_str(&format!("{key:?} = {access:?}\n"));
    }
    f.policy(name, &text)
}

/// What one host entry is, as far as a run could have changed it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// A directory and its mode bits.
    Dir(u32),
    /// A regular file, its mode bits and its content (lossily decoded).
    File(u32, String),
    /// A symlink and its target.
    Link(PathBuf),
    /// Anything else (a socket, a device).
    Other,
}

/// Every entry below `dir` (not following symlinks, not `dir` itself) by relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Node> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            (rel, node(e.path()))
        })
        .collect()
}

/// The [`Node`] at `path` (not following a final symlink); `None` if it is missing.
pub fn node_at(path: &Path) -> Option<Node> {
    std::fs::symlink_metadata(path).ok().map(|_| node(path))
}

fn node(path: &Path) -> Node {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Node::Other;
    };
    let mode = meta.mode() & 0o7777;
    if meta.is_dir() {
        Node::Dir(mode)
    } else if meta.is_file() {
        Node::File(
            mode,
            String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned(),
        )
    } else if meta.file_type().is_symlink() {
        Node::Link(std::fs::read_link(path).unwrap_or_default())
    } else {
        Node::Other
    }
}

/// The entries that differ between two snapshots, for a readable failure message.
pub fn diff(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => out.push(format!("removed {}", path.display())),
            Some(new) if new != old => {
                out.push(format!("changed {}: {old:?} -> {new:?}", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        out.push(format!("left behind {}", path.display()));
    }
    out
}

/// Runs `check` for every target like [`super::for_each_target`], but goes on after a
/// failing target and fails at the end naming all of them, so that one run shows which
/// bwraps and users an attack works against.
pub fn check_every_target(check: impl Fn(&super::Target)) {
    let mut failed = Vec::new();
    for target in super::targets() {
        eprintln!("--- {}", target.label);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&target)));
        if outcome.is_err() {
            failed.push(target.label.clone());
        }
    }
    assert!(failed.is_empty(), "failed for: {}", failed.join(", "));
}

/// Polls `probe` for up to `limit` until it returns an empty list; returns the last list.
pub fn settle<T>(limit: std::time::Duration, probe: impl Fn() -> Vec<T>) -> Vec<T> {
    let start = std::time::Instant::now();
    loop {
        let left = probe();
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
