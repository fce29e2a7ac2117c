//! Emitting the mount operations for the rules, shallowest first.
//!
//! bwrap applies operations in order and a later mount hides what is beneath it, so rules
//! sorted by depth make the most specific one win in both directions. For each rule, only
//! what changes the view is emitted, judged against the closest enclosing rule (EMPTY is
//! an empty, mode-000 host file, [`super::PlanOptions::empty_file`]):
//!
//! | rule  | exists                                        | missing, inside a writable rule        |
//! |-------|-----------------------------------------------|----------------------------------------|
//! | write | `--bind p p`                                  | ignored                                |
//! | read  | `--ro-bind p p`                               | placeholder at the first missing part  |
//! | none  | dir: `--perms 000 --tmpfs p` (remount-ro at the end); file: `--ro-bind EMPTY p` | placeholder |
//!
//! A placeholder is an empty read-only directory (`--perms 555 --tmpfs`; mode 000 for a
//! denied path) on a mount point the launcher creates before bwrap starts and removes after
//! the run ([`crate::run::placeholders`]), listed in [`Emitted::placeholders`]. A
//! denied directory with readable or writable rules beneath it gets mode 111 and `--dir`
//! chains so those mount points exist; all denied directories are remounted read-only
//! after the last rule.
//!
//! Every directory strictly between a writable rule and a narrower one beneath it (other
//! than a glob match) is pinned, bound onto itself before the deeper rules, see
//! [`super::pins`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::metadata::PROTECTED_NAMES;
use super::mounts::{Action, Identity, MountOp};
use super::op::Op;
use super::pins;
use super::symlink::Followed;
use super::{PlanError, PlanOptions, ProcMode, Rule};
use crate::placeholder_mark::looks_like_placeholder;
use crate::policy::{Access, depth};

/// The size cap of the private `/dev/shm` tmpfs, in bytes (256 MiB).
pub const DEV_SHM_SIZE: u64 = 256 * 1024 * 1024;

/// The operations for the filesystem view and the host paths they create.
pub struct Emitted {
    /// The bwrap operations.
    pub ops: Vec<Op>,
    /// Placeholder directories the launcher must create on the host.
    pub placeholders: Vec<PathBuf>,
    /// The mounts left to the inner stage (empty unless [`PlanOptions::inner_mounts`]).
    pub inner: Vec<MountOp>,
}

struct State<'a> {
    options: &'a PlanOptions,
    ops: Vec<Op>,
    placeholders: Vec<PathBuf>,
    placeholder_set: HashSet<PathBuf>,
    remount: Vec<PathBuf>,
    inner: Vec<MountOp>,
}

/// Emits the filesystem operations for `rules` (sorted by depth) over a base of `root`,
/// recreating each symlink in `links` whose directory the view does not show. `seen` holds
/// identities already looked up (by the glob scan); every other rule's path is looked up.
pub fn emit(
    root: Access,
    rules: &[Rule],
    links: &[Followed],
    seen: &HashMap<PathBuf, Identity>,
    options: &PlanOptions,
) -> Result<Emitted, PlanError> {
    let mut st = State {
        options,
        ops: Vec::new(),
        placeholders: Vec::new(),
        placeholder_set: HashSet::new(),
        remount: Vec::new(),
        inner: Vec::new(),
    };
    st.base(root);
    let present: Vec<Option<Identity>> = rules
        .iter()
        .map(|r| seen.get(&r.path).copied().or_else(|| st.identity(&r.path)))
        .collect();
    // Missing writable roots are ignored and do not enclose anything.
    let effective_rule: Vec<bool> = rules
        .iter()
        .zip(&present)
        .map(|(r, p)| !(r.access == Access::Write && p.is_none()))
        .collect();
    // Sized once: growing re-hashes every path so far (thousands of glob rules).
    let mut effective: HashMap<&Path, usize> = HashMap::with_capacity(rules.len());
    effective.extend(
        (0..rules.len())
            .filter(|&i| effective_rule[i])
            .map(|i| (rules[i].path.as_path(), i)),
    );
    let enclosing = |path: &Path| {
        path.ancestors()
            .skip(1)
            .find_map(|a| effective.get(a).copied())
    };
    // Each rule's closest enclosing rule, looked up once: the passes below consult it for
    // every rule (thousands of glob rules), and its chain is the rule's effective ancestors.
    let parent: Vec<Option<usize>> = rules.iter().map(|r| enclosing(&r.path)).collect();
    let chain = |i: usize| std::iter::successors(parent[i], |&j| parent[j]);
    let mut visible_below = vec![false; rules.len()];
    for (i, _) in rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.access != Access::None)
    {
        for j in chain(i).filter(|&j| rules[j].access == Access::None) {
            visible_below[j] = true;
        }
    }
    // A rule equal to what encloses it mounts nothing, so it is no anchor: pins reach up
    // to the closest rule that is a mount (or the base), through such rules.
    let access_of = |j: Option<usize>| j.map_or(root, |j| rules[j].access);
    let mounts = |j: usize| present[j].is_some() && rules[j].access != access_of(parent[j]);
    let writable_above = |i: usize| {
        if access_of(parent[i]) != Access::Write {
            return None;
        }
        let mut anchor = parent[i];
        while let Some(j) = anchor.filter(|&j| !mounts(j)) {
            anchor = parent[j];
        }
        Some(anchor.map_or_else(|| PathBuf::from("/"), |j| rules[j].path.clone()))
    };
    let pins = pins::pins(
        rules,
        |i| effective_rule[i],
        writable_above,
        |dir| st.kind(dir) == Some(true),
        |dir| effective.get(dir).is_some_and(|&j| mounts(j)),
    );
    // Rules with another rule or a recreated symlink beneath them stay with bwrap, which
    // applies them in order before what lies beneath; the others (leaves) may go inner.
    // The closest rule above each is enough: the rules above that one are above a rule too.
    let mut below = vec![false; rules.len()];
    let above_rules = (0..rules.len())
        .filter(|&i| effective_rule[i])
        .filter_map(|i| parent[i]);
    let above_links = links.iter().filter_map(|(link, _)| enclosing(link));
    for j in above_rules.chain(above_links) {
        below[j] = true;
    }
    let mut pending = pins.iter().peekable();
    for (i, rule) in rules.iter().enumerate() {
        if !effective_rule[i] {
            continue;
        }
        // Pins go after every rule as shallow as they are and before any deeper one.
        let d = depth(&rule.path);
        while let Some(pin) = pending.next_if(|p| depth(p) < d) {
            st.ops.push(Op::bind(pin));
        }
        let outer = parent[i];
        let outer_access = outer.map_or(root, |j| rules[j].access);
        let (identity, is_dir) = match present[i] {
            Some(identity) => (identity, identity.dir),
            None => {
                if outer_access == Access::Write {
                    st.placeholder(&rule.path, rule.access);
                }
                continue;
            }
        };
        if rule.access == outer_access {
            continue;
        }
        if let Some(j) = outer.filter(|&j| rules[j].access == Access::None) {
            st.dir_chain(&rules[j].path, &rule.path, is_dir);
        }
        let leaf = !below[i];
        let inner_action = match rule.access {
            Access::Read => Some(Action::ReadOnly),
            Access::None if is_dir => Some(Action::MaskDir { mode: 0o000 }),
            Access::None => Some(Action::MaskFile),
            Access::Write => None,
        };
        // Only a path bwrap already shows at its host path can be mounted on from inside.
        let shown = outer_access != Access::None;
        if let Some(action) = inner_action.filter(|_| leaf && shown && options.inner_mounts) {
            st.inner.push(MountOp {
                action,
                path: rule.path.clone(),
                identity: Some(identity),
            });
            continue;
        }
        match rule.access {
            Access::Write => st.ops.push(Op::bind(&rule.path)),
            Access::Read => st.ops.push(Op::ro_bind(&rule.path)),
            Access::None if is_dir => {
                let mode = if visible_below[i] { 0o111 } else { 0o000 };
                st.ops.push(Op::tmpfs_with_mode(&rule.path, mode));
                st.remount.push(rule.path.clone());
            }
            Access::None => st.empty_file(&rule.path),
        }
    }
    for (link, target) in links {
        let parent = link.parent().unwrap_or(Path::new("/"));
        let shown = effective.get(parent).copied().or_else(|| enclosing(parent));
        if shown.map_or(root, |j| rules[j].access) == Access::None
            && !effective.contains_key(link.as_path())
        {
            st.ops.push(Op::Symlink {
                target: target.clone(),
                dest: link.clone(),
            });
        }
    }
    let remount = std::mem::take(&mut st.remount);
    st.ops
        .extend(remount.into_iter().map(|dest| Op::RemountRo { dest }));
    Ok(Emitted {
        ops: st.ops,
        placeholders: st.placeholders,
        inner: st.inner,
    })
}

/// Whether the command (this user, without capabilities) could create an entry in `dir`.
/// Where it cannot, a missing path there needs no placeholder: for example `/` under
/// `":root" = "write"` for an unprivileged user. An owner can always chmod its directory,
/// and for root (whose capabilities `access` counts) the answer is always yes.
fn command_can_create_in(dir: &Path) -> bool {
    use nix::unistd::{AccessFlags, Uid, access};
    use std::os::unix::fs::MetadataExt;
    let euid = Uid::effective();
    if euid.is_root() {
        return true;
    }
    let owned = std::fs::metadata(dir).is_ok_and(|m| m.uid() == euid.as_raw());
    owned || access(dir, AccessFlags::W_OK).is_ok()
}

impl State<'_> {
    /// `Some(is_dir)` for a path that really exists, `None` for a missing one or a
    /// placeholder of a concurrent run (which this run acquires as its own).
    fn kind(&self, path: &Path) -> Option<bool> {
        self.identity(path).map(|identity| identity.dir)
    }

    /// [`kind`](Self::kind) with the identity the inner stage checks (one `lstat` for both).
    fn identity(&self, path: &Path) -> Option<Identity> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        (!looks_like_placeholder(&meta)).then(|| Identity::from_metadata(&meta))
    }

    fn base(&mut self, root: Access) {
        let slash = Path::new("/");
        self.ops.push(match root {
            Access::Read => Op::ro_bind(slash),
            Access::Write => Op::bind(slash),
            Access::None => Op::Tmpfs {
                dest: slash.into(),
                perms: None,
                size: None,
            },
        });
        self.ops.push(Op::Dev {
            dest: "/dev".into(),
        });
        self.ops.push(Op::Tmpfs {
            dest: "/dev/shm".into(),
            perms: Some(0o1777),
            size: Some(DEV_SHM_SIZE),
        });
        let proc = Path::new("/proc");
        match self.options.proc {
            ProcMode::Fresh => self.ops.push(Op::Proc { dest: proc.into() }),
            ProcMode::Hidden => self.ops.extend(Op::read_only_empty_dir(proc, 0o555)),
        }
    }

    /// `--dir` for each directory strictly below the denied `outer` down to `target`
    /// (its parent when `target` is a file), so the mount point exists in the empty tmpfs.
    fn dir_chain(&mut self, outer: &Path, target: &Path, target_is_dir: bool) {
        let last = if target_is_dir {
            Some(target)
        } else {
            target.parent()
        };
        let Some(last) = last else { return };
        let mut chain: Vec<&Path> = last
            .ancestors()
            .take_while(|a| *a != outer && a.starts_with(outer))
            .collect();
        chain.reverse();
        self.ops
            .extend(chain.into_iter().map(|dir| Op::Dir { dest: dir.into() }));
    }

    /// Mounts the empty, mode-000 host file of [`PlanOptions::empty_file`] on `path`.
    fn empty_file(&mut self, path: &Path) {
        self.ops.push(Op::RoBind {
            src: self.options.empty_file.clone(),
            dest: path.to_path_buf(),
        });
    }

    /// Blocks creation of a missing read/none path inside a writable rule by mounting an
    /// empty read-only directory on its first missing component, where the launcher
    /// creates a placeholder directory ([`crate::run::placeholders`]) before bwrap starts.
    fn placeholder(&mut self, path: &Path, access: Access) {
        let mut first = path;
        while let Some(parent) = first.parent() {
            if self.kind(parent).is_some() {
                break;
            }
            first = parent;
        }
        let parent = first.parent().unwrap_or(Path::new("/"));
        if !command_can_create_in(parent) || !self.placeholder_set.insert(first.to_path_buf()) {
            return;
        }
        self.placeholders.push(first.to_path_buf());
        let is_metadata = first
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| PROTECTED_NAMES.contains(&n));
        let mode = if is_metadata || access == Access::Read {
            0o555
        } else {
            0o000
        };
        // Everything beneath a placeholder is missing: it never has a mount beneath it.
        if self.options.inner_mounts {
            self.inner.push(MountOp {
                action: Action::MaskDir { mode },
                path: first.to_path_buf(),
                identity: None,
            });
            return;
        }
        self.ops.extend(Op::read_only_empty_dir(first, mode));
    }
}
