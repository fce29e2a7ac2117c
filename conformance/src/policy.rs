//! A case's policy (the sandbox's own TOML format, placeholders expanded) read into a neutral
//! model, so that a peer adapter ([`crate::peers`]) can restate it in that peer's terms.
//!
//! Only what the cases use needs to be understood; anything else is reported as an element
//! the adapter cannot express, which makes the trial *unsupported* rather than weakened.

use std::path::{Path, PathBuf};

/// What an entry grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readable, not writable.
    Read,
    /// Readable and writable.
    Write,
    /// Neither.
    None,
}

/// What an entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `:root`, the whole filesystem.
    Root,
    /// `:minimal`, the system directories a command needs.
    Minimal,
    /// `:workspace_roots`, the command's working directory.
    Workspace,
    /// `:tmpdir`, `$TMPDIR`.
    Tmpdir,
    /// `:slash_tmp`, `/tmp`.
    SlashTmp,
    /// A path, made absolute against the workspace.
    Path(PathBuf),
    /// A glob pattern, made absolute against the workspace.
    Glob(String),
}

/// One `[filesystem]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it names.
    pub key: Key,
    /// What it grants.
    pub access: Access,
}

/// `[network] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// No network beyond a private loopback (the default).
    Restricted,
    /// The host's network.
    Enabled,
    /// Only through a proxy on the host.
    Proxy,
}

/// A policy in neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The filesystem entries (in key order: meaning never depends on order).
    pub entries: Vec<Entry>,
    /// The network mode.
    pub network: Network,
    /// How deep deny globs are expanded, if bounded.
    pub glob_scan_max_depth: Option<u32>,
    /// `legacy_landlock = true`: the policy asks for the sandbox's Landlock mode.
    pub legacy_landlock: bool,
}

impl Policy {
    /// The sandbox's built-in default (no `--policy`): `/` readable, the workspace, `$TMPDIR`
    /// and `/tmp` writable, the network restricted (metadata protection is implied by all).
    pub fn builtin_default() -> Self {
        Self {
            entries: vec![
                Entry {
                    key: Key::Root,
                    access: Access::Read,
                },
                Entry {
                    key: Key::Workspace,
                    access: Access::Write,
                },
                Entry {
                    key: Key::Tmpdir,
                    access: Access::Write,
                },
                Entry {
                    key: Key::SlashTmp,
                    access: Access::Write,
                },
            ],
            network: Network::Restricted,
            glob_scan_max_depth: None,
            legacy_landlock: false,
        }
    }

    /// Parses `text`; relative paths and globs are taken against `workspace`.
    pub fn parse(text: &str, workspace: &Path) -> Result<Self, PolicyError> {
        let table: toml::Table = toml::from_str(text).map_err(PolicyError::Toml)?;
        let mut policy = Self {
            entries: Vec::new(),
            network: Network::Restricted,
            glob_scan_max_depth: None,
            legacy_landlock: false,
        };
        for (key, value) in &table {
            match (key.as_str(), value) {
                ("glob_scan_max_depth", toml::Value::Integer(n)) => {
                    policy.glob_scan_max_depth = Some(u32::try_from(*n)?)
                }
                ("legacy_landlock", toml::Value::Boolean(b)) => policy.legacy_landlock = *b,
                ("filesystem", toml::Value::Table(fs)) => {
                    for (path, access) in fs {
                        policy.entries.push(entry(path, access, workspace)?);
                    }
                }
                ("network", toml::Value::Table(net)) => {
                    policy.network = match net.get("mode").and_then(toml::Value::as_str) {
                        None | Some("restricted") => Network::Restricted,
                        Some("enabled") => Network::Enabled,
                        Some("proxy") => Network::Proxy,
                        Some(other) => return Err(PolicyError::NetworkMode(other.to_owned())),
                    }
                }
                _ => return Err(PolicyError::Key(key.clone())),
            }
        }
        Ok(policy)
    }

    /// The access an entry's parent gives `path` (the most specific other entry whose
    /// path encloses it; `:root`'s access, or none, at the top). `ws` and `tmpdir` resolve
    /// the special names.
    pub fn enclosing_access(&self, path: &Path, ws: &Path, tmpdir: &Path) -> Access {
        let mut best: Option<(usize, Access)> = None;
        for e in &self.entries {
            let Some(p) = self.concrete(&e.key, ws, tmpdir) else {
                continue;
            };
            if p == path || !path.starts_with(&p) {
                continue;
            }
            let depth = p.components().count();
            if best.is_none_or(|(d, _)| depth > d) {
                best = Some((depth, e.access));
            }
        }
        best.map_or(Access::None, |(_, a)| a)
    }

    /// The directory a key names, when it names one (`:minimal` and globs do not).
    pub fn concrete(&self, key: &Key, ws: &Path, tmpdir: &Path) -> Option<PathBuf> {
        match key {
            Key::Root => Some(PathBuf::from("/")),
            Key::Workspace => Some(ws.to_path_buf()),
            Key::Tmpdir => Some(tmpdir.to_path_buf()),
            Key::SlashTmp => Some(PathBuf::from("/tmp")),
            Key::Path(p) => Some(p.clone()),
            Key::Minimal | Key::Glob(_) => None,
        }
    }

    /// Whether `:root` is readable (with no `:root` entry, nothing is).
    pub fn root_readable(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.key == Key::Root && e.access != Access::None)
    }

    /// Whether an entry names exactly `path`.
    pub fn names(&self, path: &Path, ws: &Path, tmpdir: &Path) -> bool {
        self.entries
            .iter()
            .any(|e| self.concrete(&e.key, ws, tmpdir).as_deref() == Some(path))
    }
}

/// What the peer adapters can't read in a case's policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not TOML.
    #[error("policy: {0}")]
    Toml(toml::de::Error),
    /// `glob_scan_max_depth` out of range.
    #[error(transparent)]
    Depth(#[from] std::num::TryFromIntError),
    /// An unknown network mode.
    #[error("policy: network mode {0:?}")]
    NetworkMode(String),
    /// A top-level key the adapters don't know.
    #[error("policy: key {0:?} is not understood by the adapters")]
    Key(String),
    /// A filesystem entry whose access is not `read`, `write` or `none`.
    #[error("policy: {path:?} = {access}: not read, write or none")]
    Access {
        /// The entry's path.
        path: String,
        /// Its value.
        access: toml::Value,
    },
    /// An unknown special path (`:name`).
    #[error("policy: special path {0:?}")]
    Special(String),
}

fn entry(path: &str, access: &toml::Value, workspace: &Path) -> Result<Entry, PolicyError> {
    let access = match access.as_str() {
        Some("read") => Access::Read,
        Some("write") => Access::Write,
        Some("none" | "deny") => Access::None,
        _ => {
            return Err(PolicyError::Access {
                path: path.to_owned(),
                access: access.clone(),
            });
        }
    };
    let key = match path {
        ":root" => Key::Root,
        ":minimal" => Key::Minimal,
        ":workspace_roots" => Key::Workspace,
        ":tmpdir" => Key::Tmpdir,
        ":slash_tmp" => Key::SlashTmp,
        p if p.starts_with(':') => return Err(PolicyError::Special(p.to_owned())),
        p if p.contains(['*', '?', '[']) => Key::Glob(absolute(p, workspace)),
        p => Key::Path(PathBuf::from(absolute(p, workspace))),
    };
    Ok(Entry { key, access })
}

fn absolute(path: &str, workspace: &Path) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{}/{path}", workspace.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_entries_and_globs_resolve_against_the_workspace() {
        let text = "glob_scan_max_depth = 3\n[filesystem]\n\":root\" = \"read\"\n\
                    \"repo/a\" = \"none\"\n\"**/*.env\" = \"deny\"\n[network]\nmode = \"enabled\"\n";
        let p = Policy::parse(text, Path::new("/w")).unwrap();
        assert_eq!(p.glob_scan_max_depth, Some(3));
        assert_eq!(p.network, Network::Enabled);
        let has = |key: Key, access| p.entries.contains(&Entry { key, access });
        assert!(has(Key::Path("/w/repo/a".into()), Access::None));
        assert!(has(Key::Glob("/w/**/*.env".into()), Access::None));
        assert!(has(Key::Root, Access::Read));
    }

    #[test]
    fn the_enclosing_entry_is_the_most_specific_other_one() {
        let text = "[filesystem]\n\":root\" = \"read\"\n\"/w/repo\" = \"write\"\n\
                    \"/w/repo/a\" = \"none\"\n";
        let p = Policy::parse(text, Path::new("/w")).unwrap();
        let (ws, tmp) = (Path::new("/w"), Path::new("/t"));
        assert_eq!(
            p.enclosing_access(Path::new("/w/repo/a/b"), ws, tmp),
            Access::None
        );
        assert_eq!(
            p.enclosing_access(Path::new("/w/repo/a"), ws, tmp),
            Access::Write
        );
        assert_eq!(
            p.enclosing_access(Path::new("/w/repo"), ws, tmp),
            Access::Read
        );
    }

    #[test]
    fn unknown_keys_are_not_expressible() {
        assert!(Policy::parse("extra = 1\n", Path::new("/w")).is_err());
    }
}
