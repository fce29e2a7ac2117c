//! The policy's data model: entries, access levels, network modes.

use std::fmt;
use std::path::PathBuf;

use super::environment::EnvPolicy;
use super::limits::Limits;

/// What a path entry allows. Ordered by precedence on a tie: `None` > `Write` > `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Readable, not writable.
    Read,
    /// Readable and writable.
    Write,
    /// Neither readable nor writable (`deny` is accepted as an alias when parsing).
    None,
}

impl Access {
    /// The spelling used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::None => "none",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The network a policy gives the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NetworkMode {
    /// A new, empty network namespace plus the seccomp socket filter.
    #[default]
    Restricted,
    /// The host's network.
    Enabled,
    /// Only loopback proxies named by the proxy variables are reachable, through host
    /// bridges (see [`crate::proxy`]).
    Proxy,
}

impl NetworkMode {
    /// The spelling used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Restricted => "restricted",
            NetworkMode::Enabled => "enabled",
            NetworkMode::Proxy => "proxy",
        }
    }
}

/// A special path name (`:root`, `:workspace_roots`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Special {
    /// `:root`: the whole filesystem.
    Root,
    /// `:workspace_roots`: the workspace root (`--cwd`).
    WorkspaceRoots,
    /// `:tmpdir`: `$TMPDIR` when it is set to an absolute path.
    Tmpdir,
    /// `:slash_tmp`: `/tmp`.
    SlashTmp,
    /// `:minimal`: the system directories needed to run programs (`/usr`, `/etc`, `/lib`...).
    Minimal,
}

impl Special {
    /// Every special name with its spelling.
    pub const ALL: [(Special, &'static str); 5] = [
        (Special::Root, ":root"),
        (Special::WorkspaceRoots, ":workspace_roots"),
        (Special::Tmpdir, ":tmpdir"),
        (Special::SlashTmp, ":slash_tmp"),
        (Special::Minimal, ":minimal"),
    ];
}

/// What an entry's key names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathSpec {
    /// A special name.
    Special(Special),
    /// An absolute path.
    Absolute(PathBuf),
    /// A path relative to the workspace root.
    Relative(PathBuf),
    /// A glob (absolute, or relative to the workspace root); deny only.
    Glob(String),
}

/// One `[filesystem]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as written in the policy, for messages.
    pub key: String,
    /// What the key names.
    pub spec: PathSpec,
    /// The access it grants.
    pub access: Access,
}

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Where the policy came from (a file name, `<string>` or `<built-in default>`), for messages.
    pub origin: String,
    /// The `[filesystem]` entries, in file order.
    pub entries: Vec<Entry>,
    /// `[network] mode`.
    pub network: NetworkMode,
    /// `glob_scan_max_depth`: how deep deny globs are expanded (unbounded when absent).
    pub glob_scan_max_depth: Option<usize>,
    /// `legacy_landlock = true`: enforce with Landlock in-process instead of bwrap (see
    /// [`crate::legacy`]).
    pub legacy_landlock: bool,
    /// `[environment]`: which variables the command sees.
    pub environment: EnvPolicy,
    /// `[limits]`: resource limits.
    pub limits: Limits,
    /// `legacy_unprotected_metadata = true`: in legacy Landlock mode, accept that protected
    /// metadata (`.git`, `.codex`, `.agents`, `.aws`) under writable roots is writable, with a
    /// warning on every run (see [`crate::legacy`]). No effect under bwrap.
    pub legacy_unprotected_metadata: bool,
}

impl Default for Policy {
    /// The built-in workspace-write policy: `:root` read, the workspace, `:tmpdir` and
    /// `:slash_tmp` writable (as in Codex's workspace-write), network restricted.
    fn default() -> Self {
        let entry = |special, key: &str, access| Entry {
            key: key.to_string(),
            spec: PathSpec::Special(special),
            access,
        };
        Policy {
            origin: "<built-in default>".to_string(),
            entries: vec![
                entry(Special::Root, ":root", Access::Read),
                entry(Special::WorkspaceRoots, ":workspace_roots", Access::Write),
                entry(Special::Tmpdir, ":tmpdir", Access::Write),
                entry(Special::SlashTmp, ":slash_tmp", Access::Write),
            ],
            network: NetworkMode::Restricted,
            glob_scan_max_depth: None,
            legacy_landlock: false,
            environment: Default::default(),
            limits: Default::default(),
            legacy_unprotected_metadata: false,
        }
    }
}

impl Policy {
    /// Drops the `write` entries on `:tmpdir` and `:slash_tmp` (`--no-writable-tmp`):
    /// `/tmp` and `$TMPDIR` then get the access of what encloses them (read under the
    /// built-in default), unless another entry names them.
    pub fn without_writable_tmp(mut self) -> Policy {
        self.entries.retain(|e| {
            let tmp = matches!(
                e.spec,
                PathSpec::Special(Special::Tmpdir | Special::SlashTmp)
            );
            !(tmp && e.access == Access::Write)
        });
        self
    }
}
