//! The `srt` adapter: a case's policy as a sandbox-runtime settings file, run with
//! `srt -s SETTINGS.json -c 'CMD'` from the workspace.
//!
//! srt reads everything unless `denyRead` says otherwise (`allowRead` reopens inside a
//! denied path) and writes nowhere unless `allowWrite` says so (`denyWrite` wins). Each entry
//! becomes what it changes relative to the entry that encloses it: a readable path under a
//! none is `allowRead`, a read-only one under a writable one `denyWrite`, a none `denyRead`
//! (and `denyWrite` under a writable one), a writable one `allowWrite`. The sandbox's
//! protection of `.git` (and its `gitdir:` target), `.codex` and `.agents` in writable roots
//! becomes `denyWrite` entries. Restricted network is `allowedDomains: []` (srt's "no
//! network"). The host's network can't be configured: srt's settings require
//! `allowedDomains`, and any list means an isolated network reached only through srt's
//! proxies. When `/` is not readable, srt's own package (its seccomp helper) is added to
//! `allowRead`: srt runs it inside the sandbox.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Context, Peer, PeerError, Refusal, command_line, common_limits, shell_quote};
use crate::policy::{Access, Key, Network, Policy};

/// `node <package>/dist/cli.js`: the `srt` script run by the first `node` on `PATH`, so that
/// a run's own `PATH` can't lose it.
pub fn program(node_modules: &Path) -> Result<Vec<PathBuf>, PeerError> {
    let cli = node_modules.join("@anthropic-ai/sandbox-runtime/dist/cli.js");
    if !cli.is_file() {
        return Err(PeerError::Missing(cli));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let node = std::env::split_paths(&path)
        .map(|d| d.join("node"))
        .find(|p| p.is_file())
        .ok_or(PeerError::NoNode)?;
    Ok(vec![node, cli])
}

/// The system directories `:minimal` stands for (those that exist).
const MINIMAL: [&str; 8] = [
    "/bin",
    "/sbin",
    "/usr",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/nix/store",
];

const METADATA: [&str; 3] = [".git", ".codex", ".agents"];

#[derive(Default)]
struct Lists {
    deny_read: Vec<String>,
    allow_read: Vec<String>,
    allow_write: Vec<String>,
    deny_write: Vec<String>,
}

fn push(list: &mut Vec<String>, path: &Path) {
    let s = path.display().to_string();
    if !list.contains(&s) {
        list.push(s);
    }
}

/// `.git`, `.codex`, `.agents` under the writable `root`, and the directory a `gitdir:`
/// file names, unless the policy decides on them itself.
fn protect_metadata(lists: &mut Lists, policy: &Policy, ctx: &Context, root: &Path) {
    for name in METADATA {
        let path = root.join(name);
        if policy.names(&path, &ctx.ws, &ctx.tmpdir) {
            continue;
        }
        push(&mut lists.deny_write, &path);
        let gitdir = std::fs::read_to_string(&path).ok().and_then(|text| {
            let target = text.trim().strip_prefix("gitdir:")?.trim().to_owned();
            Some(root.join(target))
        });
        if let Some(dir) = gitdir {
            push(&mut lists.deny_write, &dir);
        }
    }
}

/// The settings JSON for `policy`.
/// `package` is srt's package directory.
pub fn settings(policy: &Policy, ctx: &Context, package: &Path) -> Result<String, Refusal> {
    common_limits(Peer::Srt, policy)?;
    if policy.network == Network::Enabled {
        return Err(Refusal::Unsupported(
            "srt: the host's network (`mode = \"enabled\"`) can't be configured: settings \
             require network.allowedDomains, and any list isolates the network behind srt's \
             proxies"
                .into(),
        ));
    }
    let mut l = Lists::default();
    if !policy.root_readable() {
        push(&mut l.deny_read, Path::new("/"));
        push(&mut l.allow_read, package);
    }
    let any_write = policy.entries.iter().any(|e| e.access == Access::Write);
    for e in &policy.entries {
        match (&e.key, e.access) {
            (Key::Minimal, Access::None) => {}
            (Key::Minimal, _) => {
                for dir in MINIMAL.iter().map(Path::new).filter(|d| d.exists()) {
                    push(&mut l.allow_read, dir);
                }
            }
            (Key::Glob(g), Access::None) => {
                l.deny_read.push(g.clone());
                if any_write {
                    l.deny_write.push(g.clone());
                }
            }
            (Key::Glob(g), _) => {
                return Err(Refusal::Unsupported(format!(
                    "srt: a read or write glob ({g})"
                )));
            }
            // Reads of `/` are handled above (srt reads everything unless denied).
            (Key::Root, Access::Read | Access::None) => {}
            (key, access) => {
                let Some(path) = policy.concrete(key, &ctx.ws, &ctx.tmpdir) else {
                    continue;
                };
                let parent = policy.enclosing_access(&path, &ctx.ws, &ctx.tmpdir);
                match access {
                    Access::Read if parent == Access::None => push(&mut l.allow_read, &path),
                    Access::Read if parent == Access::Write => push(&mut l.deny_write, &path),
                    Access::Read => {}
                    Access::Write => {
                        push(&mut l.allow_write, &path);
                        if parent == Access::None {
                            push(&mut l.allow_read, &path);
                        }
                        protect_metadata(&mut l, policy, ctx, &path);
                    }
                    Access::None => {
                        push(&mut l.deny_read, &path);
                        if parent == Access::Write {
                            push(&mut l.deny_write, &path);
                        }
                    }
                }
            }
        }
    }
    let doc = json!({
        "filesystem": {
            "denyRead": l.deny_read,
            "allowRead": l.allow_read,
            "allowWrite": l.allow_write,
            "denyWrite": l.deny_write,
        },
        "network": {"allowedDomains": [], "deniedDomains": []},
    });
    serde_json::to_string_pretty(&doc).map_err(|e| Refusal::Setup(e.to_string()))
}

/// Writes `dir/settings.json` and returns the launcher script (bash quotes the argv into
/// the one command string `-c` takes; srt runs it with bash).
pub fn configure(
    program: &[PathBuf],
    policy: &Policy,
    ctx: &Context,
    dir: &Path,
) -> Result<String, Refusal> {
    let cli = program
        .last()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("."));
    let package = cli.parent().and_then(Path::parent).unwrap_or(cli);
    let package = std::fs::canonicalize(package).unwrap_or_else(|_| package.to_path_buf());
    let text = settings(policy, ctx, &package)?;
    let path = dir.join("settings.json");
    std::fs::write(&path, text)
        .map_err(|e| Refusal::Setup(format!("writing {}: {e}", path.display())))?;
    Ok(format!(
        "#!/bin/bash\nexec {} -s {} -c \"$(printf '%q ' \"$@\")\"\n",
        command_line(program),
        shell_quote(&path.display().to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(text: &str) -> serde_json::Value {
        let ctx = Context {
            ws: "/nonexistent-ws".into(),
            tmpdir: "/nonexistent-tmp".into(),
        };
        let policy = Policy::parse(text, &ctx.ws).unwrap();
        serde_json::from_str(&settings(&policy, &ctx, Path::new("/srt")).unwrap()).unwrap()
    }

    #[test]
    fn nested_carve_outs_become_allow_and_deny_lists() {
        let doc = lists(
            "[filesystem]\n\":root\" = \"read\"\n\"repo\" = \"write\"\n\"repo/a\" = \"none\"\n\
             \"repo/a/b\" = \"write\"\n\"repo/c\" = \"read\"\n",
        );
        let fs = &doc["filesystem"];
        let ws = "/nonexistent-ws";
        assert_eq!(fs["denyRead"], json!([format!("{ws}/repo/a")]));
        assert_eq!(fs["allowRead"], json!([format!("{ws}/repo/a/b")]));
        assert_eq!(
            fs["allowWrite"],
            json!([format!("{ws}/repo"), format!("{ws}/repo/a/b")])
        );
        let deny_write = fs["denyWrite"].as_array().unwrap();
        for p in ["repo/.git", "repo/a", "repo/c", "repo/a/b/.codex"] {
            assert!(deny_write.contains(&json!(format!("{ws}/{p}"))), "{p}");
        }
        assert_eq!(doc["network"]["allowedDomains"], json!([]));
    }

    #[test]
    fn an_unreadable_root_is_denied_and_minimal_reopened() {
        let doc = lists("[filesystem]\n\":minimal\" = \"read\"\n");
        assert_eq!(doc["filesystem"]["denyRead"], json!(["/"]));
        let allow = doc["filesystem"]["allowRead"].as_array().unwrap();
        assert!(allow.contains(&json!("/usr")) && allow.contains(&json!("/srt")));
    }
}
