//! Peer sandboxes graded beside ours: where `ci/peers` installed them, and one adapter each
//! that restates a case's [`Policy`] in the peer's own configuration and runs commands through
//! the peer.
//!
//! - [`codex`]: `CODEX_HOME=DIR codex sandbox -- CMD` with a fresh `DIR/config.toml`;
//! - [`srt`]: `srt -s SETTINGS.json -c 'CMD'` with a fresh settings file.
//!
//! Each trial gets a *launcher*: an executable script that runs its arguments through the
//! peer under one policy (used for the case's runs, and as `{sandboxed}` in host shells).

pub mod codex;
pub mod srt;

use std::path::{Path, PathBuf};

use crate::policy::Policy;

/// A peer sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// OpenAI Codex's Linux sandbox, `codex sandbox` (npm `@openai/codex`).
    Codex,
    /// Anthropic's sandbox runtime, `srt` (npm `@anthropic-ai/sandbox-runtime`).
    Srt,
}

/// An installed peer.
#[derive(Debug, Clone)]
pub struct Install {
    /// Which peer.
    pub peer: Peer,
    /// Its version, from the installed package's `package.json`.
    pub version: String,
    /// The command that starts it (before the peer's own arguments).
    pub program: Vec<PathBuf>,
}

/// Why a trial can't run on a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The policy (or a run option) has an element the peer can't express.
    Unsupported(String),
    /// Writing the configuration failed.
    Setup(String),
}

impl From<String> for Refusal {
    fn from(setup: String) -> Self {
        Refusal::Setup(setup)
    }
}

/// A setup error as [`Refusal::Setup`], with its message.
macro_rules! setup_from {
    ($($error:ty),*) => {$(
        impl From<$error> for Refusal {
            fn from(e: $error) -> Self {
                Refusal::Setup(e.to_string())
            }
        }
    )*};
}

setup_from!(
    crate::fixture::FixtureError,
    crate::exec::ExecError,
    crate::resources::ResourceError
);

/// Why a peer is not offered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The npm package's `package.json` can't be read.
    #[error("{package} is not installed ({}: {source}); run ci/peers", manifest.display())]
    NotInstalled {
        /// The npm package.
        package: &'static str,
        /// Its `package.json`.
        manifest: PathBuf,
        /// Why it can't be read.
        source: std::io::Error,
    },
    /// `package.json` has no `version` string.
    #[error("{}: no version", .0.display())]
    NoVersion(PathBuf),
    /// A file of the installed package is not there.
    #[error("{} is missing; run ci/peers", .0.display())]
    Missing(PathBuf),
    /// Codex publishes no binary for this architecture.
    #[error("codex ships no Linux binary for {0}")]
    Architecture(&'static str),
    /// srt runs under `node`, and there is none.
    #[error("srt needs node, and there is no node on PATH")]
    NoNode,
    /// Under Bazel, peers are left to the Cargo run unless asked for.
    #[error(
        "peers are graded by `cargo run -p conformance` (set CONFORMANCE_PEERS and CONFORMANCE_EXPECTATIONS to grade them under Bazel)"
    )]
    UnderBazel,
}

/// Where the command runs, for resolving the policy's special names.
#[derive(Debug, Clone)]
pub struct Context {
    /// The workspace (`:workspace_roots`, the command's working directory).
    pub ws: PathBuf,
    /// The command's `$TMPDIR` (`:tmpdir`).
    pub tmpdir: PathBuf,
}

/// The directory `ci/peers` installs into: `$CONFORMANCE_PEERS`, else
/// `/var/cache/agent-sandbox/peers`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("CONFORMANCE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/agent-sandbox/peers"))
}

impl Peer {
    /// The target name.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Codex => "codex",
            Peer::Srt => "srt",
        }
    }

    /// The npm package.
    pub fn package(self) -> &'static str {
        match self {
            Peer::Codex => "@openai/codex",
            Peer::Srt => "@anthropic-ai/sandbox-runtime",
        }
    }

    /// Finds the peer under `cache` (`<cache>/<name>/node_modules/...`).
    pub fn locate(self, cache: &Path) -> Result<Install, PeerError> {
        let root = cache.join(self.name()).join("node_modules");
        let manifest = root.join(self.package()).join("package.json");
        let text = match std::fs::read_to_string(&manifest) {
            Ok(text) => text,
            Err(source) => {
                return Err(PeerError::NotInstalled {
                    package: self.package(),
                    manifest,
                    source,
                });
            }
        };
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("version")?.as_str().map(str::to_owned))
            .ok_or(PeerError::NoVersion(manifest))?;
        let program = match self {
            Peer::Codex => vec![codex::binary(&root)?],
            Peer::Srt => srt::program(&root)?,
        };
        Ok(Install {
            peer: self,
            version,
            program,
        })
    }
}

impl Install {
    /// Writes the peer's configuration for `policy` into `dir` and returns a launcher script
    /// that runs its arguments (one argv) through the peer under it.
    pub fn launcher(&self, policy: &Policy, ctx: &Context, dir: &Path) -> Result<PathBuf, Refusal> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Refusal::Setup(format!("mkdir {}: {e}", dir.display())))?;
        let script = match self.peer {
            Peer::Codex => codex::configure(&self.program, policy, ctx, dir)?,
            Peer::Srt => srt::configure(&self.program, policy, ctx, dir)?,
        };
        let path = dir.join("launch");
        crate::exec::write_file(&path, &script, Some(0o755))
            .map_err(|e| Refusal::Setup(format!("writing {}: {e}", path.display())))?;
        Ok(path)
    }
}

/// `program` as shell words, for a launcher script.
fn command_line(program: &[PathBuf]) -> String {
    let words: Vec<String> = program
        .iter()
        .map(|p| shell_quote(&p.display().to_string()))
        .collect();
    words.join(" ")
}

/// `text` as one POSIX shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn unsupported<T>(peer: Peer, what: &str) -> Result<T, Refusal> {
    Err(Refusal::Unsupported(format!("{}: {what}", peer.name())))
}

/// Refuses what neither peer can express: the sandbox's Landlock mode and its proxy mode.
fn common_limits(peer: Peer, policy: &Policy) -> Result<(), Refusal> {
    if policy.legacy_landlock {
        return unsupported(peer, "`legacy_landlock = true` is this sandbox's own mode");
    }
    if policy.network == crate::policy::Network::Proxy {
        return unsupported(
            peer,
            "`network.mode = \"proxy\"` (routes to a host proxy) has no equivalent configuration",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_and_newlines() {
        assert_eq!(shell_quote("a'b\nc"), "'a'\\''b\nc'");
    }
}
