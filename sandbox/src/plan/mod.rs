//! Turning a resolved policy into the ordered bwrap arguments (the plan).
//!
//! [`build`] resolves every policy path on the host (refusing writable symlinks), adds the
//! protected metadata of each writable root and the matches of the deny globs, and emits
//! one mount operation per rule from the shallowest path to the deepest, so that the most
//! specific rule wins in both directions (see [`order`]).

mod glob;
mod metadata;
mod order;
mod symlink;

use symlink::Followed;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use crate::policy::NetworkMode;
use crate::policy::{Access, Resolved, depth};
pub use glob::{COLLAPSE_MIN_ENTRIES, MAX_GLOB_MATCHES};
pub use metadata::PROTECTED_NAMES;
pub use order::DEV_SHM_SIZE;

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
    /// Paths that exist on the host only as placeholders of concurrent runs: planned as
    /// missing, so this run masks them too and never treats them as real content.
    pub known_placeholders: HashSet<PathBuf>,
    /// Extra host paths to hide from the command (the placeholder registry).
    pub hidden: Vec<PathBuf>,
    /// An empty host file with mode 000, bound read-only over denied files and missing
    /// carve-outs (one file for every mask, so no descriptors are needed).
    pub empty_file: PathBuf,
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
    /// bwrap options, in order, that build the namespaces and the filesystem view
    /// (everything before the inner-stage program and `--`).
    pub bwrap_args: Vec<OsString>,
    /// The network mode; the inner stage installs the matching seccomp filter.
    pub network: NetworkMode,
    /// Host paths that bwrap will create as empty mount points and that did not exist
    /// before the run: removed after the command ends.
    pub placeholders: Vec<PathBuf>,
    /// The rules the arguments were built from, shallowest first.
    pub rules: Vec<Rule>,
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
    let (rules, links) = collect_rules(resolved, options)?;
    let emitted = order::emit(resolved.root, &rules, &links, options)?;
    let mut args: Vec<OsString> = ["--new-session", "--die-with-parent"]
        .map(OsString::from)
        .to_vec();
    args.extend(emitted.args);
    args.extend(["--unshare-user", "--unshare-pid", "--unshare-ipc"].map(OsString::from));
    if resolved.network != NetworkMode::Enabled {
        args.push("--unshare-net".into());
    }
    args.push("--chdir".into());
    args.push(resolved.workspace.clone().into());
    args.extend(["--cap-drop", "ALL"].map(OsString::from));
    Ok(Plan {
        bwrap_args: args,
        network: resolved.network,
        placeholders: emitted.placeholders,
        rules,
        proc: options.proc,
    })
}

/// Resolves entries on the host, adds metadata and glob rules, and sorts them by depth.
/// Also returns the symlinks followed on the way to policy entries, so that the logical
/// paths (`/lib64 -> usr/lib64`) exist where the base does not show them.
fn collect_rules(
    resolved: &Resolved,
    options: &PlanOptions,
) -> Result<(Vec<Rule>, Vec<Followed>), PlanError> {
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
    for glob in &resolved.globs {
        let origin = format!("glob {}", glob.key);
        let search_root = symlink::secure_path(&glob.search_root, &writable, &origin)?;
        for path in glob::expand(glob, &search_root, resolved.glob_scan_max_depth)? {
            add(&mut rules, path, Access::None, &origin);
        }
    }
    for path in &options.hidden {
        add(
            &mut rules,
            path.clone(),
            Access::None,
            "sandbox placeholder registry",
        );
    }
    let mut rules: Vec<Rule> = rules.into_values().collect();
    rules.sort_by(|a, b| {
        depth(&a.path)
            .cmp(&depth(&b.path))
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok((rules, links))
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
mod tests {
    use super::*;
    use crate::policy::Policy;
    use std::fs;
    use std::path::Path;

    const EMPTY: &str = "/EMPTY";

    fn plan_with(root: &Path, toml: &str, options: PlanOptions) -> Result<Plan, PlanError> {
        let policy = Policy::parse(toml, "test.toml").unwrap();
        let resolved = policy.resolve(root, None).unwrap();
        build(&resolved, &options)
    }

    fn plan(root: &Path, toml: &str) -> Plan {
        let options = PlanOptions {
            empty_file: EMPTY.into(),
            ..PlanOptions::default()
        };
        plan_with(root, toml, options).unwrap()
    }

    fn args(plan: &Plan) -> Vec<String> {
        plan.bwrap_args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// The index of the first occurrence of `tokens` as a contiguous run.
    fn pos(args: &[String], tokens: &[&str]) -> usize {
        args.windows(tokens.len())
            .position(|w| w.iter().zip(tokens).all(|(a, b)| a == b))
            .unwrap_or_else(|| panic!("{tokens:?} not in {args:?}"))
    }

    fn has(args: &[String], tokens: &[&str]) -> bool {
        args.windows(tokens.len())
            .any(|w| w.iter().zip(tokens).all(|(a, b)| a == b))
    }

    fn tree(paths: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for p in paths {
            let path = root.join(p);
            if p.ends_with('/') {
                fs::create_dir_all(&path).unwrap();
            } else {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, "x").unwrap();
            }
        }
        (dir, root)
    }

    fn s(p: PathBuf) -> String {
        p.display().to_string()
    }

    #[test]
    fn write_none_write_reopens_the_child_after_masking_the_parent() {
        let (_d, r) = tree(&["repo/a/b/"]);
        let p = plan(
            &r,
            "[filesystem]\n\":root\" = \"read\"\n\"repo\" = \"write\"\n\"repo/a\" = \"none\"\n\"repo/a/b\" = \"write\"\n",
        );
        let a = args(&p);
        let (repo, ra, rab) = (
            s(r.join("repo")),
            s(r.join("repo/a")),
            s(r.join("repo/a/b")),
        );
        let bind_repo = pos(&a, &["--bind", &repo, &repo]);
        let mask = pos(&a, &["--perms", "111", "--tmpfs", &ra]);
        let dir = pos(&a, &["--dir", &rab]);
        let bind_b = pos(&a, &["--bind", &rab, &rab]);
        let remount = pos(&a, &["--remount-ro", &ra]);
        assert!(
            bind_repo < mask && mask < dir && dir < bind_b && bind_b < remount,
            "{a:?}"
        );
        // both writable roots get their metadata protected
        assert!(has(&a, &["--tmpfs", &s(r.join("repo/a/b/.git"))]), "{a:?}");
        assert!(has(&a, &["--tmpfs", &s(r.join("repo/.git"))]), "{a:?}");
    }

    #[test]
    fn writable_file_under_a_denied_dir_gets_only_its_parent_created() {
        let (_d, r) = tree(&["repo/a/sub/w.txt"]);
        let p = plan(
            &r,
            "[filesystem]\n\":root\" = \"read\"\n\"repo/a\" = \"none\"\n\"repo/a/sub/w.txt\" = \"write\"\n",
        );
        let a = args(&p);
        let w = s(r.join("repo/a/sub/w.txt"));
        assert!(pos(&a, &["--dir", &s(r.join("repo/a/sub"))]) < pos(&a, &["--bind", &w, &w]));
        assert!(!has(&a, &["--dir", &w]), "{a:?}");
    }

    #[test]
    fn denied_files_and_dirs_are_masked() {
        let (_d, r) = tree(&["ws/f.txt", "ws/d/x"]);
        let ws = r.join("ws");
        let p = plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"f.txt\" = \"none\"\n\"d\" = \"none\"\n",
        );
        let a = args(&p);
        assert!(
            has(&a, &["--ro-bind", EMPTY, &s(ws.join("f.txt"))]),
            "{a:?}"
        );
        assert!(
            has(&a, &["--perms", "000", "--tmpfs", &s(ws.join("d"))]),
            "{a:?}"
        );
        assert!(
            pos(&a, &["--bind", &s(ws.clone()), &s(ws.clone())])
                < pos(&a, &["--tmpfs", &s(ws.join("d"))])
        );
    }

    #[test]
    fn missing_carveouts_become_placeholders_without_touching_the_host() {
        let (_d, r) = tree(&["ws/"]);
        let ws = r.join("ws");
        let p = plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"x/y/secret\" = \"none\"\n\"ro.txt\" = \"read\"\n",
        );
        let a = args(&p);
        for name in PROTECTED_NAMES {
            let path = s(ws.join(name));
            assert!(
                has(
                    &a,
                    &["--perms", "555", "--tmpfs", &path, "--remount-ro", &path]
                ),
                "{a:?}"
            );
        }
        assert!(has(&a, &["--ro-bind", EMPTY, &s(ws.join("x"))]), "{a:?}");
        assert!(
            has(&a, &["--ro-bind", EMPTY, &s(ws.join("ro.txt"))]),
            "{a:?}"
        );
        let mut got = p.placeholders.clone();
        got.sort();
        let mut want: Vec<PathBuf> = [".agents", ".codex", ".git", "ro.txt", "x"]
            .iter()
            .map(|n| ws.join(n))
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(
            fs::read_dir(&ws).unwrap().count(),
            0,
            "planning must not create anything"
        );
    }

    #[test]
    fn known_placeholders_of_other_runs_are_masked_again() {
        let (_d, r) = tree(&["ws/.codex/"]);
        let ws = r.join("ws");
        let options = PlanOptions {
            empty_file: EMPTY.into(),
            known_placeholders: [ws.join(".codex")].into_iter().collect(),
            ..PlanOptions::default()
        };
        let p = plan_with(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n",
            options,
        )
        .unwrap();
        assert!(p.placeholders.contains(&ws.join(".codex")));
        assert!(has(
            &args(&p),
            &["--perms", "555", "--tmpfs", &s(ws.join(".codex"))]
        ));
    }

    #[test]
    fn existing_metadata_is_rebound_read_only() {
        let (_d, r) = tree(&["ws/.git/config"]);
        let ws = r.join("ws");
        let p = plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n",
        );
        let git = s(ws.join(".git"));
        assert!(has(&args(&p), &["--ro-bind", &git, &git]));
        assert!(!p.placeholders.contains(&ws.join(".git")));
    }

    #[test]
    fn metadata_protection_never_opens_a_denied_gitdir() {
        let (_d, r) = tree(&["ws/", "area/store/HEAD"]);
        let (ws, area, store) = (r.join("ws"), r.join("area"), r.join("area/store"));
        fs::write(ws.join(".git"), format!("gitdir: {}\n", store.display())).unwrap();
        let toml = format!(
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"{}\" = \"none\"\n",
            area.display()
        );
        let p = plan(&ws, &toml);
        let a = args(&p);
        assert!(
            has(&a, &["--perms", "000", "--tmpfs", &s(area.clone())]),
            "{a:?}"
        );
        assert!(!has(&a, &["--ro-bind", &s(store.clone())]), "{a:?}");
        let git = s(ws.join(".git"));
        assert!(has(&a, &["--ro-bind", &git, &git]), "{a:?}");
    }

    #[test]
    fn read_only_parent_is_reopened_by_a_writable_child() {
        let (_d, r) = tree(&["ws/docs/public/"]);
        let ws = r.join("ws");
        let p = plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"docs\" = \"read\"\n\"docs/public\" = \"write\"\n",
        );
        let a = args(&p);
        let (docs, public) = (s(ws.join("docs")), s(ws.join("docs/public")));
        assert!(pos(&a, &["--ro-bind", &docs, &docs]) < pos(&a, &["--bind", &public, &public]));
    }

    #[test]
    fn redundant_and_missing_writable_entries_emit_nothing() {
        let (_d, r) = tree(&["ws/sub/"]);
        let ws = r.join("ws");
        let p = plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\"/usr\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"sub\" = \"write\"\n\"gone\" = \"write\"\n",
        );
        let a = args(&p);
        assert!(!has(&a, &["--ro-bind", "/usr"]), "{a:?}");
        assert!(!a.contains(&s(ws.join("gone"))), "{a:?}");
        assert!(!has(&a, &["--bind", &s(ws.join("sub"))]), "{a:?}");
    }

    #[test]
    fn base_layer_follows_the_root_access() {
        let (_d, r) = tree(&["ws/"]);
        let ws = r.join("ws");
        let read = args(&plan(&ws, "[filesystem]\n\":root\" = \"read\"\n"));
        assert_eq!(read[2..5], ["--ro-bind", "/", "/"]);
        let none = args(&plan(&ws, "[filesystem]\n\":minimal\" = \"read\"\n"));
        assert_eq!(none[2..4], ["--tmpfs", "/"]);
        assert!(has(&none, &["--ro-bind", "/usr", "/usr"]), "{none:?}");
        if fs::symlink_metadata("/lib64").is_ok_and(|m| m.file_type().is_symlink()) {
            let target = fs::read_link("/lib64").unwrap();
            assert!(
                has(&none, &["--symlink", target.to_str().unwrap(), "/lib64"]),
                "{none:?}"
            );
        }
        assert!(!has(&none, &["--ro-bind", "/", "/"]));
    }

    #[test]
    fn namespaces_proc_and_network_flags() {
        let (_d, r) = tree(&["ws/"]);
        let ws = r.join("ws");
        let restricted = args(&plan(&ws, "[filesystem]\n\":root\" = \"read\"\n"));
        for flag in [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-net",
            "--new-session",
            "--die-with-parent",
        ] {
            assert!(
                restricted.iter().any(|a| a == flag),
                "{flag}: {restricted:?}"
            );
        }
        assert!(has(&restricted, &["--cap-drop", "ALL"]));
        assert!(has(&restricted, &["--proc", "/proc"]));
        let enabled = args(&plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n[network]\nmode = \"enabled\"\n",
        ));
        assert!(!enabled.iter().any(|a| a == "--unshare-net"));
        let options = PlanOptions {
            proc: ProcMode::Hidden,
            empty_file: EMPTY.into(),
            ..PlanOptions::default()
        };
        let hidden =
            args(&plan_with(&ws, "[filesystem]\n\":root\" = \"read\"\n", options).unwrap());
        assert!(has(
            &hidden,
            &[
                "--perms",
                "555",
                "--tmpfs",
                "/proc",
                "--remount-ro",
                "/proc"
            ]
        ));
        assert!(!has(&hidden, &["--proc", "/proc"]));
    }

    #[test]
    fn deny_through_a_writable_symlink_fails_closed_naming_the_link() {
        let (_d, r) = tree(&["ws/real/secret"]);
        let ws = r.join("ws");
        std::os::unix::fs::symlink("real", ws.join("link")).unwrap();
        let options = PlanOptions {
            empty_file: EMPTY.into(),
            ..PlanOptions::default()
        };
        let err = plan_with(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"link/secret\" = \"none\"\n",
            options,
        )
        .unwrap_err();
        assert!(err.to_string().contains(&s(ws.join("link"))), "{err}");
    }

    #[test]
    fn glob_matches_become_masks() {
        let (_d, r) = tree(&["ws/.env", "ws/app/x.env", "ws/app/keep.txt"]);
        let ws = r.join("ws");
        let p = plan(
            &ws,
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"**/*.env\" = \"none\"\n",
        );
        let a = args(&p);
        for f in [".env", "app/x.env"] {
            assert!(has(&a, &["--ro-bind", EMPTY, &s(ws.join(f))]), "{f}: {a:?}");
        }
        assert!(!a.contains(&s(ws.join("app/keep.txt"))));
    }
}
