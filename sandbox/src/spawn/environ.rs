//! The variables that tell the command (and whoever reads its errors) that it runs
//! sandboxed, with which network and which writable roots. Set by both enforcers: as
//! `--setenv` options for bwrap, in the child's environment in legacy mode.
//!
//! | variable | value |
//! |---|---|
//! | `SANDBOX_ACTIVE` | `1` |
//! | `SANDBOX_ENFORCER` | `bwrap`, or `landlock` in legacy mode |
//! | `SANDBOX_NETWORK` | `restricted`, `enabled` or `proxy` |
//! | `SANDBOX_WRITABLE_ROOTS` | the writable host paths, `:`-separated like `PATH` (`/` first when `:root` is write) |
//! | `CODEX_SANDBOX_NETWORK_DISABLED` | `1` unless the network is `enabled` (as Codex sets it) |

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::plan::{Op, Rule};
use crate::policy::{Access, NetworkMode};

/// Which mechanism enforces the policy (`SANDBOX_ENFORCER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enforcer {
    /// bwrap namespaces and mounts plus the inner stage's seccomp filter.
    Bwrap,
    /// Legacy mode: Landlock and seccomp in-process.
    Landlock,
}

/// The writable roots of a plan's rules (`(path, access)`, shallowest first): `/` when the
/// policy's `:root` is write, then every `write` rule not already inside a writable
/// tree (its closest enclosing rule is not `write`).
pub fn writable_roots<'a>(
    root: Access,
    rules: impl IntoIterator<Item = (&'a Path, Access)>,
) -> Vec<PathBuf> {
    let rules: Vec<(&Path, Access)> = rules.into_iter().collect();
    let enclosing = |path: &Path| {
        rules
            .iter()
            .filter(|(p, _)| *p != path && path.starts_with(p))
            .max_by_key(|(p, _)| p.components().count())
            .map_or(root, |(_, a)| *a)
    };
    let slash = (root == Access::Write).then(|| PathBuf::from("/"));
    slash
        .into_iter()
        .chain(
            rules
                .iter()
                .filter(|(p, a)| *a == Access::Write && enclosing(p) != Access::Write)
                .map(|(p, _)| p.to_path_buf()),
        )
        .collect()
}

/// The `(path, access)` pairs of plan rules, for [`writable_roots`].
pub fn rule_access(rules: &[Rule]) -> impl Iterator<Item = (&Path, Access)> {
    rules.iter().map(|r| (r.path.as_path(), r.access))
}

/// The variables, in a fixed order.
pub fn variables(
    enforcer: Enforcer,
    network: NetworkMode,
    writable: &[PathBuf],
) -> Vec<(&'static str, OsString)> {
    let mut roots = OsString::new();
    for (i, root) in writable.iter().enumerate() {
        if i > 0 {
            roots.push(":");
        }
        roots.push(root);
    }
    let mut vars = vec![
        ("SANDBOX_ACTIVE", OsString::from("1")),
        (
            "SANDBOX_ENFORCER",
            match enforcer {
                Enforcer::Bwrap => "bwrap",
                Enforcer::Landlock => "landlock",
            }
            .into(),
        ),
        ("SANDBOX_NETWORK", network.as_str().into()),
        ("SANDBOX_WRITABLE_ROOTS", roots),
    ];
    if network != NetworkMode::Enabled {
        vars.push(("CODEX_SANDBOX_NETWORK_DISABLED", "1".into()));
    }
    vars
}

/// The variables as bwrap `--setenv NAME VALUE` operations.
pub fn setenv_ops<'a>(vars: &'a [(&'static str, OsString)]) -> impl Iterator<Item = Op> + 'a {
    vars.iter().map(|(name, value)| Op::SetEnv {
        name: (*name).into(),
        value: value.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_disabled_follows_codex_and_roots_join_like_path() {
        let rule = |p: &str, access| Rule {
            path: p.into(),
            access,
            origin: "t".into(),
        };
        let rules = [
            rule("/ws", Access::Write),
            rule("/ws/.git", Access::Read),
            rule("/ws/.git/x", Access::Write),
            rule("/ws/out", Access::Write),
        ];
        let roots = writable_roots(Access::Read, rule_access(&rules[..2]));
        let vars = variables(Enforcer::Bwrap, NetworkMode::Restricted, &roots);
        let get = |vars: &[(&str, OsString)], k: &str| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        };
        assert_eq!(get(&vars, "SANDBOX_WRITABLE_ROOTS"), Some("/ws".into()));
        assert_eq!(
            get(&vars, "CODEX_SANDBOX_NETWORK_DISABLED"),
            Some("1".into())
        );
        let roots = writable_roots(Access::Write, rule_access(&rules));
        let vars = variables(Enforcer::Landlock, NetworkMode::Enabled, &roots);
        // Nested write rules only count under a non-writable rule.
        assert_eq!(
            get(&vars, "SANDBOX_WRITABLE_ROOTS"),
            Some("/:/ws/.git/x".into())
        );
        assert_eq!(get(&vars, "SANDBOX_ENFORCER"), Some("landlock".into()));
        assert_eq!(get(&vars, "CODEX_SANDBOX_NETWORK_DISABLED"), None);
        assert_eq!(
            setenv_ops(&vars[..1]).collect::<Vec<_>>(),
            [Op::SetEnv {
                name: "SANDBOX_ACTIVE".into(),
                value: "1".into()
            }]
        );
    }
}
