//! The `codex` adapter: a case's policy as a Codex permissions profile in a fresh
//! `CODEX_HOME/config.toml`, run with `codex sandbox -- CMD` from the workspace.
//!
//! Codex's profile model is the one this sandbox's policy mirrors: `":root"`, `":minimal"`,
//! `":tmpdir"`, `":slash_tmp"` and absolute paths as keys, the workspace's sub-paths and globs
//! in a `":workspace_roots"` table, `"deny"` for none, `glob_scan_max_depth` beside them, and
//! `[permissions.P.network] enabled = true` for the host's network. Codex protects
//! `.git`/`.codex`/`.agents` in writable roots itself, as the sandbox does. When `/` is not
//! readable, `CODEX_HOME` and the Codex install are added as readable: Codex runs its own
//! helper (a link in `CODEX_HOME` to its binary) inside the sandbox.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{Context, Peer, PeerError, Refusal, command_line, common_limits, shell_quote};
use crate::policy::{Access, Key, Network, Policy};

const PROFILE: &str = "conformance";

/// The native binary inside the npm package for this machine.
pub fn binary(node_modules: &Path) -> Result<PathBuf, PeerError> {
    let (pkg, triple) = match std::env::consts::ARCH {
        "x86_64" => ("codex-linux-x64", "x86_64-unknown-linux-musl"),
        "aarch64" => ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
        other => return Err(PeerError::Architecture(other)),
    };
    let path = node_modules
        .join("@openai")
        .join(pkg)
        .join("vendor")
        .join(triple)
        .join("bin/codex");
    if path.is_file() {
        Ok(path)
    } else {
        Err(PeerError::Missing(path))
    }
}

fn access(a: Access) -> Value {
    Value::String(
        match a {
            Access::Read => "read",
            Access::Write => "write",
            Access::None => "deny",
        }
        .into(),
    )
}

/// `config.toml` for `policy`, with `home` as `CODEX_HOME`.
pub fn config(
    policy: &Policy,
    ctx: &Context,
    home: &Path,
    install: &Path,
) -> Result<String, Refusal> {
    common_limits(Peer::Codex, policy)?;
    let mut fs = Table::new();
    if !policy.root_readable() {
        for dir in [home, install] {
            fs.insert(dir.display().to_string(), access(Access::Read));
        }
    }
    let mut workspace = Table::new();
    if let Some(depth) = policy.glob_scan_max_depth {
        fs.insert("glob_scan_max_depth".into(), Value::Integer(depth.into()));
    }
    let ws = ctx.ws.display().to_string();
    for e in &policy.entries {
        let value = access(e.access);
        let (table, key) = match &e.key {
            Key::Root => (&mut fs, ":root".to_owned()),
            Key::Minimal => (&mut fs, ":minimal".to_owned()),
            Key::Tmpdir => (&mut fs, ":tmpdir".to_owned()),
            Key::SlashTmp => (&mut fs, ":slash_tmp".to_owned()),
            Key::Workspace => (&mut workspace, ".".to_owned()),
            Key::Path(p) => match p.strip_prefix(&ctx.ws) {
                Ok(rel) if !rel.as_os_str().is_empty() => {
                    (&mut workspace, rel.display().to_string())
                }
                _ => (&mut fs, p.display().to_string()),
            },
            Key::Glob(g) => match g.strip_prefix(&format!("{ws}/")) {
                Some(rel) => (&mut workspace, rel.to_owned()),
                None => (&mut fs, g.clone()),
            },
        };
        table.insert(key, value);
    }
    if !workspace.is_empty() {
        fs.insert(":workspace_roots".into(), Value::Table(workspace));
    }
    let mut profile = Table::new();
    profile.insert("filesystem".into(), Value::Table(fs));
    if policy.network == Network::Enabled {
        let mut net = Table::new();
        net.insert("enabled".into(), Value::Boolean(true));
        profile.insert("network".into(), Value::Table(net));
    }
    let mut profiles = Table::new();
    profiles.insert(PROFILE.into(), Value::Table(profile));
    let mut doc = Table::new();
    doc.insert("default_permissions".into(), Value::String(PROFILE.into()));
    doc.insert("permissions".into(), Value::Table(profiles));
    toml::to_string(&doc).map_err(|e| Refusal::Setup(format!("config.toml: {e}")))
}

/// Writes `dir/home/config.toml` and returns the launcher script.
pub fn configure(
    program: &[PathBuf],
    policy: &Policy,
    ctx: &Context,
    dir: &Path,
) -> Result<String, Refusal> {
    let home = dir.join("home");
    let binary = program
        .first()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("/"));
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let text = config(
        policy,
        ctx,
        &home,
        binary.parent().unwrap_or(Path::new("/")),
    )?;
    std::fs::create_dir_all(&home)
        .and_then(|()| std::fs::write(home.join("config.toml"), text))
        .map_err(|e| Refusal::Setup(format!("writing {}/config.toml: {e}", home.display())))?;
    Ok(format!(
        "#!/bin/sh\nCODEX_HOME={} exec {} sandbox -- \"$@\"\n",
        shell_quote(&home.display().to_string()),
        command_line(program)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_entries_go_under_workspace_roots() {
        let text = "glob_scan_max_depth = 8\n[filesystem]\n\":root\" = \"read\"\n\
                    \":workspace_roots\" = \"write\"\n\"docs\" = \"read\"\n\"/w/x.key\" = \"none\"\n\
                    \"/elsewhere\" = \"write\"\n\"**/*.env\" = \"none\"\n[network]\nmode = \"enabled\"\n";
        let ctx = Context {
            ws: "/w".into(),
            tmpdir: "/t".into(),
        };
        let policy = Policy::parse(text, &ctx.ws).unwrap();
        let doc: Table =
            toml::from_str(&config(&policy, &ctx, Path::new("/h"), Path::new("/i")).unwrap())
                .unwrap();
        let p = &doc["permissions"][PROFILE];
        let fs = &p["filesystem"];
        assert_eq!(fs["glob_scan_max_depth"].as_integer(), Some(8));
        assert_eq!(fs[":root"].as_str(), Some("read"));
        assert_eq!(fs["/elsewhere"].as_str(), Some("write"));
        let w = &fs[":workspace_roots"];
        assert_eq!(w["."].as_str(), Some("write"));
        assert_eq!(w["docs"].as_str(), Some("read"));
        assert_eq!(w["x.key"].as_str(), Some("deny"));
        assert_eq!(w["**/*.env"].as_str(), Some("deny"));
        assert_eq!(p["network"]["enabled"].as_bool(), Some(true));
    }
}
