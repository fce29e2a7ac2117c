//! Naming the policy element behind a bwrap failure: the paths in bwrap's message are
//! mapped back to the plan rule that made bwrap touch them, and the rule to its policy
//! entry (protected metadata to the writable root it protects).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::describe::policy_origin;
use crate::plan::{Plan, Rule};

/// The prefixes bwrap puts before host paths while it builds the new root.
const BWRAP_ROOTS: [&str; 2] = ["/newroot", "/oldroot"];

/// One sentence naming the rule and entry behind the first `bwrap:` line of `stderr`
/// that mentions a planned path, and the fix; `None` when no line does.
pub fn diagnose(stderr: &str, plan: &Plan) -> Option<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("bwrap: "))
        .find_map(|line| {
            paths_in(line)
                .iter()
                .find_map(|p| rule_for(plan, p).map(|rule| explain(plan, rule, p, line)))
        })
}

/// The absolute paths a bwrap message mentions, without bwrap's root prefixes.
fn paths_in(line: &str) -> Vec<PathBuf> {
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .map(|w| w.trim_end_matches([':', ',', '.']))
        .filter(|w| w.starts_with('/'))
        .map(|w| {
            let stripped = BWRAP_ROOTS
                .iter()
                .find_map(|r| w.strip_prefix(r).filter(|rest| rest.starts_with('/')))
                .unwrap_or(w);
            PathBuf::from(stripped)
        })
        .collect()
}

/// The rule on `path`, or the deepest rule enclosing it.
fn rule_for<'a>(plan: &'a Plan, path: &Path) -> Option<&'a Rule> {
    plan.rules
        .iter()
        .filter(|r| path.starts_with(&r.path))
        .max_by_key(|r| r.path.components().count())
}

fn explain(plan: &Plan, rule: &Rule, path: &Path, line: &str) -> String {
    let entry = policy_origin(plan, rule);
    let placeholder = plan.placeholders.iter().any(|p| p == path);
    let what = if rule.origin == "protected metadata" {
        format!(
            "{} is protected metadata of the writable root from policy entry `{entry}`{}",
            rule.path.display(),
            if placeholder {
                ", missing on the host, so bwrap must create an empty mount point for it"
            } else {
                ""
            }
        )
    } else if placeholder {
        format!(
            "{} comes from policy entry `{entry}` ({}) and is missing on the host, so bwrap \
             must create an empty mount point for it",
            rule.path.display(),
            rule.access
        )
    } else {
        format!(
            "{} comes from policy entry `{entry}` ({})",
            rule.path.display(),
            rule.access
        )
    };
    let fix = if placeholder && line.contains("Permission denied") {
        let parent = path.parent().unwrap_or(Path::new("/"));
        let owner = std::fs::metadata(parent).map_or_else(
            |_| "another user".to_owned(),
            |m| format!("uid {}", m.uid()),
        );
        format!(
            "{} is owned by {owner} and bwrap, in its user namespace, cannot create files \
             there as uid {}: run as the directory's owner, create {} beforehand, or give the \
             path its own policy entry (`\"{}\" = \"write\"` waives the protection)",
            parent.display(),
            nix::unistd::geteuid(),
            path.display(),
            path.display()
        )
    } else if !placeholder && std::fs::symlink_metadata(path).is_err() {
        format!(
            "{} existed when the run was planned and was gone when bwrap mounted it: another \
             process removed it (for instance a concurrent sandbox run's placeholder); run \
             again",
            path.display()
        )
    } else {
        format!(
            "check {} on the host, or change policy entry `{entry}`",
            path.display()
        )
    };
    format!(
        "bwrap failed on {} ({line}): {what}; fix: {fix}",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Access;

    fn plan() -> Plan {
        let rule = |p: &str, access, origin: &str| Rule {
            path: p.into(),
            access,
            origin: origin.into(),
        };
        Plan {
            rules: vec![
                rule("/ws", Access::Write, ":workspace_roots"),
                rule("/ws/.agents", Access::Read, "protected metadata"),
                rule("/ws/secret", Access::None, "secret"),
            ],
            placeholders: vec!["/ws/.agents".into()],
            ..Plan::default()
        }
    }

    #[test]
    fn a_metadata_placeholder_is_traced_to_its_writable_root() {
        let text = "noise\nbwrap: Can't mkdir /ws/.agents: Permission denied\n";
        let d = diagnose(text, &plan()).unwrap();
        assert!(d.contains("protected metadata"), "{d}");
        assert!(d.contains("`:workspace_roots`"), "{d}");
        assert!(d.contains("fix: /ws is owned by"), "{d}");
        assert!(d.contains("\"/ws/.agents\" = \"write\""), "{d}");
    }

    #[test]
    fn bwrap_root_prefixes_are_stripped_and_unknown_paths_ignored() {
        let d = diagnose(
            "bwrap: Can't mount tmpfs on /newroot/ws/secret: No such file or directory",
            &plan(),
        )
        .unwrap();
        assert!(d.contains("policy entry `secret` (none)"), "{d}");
        assert_eq!(diagnose("bwrap: Can't find /elsewhere/x", &plan()), None);
        assert_eq!(diagnose("unrelated /ws/secret", &plan()), None);
    }
}
