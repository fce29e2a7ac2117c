//! Turning a resolved policy into the ordered bwrap operations (the plan).
//!
//! [`build`] resolves every policy path on the host (refusing writable symlinks), adds the
//! protected metadata of each writable root and the matches of the deny globs, and emits
//! one mount operation per rule from the shallowest path to the deepest, so that the most
//! specific rule wins in both directions (the table in `plan/order.rs`).

mod glob;
mod metadata;
pub mod mounts;
mod op;
mod order;
mod pins;
mod render;
mod symlink;

use symlink::Followed;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use crate::policy::NetworkMode;
use crate::policy::{Access, Resolved, depth};
pub use glob::{COLLAPSE_MIN_ENTRIES, MAX_GLOB_MATCHES};
pub use metadata::PROTECTED_NAMES;
pub use op::{Namespace, Op};
pub use order::DEV_SHM_SIZE;
pub use render::render;

/// How the command sees `/proc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcMode {
    /// A fresh procfs for the sandbox's pid namespace.
    #[default]
    Fresh,
    /// No procfs at all: an empty read-only directory hides the host's.
    Hidden,
}

/// Inputs to [`build`] beside the resolved policy.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// How `/proc` is provided.
    pub proc: ProcMode,
    /// Extra host paths to hide from the command, each with what it is (its rule's origin):
    /// the state directory, the proxy bridges' socket directory.
    pub hidden: Vec<(PathBuf, &'static str)>,
    /// An empty host file with mode 000, bound read-only over denied files by bwrap when
    /// the inner stage does not apply the masks.
    pub empty_file: PathBuf,
    /// Leave the masks and read-only carve-outs without rules beneath them to the inner
    /// stage ([`mounts`]) instead of bwrap.
    pub inner_mounts: bool,
}

/// One rule of the plan after host resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The real host path the rule applies to.
    pub path: PathBuf,
    /// Its access.
    pub access: Access,
    /// Why it is there: the policy key, `protected metadata`, or the glob.
    pub origin: String,
}

/// Everything the launcher needs to start bwrap for one command.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The bwrap operations, in order, that build the namespaces and the filesystem view
    /// (everything before the inner stage's own, see `run::assemble`).
    pub ops: Vec<Op>,
    /// The network mode; the inner stage installs the matching seccomp filter.
    pub network: NetworkMode,
    /// Host paths where the launcher creates (or joins) a placeholder directory before
    /// bwrap starts, see [`crate::run::placeholders`]; planned as missing.
    pub placeholders: Vec<PathBuf>,
    /// The rules the arguments were built from, shallowest first.
    pub rules: Vec<Rule>,
    /// The mounts the inner stage applies after bwrap's, in order, see [`mounts`].
    pub inner_mounts: Vec<mounts::MountOp>,
    /// How `/proc` is provided.
    pub proc: ProcMode,
}

/// Why a plan could not be built. Every variant names the path it is about.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A policy path crosses a symlink the command could swap.
    #[error(
        "cannot enforce `{origin}` on {path}: it crosses the symlink {link} inside a writable root, which the command could retarget; fix: name the real path instead of the link, or remove the link"
    )]
    WritableSymlink {
        /// The path being resolved.
        path: PathBuf,
        /// The symlink found inside a writable directory.
        link: PathBuf,
        /// The policy entry.
        origin: String,
    },
    /// A host operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A glob could not be compiled.
    #[error("invalid glob `{pattern}`: {problem}")]
    Glob {
        /// The policy key.
        pattern: String,
        /// The compiler's message.
        problem: String,
    },
    /// A glob matched more paths than the sandbox masks.
    #[error(
        "deny glob `{pattern}` matched more than {cap} paths; fix: narrow the glob or set glob_scan_max_depth"
    )]
    TooManyMatches {
        /// The policy key.
        pattern: String,
        /// [`MAX_GLOB_MATCHES`].
        cap: usize,
    },
}

/// Builds the plan for a resolved policy.
pub fn build(resolved: &Resolved, options: &PlanOptions) -> Result<Plan, PlanError> {
    let (rules, links, seen) = collect_rules(resolved, options)?;
    let emitted = order::emit(resolved.root, &rules, &links, &seen, options)?;
    let mut ops = vec![Op::NewSession, Op::DieWithParent];
    ops.extend(emitted.ops);
    ops.extend([Namespace::User, Namespace::Pid, Namespace::Ipc].map(Op::Unshare));
    if resolved.network != NetworkMode::Enabled {
        ops.push(Op::Unshare(Namespace::Net));
    }
    ops.push(Op::Chdir(resolved.workspace.clone()));
    ops.push(Op::CapDropAll);
    if !emitted.inner.is_empty() {
        // The inner stage mounts in the sandbox's user namespace, then drops both (and
        // every other capability) before the command starts, see `inner::mounts`. bwrap
        // keeps the caller's uid only through a second user namespace that does not own
        // the mount namespace, so the stage runs as uid 0 and maps the caller back itself.
        let mut caps = vec!["CAP_SYS_ADMIN", "CAP_SETPCAP"];
        if !nix::unistd::geteuid().is_root() || nix::unistd::getegid().as_raw() != 0 {
            caps.push("CAP_SETFCAP");
            ops.extend([Op::Uid(0), Op::Gid(0)]);
        }
        ops.extend(caps.into_iter().map(Op::CapAdd));
    }
    Ok(Plan {
        ops,
        network: resolved.network,
        placeholders: emitted.placeholders,
        inner_mounts: emitted.inner,
        rules,
        proc: options.proc,
    })
}

/// The identities the glob scan saw, by path, so the plan does not stat those paths again.
type Seen = HashMap<PathBuf, mounts::Identity>;

/// Resolves entries on the host, adds metadata and glob rules, and sorts them by depth.
/// Also returns the symlinks followed on the way to policy entries, so that the logical
/// paths (`/lib64 -> usr/lib64`) exist where the base does not show them, and the
/// identities of the glob matches the scan looked at.
fn collect_rules(
    resolved: &Resolved,
    options: &PlanOptions,
) -> Result<(Vec<Rule>, Vec<Followed>, Seen), PlanError> {
    let mut writable: Vec<PathBuf> = resolved
        .entries
        .iter()
        .filter(|e| e.access == Access::Write)
        .filter_map(|e| std::fs::canonicalize(&e.path).ok())
        .collect();
    if resolved.root == Access::Write {
        writable.push(PathBuf::from("/"));
    }
    let mut rules: HashMap<PathBuf, Rule> = HashMap::new();
    let mut links = Vec::new();
    for entry in &resolved.entries {
        let path =
            symlink::secure_path_with_links(&entry.path, &writable, &entry.origin, &mut links)?;
        add(&mut rules, path, entry.access, &entry.origin);
    }
    links.sort();
    links.dedup();
    for root in writable.iter().filter(|w| w.is_dir()) {
        for path in metadata::protected_paths(root, &writable)? {
            // Protection only ever narrows write to read: an explicit entry on the path
            // decides instead, and a `gitdir:` target the policy denies stays denied.
            if inherited(&rules, resolved.root, &path) == Access::Write {
                add(&mut rules, path, Access::Read, "protected metadata");
            }
        }
    }
    let mut seen = Seen::new();
    for glob in &resolved.globs {
        let origin = format!("{}{}", pins::GLOB_ORIGIN, glob.key);
        let search_root = symlink::secure_path(&glob.search_root, &writable, &origin)?;
        let found = glob::expand(glob, &search_root, resolved.glob_scan_max_depth)?;
        // Sized once: growing re-hashes every path so far (thousands of matches).
        rules.reserve(found.len());
        seen.reserve(found.len());
        for found in found {
            if let Some(identity) = found.identity {
                seen.insert(found.path.clone(), identity);
            }
            add(&mut rules, found.path, Access::None, &origin);
        }
    }
    for (path, what) in &options.hidden {
        add(&mut rules, path.clone(), Access::None, what);
    }
    // By depth, then path, in one sort; each depth counted once (thousands of glob rules).
    // Paths of one depth are compared as bytes: none lies under another, so any fixed order
    // among them gives the same mounts, and bytes compare faster than components.
    let mut by_depth: Vec<(usize, Rule)> =
        rules.into_values().map(|r| (depth(&r.path), r)).collect();
    by_depth.sort_unstable_by(|(da, a), (db, b)| {
        let (a, b) = (a.path.as_os_str(), b.path.as_os_str());
        da.cmp(db)
            .then_with(|| a.as_encoded_bytes().cmp(b.as_encoded_bytes()))
    });
    let rules = by_depth.into_iter().map(|(_, r)| r).collect();
    Ok((rules, links, seen))
}

/// The access `path` gets from the closest rule at or above it (the root's without one).
fn inherited(rules: &HashMap<PathBuf, Rule>, root: Access, path: &Path) -> Access {
    path.ancestors()
        .find_map(|a| rules.get(a))
        .map_or(root, |r| r.access)
}

/// Adds a rule, keeping the stronger access when the path is already there.
fn add(rules: &mut HashMap<PathBuf, Rule>, path: PathBuf, access: Access, origin: &str) {
    let rule = rules.entry(path.clone()).or_insert_with(|| Rule {
        path,
        access,
        origin: origin.to_string(),
    });
    if access > rule.access {
        rule.access = access;
        rule.origin = origin.to_string();
    }
}

#[cfg(test)]
mod tests;
