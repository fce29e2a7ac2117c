//! The plan in plain words, one group per policy entry (`sandbox run --verbose`,
//! `sandbox explain --plain`): for people debugging a policy.

use std::fmt::Write;

use super::Prepared;
use crate::plan::{Plan, ProcMode, Rule};
use crate::policy::{Access, NetworkMode};

/// The origin the plan gives protected-metadata rules.
const METADATA: &str = "protected metadata";

/// The policy entry a rule comes from: its own origin, or for protected metadata the
/// writable rule that encloses it (the root it protects).
pub fn policy_origin<'a>(plan: &'a Plan, rule: &'a Rule) -> &'a str {
    if rule.origin != METADATA {
        return &rule.origin;
    }
    plan.rules
        .iter()
        .filter(|r| r.access == Access::Write && rule.path.starts_with(&r.path))
        .max_by_key(|r| r.path.components().count())
        .map_or("`:root` = write", |r| r.origin.as_str())
}

/// What an access means inside the sandbox.
fn words(access: Access) -> &'static str {
    match access {
        Access::Read => "read-only",
        Access::Write => "writable",
        Access::None => "hidden (no access)",
    }
}

/// The description: `/`, then each origin's rules in plan order, the network, `/proc` and
/// the variables the command is given. Every line ends with a newline.
pub fn describe(prepared: &Prepared) -> String {
    let plan = &prepared.plan;
    let resolved = &prepared.resolved;
    let mut out = String::new();
    let _ = writeln!(out, "workspace {}", prepared.cwd.display());
    let _ = writeln!(out, "/ is {} (`:root`)", words(resolved.root));
    let mut origins: Vec<&str> = Vec::new();
    for rule in &plan.rules {
        let origin = policy_origin(plan, rule);
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    for origin in origins {
        let _ = writeln!(out, "{origin}:");
        for rule in plan
            .rules
            .iter()
            .filter(|r| policy_origin(plan, r) == origin)
        {
            let metadata = if rule.origin == METADATA {
                " as protected metadata"
            } else {
                ""
            };
            let missing = if plan.placeholders.contains(&rule.path) {
                " (missing: an empty mount point is created on the host while the command \
                 runs, removed afterwards)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} is {}{metadata}{missing}",
                rule.path.display(),
                words(rule.access)
            );
        }
    }
    let network = match resolved.network {
        NetworkMode::Restricted => {
            "restricted: a new, empty network namespace; only AF_UNIX stream/seqpacket \
             sockets, no connect, bind, listen, accept or addressed send"
        }
        NetworkMode::Enabled => "enabled: the host's network (AF_VSOCK still denied)",
        NetworkMode::Proxy => {
            "proxy: a new network namespace; only the loopback proxy bridges are reachable"
        }
    };
    let _ = writeln!(out, "network {network}");
    let proc = match plan.proc {
        ProcMode::Fresh => "a fresh /proc for the sandbox's pid namespace",
        ProcMode::Hidden => "/proc hidden (an empty read-only directory)",
    };
    let _ = writeln!(out, "{proc}");
    let mut args = plan.bwrap_args.iter();
    let mut vars = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--setenv"
            && let (Some(name), Some(value)) = (args.next(), args.next())
        {
            vars.push(format!(
                "{}={}",
                name.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    let _ = writeln!(out, "environment {}", vars.join(" "));
    out
}
