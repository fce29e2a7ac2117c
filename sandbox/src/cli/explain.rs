//! `sandbox explain [OPTIONS] [--json] -- COMMAND [ARGS...]`: the exact plan, not run.

use std::ffi::OsString;
use std::io::Write;

use serde_json::json;

use super::{fail, fail_error, parse_common, print_notice};
use crate::run::Prepared;

/// Prints the bwrap command line (one token per line, bwrap first; the inner stage's
/// mounts follow on stderr as `# inner: ACTION PATH` lines, so stdout stays the exact
/// argv) or, with `--json`, an object with `bwrap_argv`, `inner_mounts`, the resolved
/// `entries`, the plan's `rules`, the passed descriptors (`pass_fds`), the command's
/// variable names (`environment`, no values), the `limits` and more.
pub fn main(args: &[OsString]) -> i32 {
    let options = match parse_common(args) {
        Ok(o) if o.legacy_landlock => {
            return fail("--legacy-landlock runs without bwrap: there is no bwrap plan to explain");
        }
        Ok(o) if o.verbose => {
            return fail("--verbose is an option of `run`; use `explain --plain`");
        }
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let prepared = match options.command().and_then(|c| c.explain(print_notice)) {
        Ok(p) => p,
        Err(e) => return fail_error(e),
    };
    let argv = argv(&prepared);
    let text = if options.json {
        let json = serde_json::to_string_pretty(&to_json(&prepared, &argv)).unwrap_or_default();
        format!("{json}\n")
    } else if options.plain {
        crate::run::describe(&prepared)
    } else {
        let inner: String = prepared
            .plan
            .inner_mounts
            .iter()
            .map(|op| format!("# inner: {}\n", op.describe()))
            .collect();
        let _ = std::io::stderr().lock().write_all(inner.as_bytes());
        argv.iter().map(|token| format!("{token}\n")).collect()
    };
    // One write for the whole plan (thousands of lines with many masks), and a closed
    // stdout is an error status, not a panic.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => fail(format!("cannot write the plan to stdout: {e}")),
    }
}

fn argv(prepared: &Prepared) -> Vec<String> {
    std::iter::once(prepared.bwrap.path().as_os_str())
        .chain(prepared.args.iter().map(|a| a.as_os_str()))
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn to_json(prepared: &Prepared, argv: &[String]) -> serde_json::Value {
    let resolved = &prepared.resolved;
    let entries: Vec<_> = resolved
        .entries
        .iter()
        .map(|e| json!({"path": e.path, "access": e.access.as_str(), "origin": e.origin}))
        .collect();
    let globs: Vec<_> = resolved
        .globs
        .iter()
        .map(|g| json!({"key": g.key, "pattern": g.pattern, "search_root": g.search_root}))
        .collect();
    let rules: Vec<_> = prepared
        .plan
        .rules
        .iter()
        .map(|r| json!({"path": r.path, "access": r.access.as_str(), "origin": r.origin}))
        .collect();
    json!({
        "bwrap": prepared.bwrap.path(),
        "bwrap_argv": argv,
        "cwd": prepared.cwd,
        "root": resolved.root.as_str(),
        "entries": entries,
        "globs": globs,
        "rules": rules,
        "placeholders": prepared.plan.placeholders,
        "inner_mounts": prepared.plan.inner_mounts,
        "network": resolved.network.as_str(),
        "pass_fds": prepared.spawn.pass_fds,
        "environment": prepared.spawn.env_names(),
        "limits": {
            "processes": prepared.spawn.limits.processes,
            "open_files": prepared.spawn.limits.open_files,
            "address_space": prepared.spawn.limits.address_space,
        },
        "proc": match prepared.plan.proc {
            crate::plan::ProcMode::Fresh => "fresh",
            crate::plan::ProcMode::Hidden => "hidden",
        },
    })
}
