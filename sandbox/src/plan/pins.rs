//! Pins: the directories between a writable rule and a narrower rule beneath it, each bound
//! onto itself so that the command cannot rename or remove them (a mount point is busy).
//!
//! Without a pin, `mv meta meta.orig && mkdir meta` moves a protected `meta/repo.git`
//! (its mount travels with the renamed ancestor) and leaves an unprotected copy at the
//! protected name for the next host tool to trust. A pin makes the `mv` fail with `EBUSY`
//! inside the sandbox for the whole run. Deny-glob matches need none: a mask is bound on
//! the matched inode and travels with it, and the glob is expanded again by the next run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Rule;
use crate::policy::{Access, depth};

/// The origin prefix of rules that come from a deny glob.
pub const GLOB_ORIGIN: &str = "glob ";

/// The directories to pin, shallowest first. `writable_above(i)` is the path of the closest
/// rule enclosing rule `i` when that rule gives write access (`Some("/")` for a writable
/// root without one), `None` otherwise; `is_dir` says which host paths are directories;
/// `is_rule` which paths already carry a mount of their own.
pub fn pins(
    rules: &[Rule],
    effective: impl Fn(usize) -> bool,
    writable_above: impl Fn(usize) -> Option<PathBuf>,
    is_dir: impl Fn(&Path) -> bool,
    is_rule: impl Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.access == Access::Write || rule.origin.starts_with(GLOB_ORIGIN) || !effective(i) {
            continue;
        }
        let Some(top) = writable_above(i) else {
            continue;
        };
        for dir in rule.path.ancestors().skip(1) {
            if dir == top || !dir.starts_with(&top) {
                break;
            }
            if !is_rule(dir) && is_dir(dir) {
                out.insert(dir.to_path_buf());
            }
        }
    }
    let mut out: Vec<PathBuf> = out.into_iter().collect();
    out.sort_by_cached_key(|p| depth(p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, access: Access, origin: &str) -> Rule {
        Rule {
            path: path.into(),
            access,
            origin: origin.into(),
        }
    }

    #[test]
    fn pins_every_directory_strictly_between_the_writable_rule_and_the_narrower_one() {
        let rules = [
            rule("/ws", Access::Write, ":workspace_roots"),
            rule("/ws/meta/repo.git", Access::Read, "gitdir:"),
            rule("/ws/config/creds", Access::None, "config/creds"),
            rule("/ws/a/b/x.env", Access::None, "glob **/*.env"),
        ];
        let got = pins(
            &rules,
            |_| true,
            |i| (i > 0).then(|| PathBuf::from("/ws")),
            |_| true,
            |p| rules.iter().any(|r| r.path == p),
        );
        assert_eq!(
            got,
            [PathBuf::from("/ws/config"), PathBuf::from("/ws/meta")],
            "glob matches need no pin, and the root is a mount already"
        );
    }

    #[test]
    fn nothing_is_pinned_below_a_read_only_rule_and_shallow_comes_first() {
        let rules = [
            rule("/ws", Access::Write, ":workspace_roots"),
            rule("/ws/ro/.git", Access::None, "x"),
            rule("/ws/d/e/f/secret", Access::None, "y"),
        ];
        let got = pins(
            &rules,
            |_| true,
            |i| (i == 2).then(|| PathBuf::from("/ws")),
            |_| true,
            |_| false,
        );
        assert_eq!(
            got,
            ["/ws/d", "/ws/d/e", "/ws/d/e/f"]
                .map(PathBuf::from)
                .to_vec()
        );
    }
}
