//! Deciding whether a policy means exactly the same under the legacy model.
//!
//! The legacy model can say one thing: the whole filesystem is readable, some trees (and
//! `/dev/null`) are writable, the network is the host's or cut by seccomp. To decide, the
//! policy is planned exactly as for bwrap ([`crate::plan::build`]: host paths resolved,
//! protected metadata added, deny globs expanded), and every rule of that plan must be
//! expressible:
//! - `:root` is `read`;
//! - a `write` rule becomes a writable root;
//! - a `read` rule is accepted only outside every writable root (where it changes nothing);
//!   inside one it is a read-only carve-out, which Landlock cannot enforce. That includes
//!   the protected metadata bwrap keeps read-only under each writable directory (`.git`,
//!   `.codex`, `.agents`, `.aws`, existing or not): granting such a path `write` explicitly
//!   in the policy waives its protection under both models, and the one switch
//!   `legacy_unprotected_metadata = true` (`--legacy-unprotected-metadata`) accepts all of
//!   it unprotected in legacy mode ([`LegacyRules::unprotected`], warned about on every run);
//! - a `none` entry or deny glob is refused: Landlock cannot hide a path under a readable
//!   root;
//! - network mode `proxy` is refused, and so is whatever the bwrap plan itself refuses
//!   (e.g. protected metadata that is a symlink).
//!
//! Writable paths reached through symlinks are planned on their real paths, as for bwrap.

use std::path::PathBuf;

use crate::plan::{self, PlanOptions, Rule};
use crate::policy::{Access, NetworkMode, Resolved};

/// What the legacy mode enforces for an accepted policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRules {
    /// Writable trees (host paths; missing ones are skipped when applied).
    pub writable: Vec<PathBuf>,
    /// The network mode, for the seccomp filter.
    pub network: NetworkMode,
    /// The directory the command starts in.
    pub workspace: PathBuf,
    /// Protected metadata left writable because `legacy_unprotected_metadata` is set.
    pub unprotected: Vec<PathBuf>,
}

/// The origin the plan gives protected-metadata rules.
const METADATA_ORIGIN: &str = "protected metadata";

/// How a refusal names the switch that accepts unprotected metadata.
pub const UNPROTECTED_SWITCH: &str =
    "`legacy_unprotected_metadata = true` (or --legacy-unprotected-metadata)";

/// A policy the legacy mode cannot honour, with every entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "legacy Landlock mode cannot honour this policy:\n  - {}\nfix: drop --legacy-landlock \
     (and `legacy_landlock = true`) to enforce it with bwrap, or change these entries",
    problems.join("\n  - ")
)]
pub struct Unrepresentable {
    /// One line per entry that cannot be honoured.
    pub problems: Vec<String>,
}

/// Checks `resolved` against the legacy model; with `unprotected_metadata`, protected
/// metadata under writable roots is accepted (and listed) instead of refused.
pub fn analyse(
    resolved: &Resolved,
    unprotected_metadata: bool,
) -> Result<LegacyRules, Unrepresentable> {
    let refuse = |problem: String| Unrepresentable {
        problems: vec![problem],
    };
    let mut problems = Vec::new();
    let mut planned_for = resolved.clone();
    if resolved.network == NetworkMode::Proxy {
        problems.push("network mode `proxy` needs bwrap's network namespace".to_owned());
        planned_for.network = NetworkMode::Restricted;
    }
    let planned = plan::build(&planned_for, &PlanOptions::default())
        .map_err(|e| refuse(format!("the bwrap plan itself is refused: {e}")))?;
    if resolved.root != Access::Read {
        problems.push(format!(
            "`:root` is {}: the legacy model always reads the whole filesystem and writes \
             only listed roots; set `\":root\" = \"read\"`",
            if resolved.root == Access::Write {
                "write"
            } else {
                "none or absent"
            }
        ));
    }
    problems.extend(
        resolved
            .entries
            .iter()
            .filter(|e| e.access == Access::None)
            .map(|e| {
                format!(
                    "`{}` = none: Landlock cannot deny {} under a readable root",
                    e.origin,
                    e.path.display()
                )
            }),
    );
    problems.extend(resolved.globs.iter().map(|g| {
        format!(
            "`{}` = none: a deny glob hides paths, which Landlock cannot do under a readable root",
            g.key
        )
    }));
    let writable: Vec<&Rule> = planned
        .rules
        .iter()
        .filter(|r| r.access == Access::Write)
        .collect();
    let mut unprotected = Vec::new();
    for rule in &planned.rules {
        let under = writable
            .iter()
            .find(|w| rule.path != w.path && rule.path.starts_with(&w.path));
        let Some(root) = under.filter(|_| rule.access == Access::Read) else {
            continue;
        };
        let metadata = rule.origin == METADATA_ORIGIN;
        if metadata && unprotected_metadata {
            unprotected.push(rule.path.clone());
            continue;
        }
        problems.push(format!(
            "{} ({}) is read-only inside writable {} (`{}`) under bwrap; Landlock cannot \
             make part of a writable tree read-only{}",
            rule.path.display(),
            rule.origin,
            root.path.display(),
            root.origin,
            if metadata {
                format!(
                    "; grant it `write` explicitly to waive the protection, or set \
                     {UNPROTECTED_SWITCH} to accept all metadata unprotected in legacy mode"
                )
            } else {
                String::new()
            }
        ));
    }
    if !problems.is_empty() {
        return Err(Unrepresentable { problems });
    }
    Ok(LegacyRules {
        writable: writable.iter().map(|r| r.path.clone()).collect(),
        network: resolved.network,
        workspace: resolved.workspace.clone(),
        unprotected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use std::path::Path;

    fn analyse_in(
        workspace: &Path,
        filesystem: &str,
        network: &str,
    ) -> Result<LegacyRules, Unrepresentable> {
        let text = format!("[filesystem]\n{filesystem}\n[network]\nmode = \"{network}\"\n");
        let resolved = Policy::parse(&text, "test.toml")
            .unwrap()
            .resolve(workspace, None)
            .unwrap();
        analyse(&resolved, false)
    }

    const WAIVED: &str = "\".git\" = \"write\"\n\".codex\" = \"write\"\n\".agents\" = \"write\"\n\".aws\" = \"write\"\n";

    #[test]
    fn read_root_with_waived_writable_workspace_is_accepted() {
        let ws = tempfile::tempdir().unwrap();
        let rules = analyse_in(
            ws.path(),
            &format!("\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n{WAIVED}"),
            "restricted",
        )
        .unwrap();
        assert!(rules.writable.contains(&ws.path().to_path_buf()));
        assert_eq!(rules.network, NetworkMode::Restricted);
        assert_eq!(rules.workspace, ws.path());
    }

    #[test]
    fn protected_metadata_under_a_writable_root_is_refused_by_name() {
        let ws = tempfile::tempdir().unwrap();
        let err = analyse_in(
            ws.path(),
            "\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\".git\" = \"write\"\n",
            "restricted",
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        for (problem, name) in err.problems.iter().zip([".agents", ".aws", ".codex"]) {
            assert!(
                problem.contains(&format!("{}/{name}", ws.path().display())),
                "{err}"
            );
            assert!(problem.contains(":workspace_roots"), "{err}");
            assert!(problem.contains("waive"), "{err}");
            assert!(problem.contains(UNPROTECTED_SWITCH), "{err}");
        }
    }

    #[test]
    fn the_unprotected_metadata_switch_accepts_and_lists_the_metadata_only() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join(".git")).unwrap();
        let resolved = |extra: &str| {
            Policy::parse(
                &format!(
                    "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n{extra}"
                ),
                "t.toml",
            )
            .unwrap()
            .resolve(ws.path(), None)
            .unwrap()
        };
        let rules = analyse(&resolved(""), true).unwrap();
        let mut got = rules.unprotected.clone();
        got.sort();
        let want: Vec<_> = [".agents", ".aws", ".codex", ".git"]
            .iter()
            .map(|n| ws.path().join(n))
            .collect();
        assert_eq!(got, want);
        // Any other carve-out is still refused.
        let err = analyse(&resolved("\"docs\" = \"read\"\n"), true).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(err.problems[0].contains("(docs) is read-only"), "{err}");
    }

    #[test]
    fn carve_outs_globs_and_denials_are_each_named() {
        let ws = tempfile::tempdir().unwrap();
        let err = analyse_in(
            ws.path(),
            &format!(
                "\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n{WAIVED}\
                 \"docs\" = \"read\"\n\"secret\" = \"none\"\n\"**/*.env\" = \"none\"\n"
            ),
            "enabled",
        )
        .unwrap_err();
        let all = err.to_string();
        for needle in [
            "(docs) is read-only",
            "`secret` = none",
            "`**/*.env` = none",
        ] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
        assert!(all.contains("fix: drop --legacy-landlock"), "{all}");
    }

    #[test]
    fn proxy_network_from_the_library_api_is_refused() {
        let ws = tempfile::tempdir().unwrap();
        let mut resolved = Policy::parse("[filesystem]\n\":root\" = \"read\"\n", "t.toml")
            .unwrap()
            .resolve(ws.path(), None)
            .unwrap();
        resolved.network = NetworkMode::Proxy;
        let err = analyse(&resolved, false).unwrap_err();
        assert!(err.to_string().contains("`proxy`"), "{err}");
    }

    #[test]
    fn root_must_be_exactly_readable() {
        let ws = tempfile::tempdir().unwrap();
        for root in ["write", "none"] {
            let err =
                analyse_in(ws.path(), &format!("\":root\" = \"{root}\"\n"), "enabled").unwrap_err();
            assert!(err.problems[0].contains("`:root`"), "{err}");
        }
    }

    #[test]
    fn a_read_entry_outside_writable_roots_changes_nothing_and_is_accepted() {
        let ws = tempfile::tempdir().unwrap();
        let rules = analyse_in(
            ws.path(),
            "\":root\" = \"read\"\n\"/etc\" = \"read\"\n",
            "enabled",
        )
        .unwrap();
        assert!(rules.writable.is_empty());
    }

    #[test]
    fn a_writable_root_through_a_symlink_is_granted_on_its_real_path() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let rules = analyse_in(
            dir.path(),
            "\":root\" = \"read\"\n\"link\" = \"write\"\n\"link/.git\" = \"write\"\n\
             \"link/.codex\" = \"write\"\n\"link/.agents\" = \"write\"\n\"link/.aws\" = \"write\"\n",
            "restricted",
        )
        .unwrap();
        assert!(
            rules.writable.contains(&real.canonicalize().unwrap()),
            "{rules:?}"
        );
        assert!(
            !rules.writable.contains(&dir.path().join("link")),
            "{rules:?}"
        );
    }
}
