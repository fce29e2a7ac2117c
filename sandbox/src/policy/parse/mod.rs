//! Reading a policy from TOML or JSON text and validating every entry.

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

mod environment;
mod limits;

use super::error::PolicyError;
use super::model::{Access, Entry, NetworkMode, PathSpec, Policy, Special};

/// Characters that make a key a glob.
const GLOB_META: &[char] = &['*', '?', '['];

impl Policy {
    /// Parses a policy from text. `origin` names the source in messages; a name ending in
    /// `.json`, or text starting with `{`, is read as JSON, anything else as TOML.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let err = |entry: &str, problem: String, fix: &str| PolicyError {
            origin: origin.to_string(),
            entry: entry.to_string(),
            problem,
            fix: fix.to_string(),
        };
        let is_json = origin.ends_with(".json") || text.trim_start().starts_with('{');
        let value: Value = if is_json {
            serde_json::from_str(text)
                .map_err(|e| err("(file)", format!("malformed JSON: {e}"), "write valid JSON"))?
        } else {
            toml::from_str(text).map_err(|e| {
                let msg = e.to_string().replace('\n', " ");
                err(
                    "(file)",
                    format!("malformed TOML: {msg}"),
                    "write valid TOML",
                )
            })?
        };
        Parser { origin }.policy(&value)
    }

    /// Reads and parses a policy file.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            origin: origin.clone(),
            entry: "(file)".into(),
            problem: format!("cannot read the policy file: {e}"),
            fix: "pass a readable policy file with --policy".into(),
        })?;
        Policy::parse(&text, &origin)
    }
}

/// Parses one policy's sections, naming its origin in every error (the `[environment]` and
/// `[limits]` sections in the submodules of the same name).
struct Parser<'a> {
    origin: &'a str,
}

impl Parser<'_> {
    fn err(&self, entry: &str, problem: impl Into<String>, fix: impl Into<String>) -> PolicyError {
        PolicyError {
            origin: self.origin.to_string(),
            entry: entry.to_string(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// A key this part of the policy does not have; `fix` lists the ones it has.
    fn unknown_key(&self, entry: &str, fix: &str) -> PolicyError {
        self.err(entry, "unknown key", fix)
    }

    fn table<'v>(
        &self,
        value: &'v Value,
        entry: &str,
    ) -> Result<&'v Map<String, Value>, PolicyError> {
        value
            .as_object()
            .ok_or_else(|| self.err(entry, "expected a table", format!("make `{entry}` a table")))
    }

    fn policy(&self, value: &Value) -> Result<Policy, PolicyError> {
        let top = self.table(value, "(top level)")?;
        // A key left out keeps the built-in default's value; the entries are only the file's.
        let mut policy = Policy {
            origin: self.origin.to_string(),
            entries: Vec::new(),
            ..Policy::default()
        };
        for (key, value) in top {
            match key.as_str() {
                "glob_scan_max_depth" => policy.glob_scan_max_depth = Some(self.depth(value)?),
                "legacy_landlock" => policy.legacy_landlock = self.boolean(key, value)?,
                "legacy_unprotected_metadata" => {
                    policy.legacy_unprotected_metadata = self.boolean(key, value)?
                }
                "filesystem" => {
                    for (path, access) in self.table(value, key)? {
                        policy.entries.push(self.entry(path, access)?);
                    }
                }
                "network" => policy.network = self.network(value)?,
                "environment" => policy.environment = self.environment(value)?,
                "limits" => policy.limits = self.limits(value)?,
                other => {
                    return Err(self.unknown_key(
                        other,
                        "use only glob_scan_max_depth, legacy_landlock, legacy_unprotected_metadata, \
                         [filesystem], [network], [environment] and [limits]",
                    ));
                }
            }
        }
        Ok(policy)
    }

    fn boolean(&self, key: &str, value: &Value) -> Result<bool, PolicyError> {
        value.as_bool().ok_or_else(|| {
            self.err(
                key,
                "expected true or false",
                format!("write `{key} = true`"),
            )
        })
    }

    fn depth(&self, value: &Value) -> Result<usize, PolicyError> {
        match value.as_u64() {
            Some(n) if n >= 1 => Ok(n as usize),
            _ => Err(self.err(
                "glob_scan_max_depth",
                format!("must be an integer >= 1, got {value}"),
                "set glob_scan_max_depth to 1 or more, or remove it for no limit",
            )),
        }
    }

    fn network(&self, value: &Value) -> Result<NetworkMode, PolicyError> {
        let mut mode = NetworkMode::Restricted;
        for (key, value) in self.table(value, "network")? {
            let name = format!("network.{key}");
            if key != "mode" {
                return Err(self.unknown_key(&name, "use only `mode` in [network]"));
            }
            mode = match value.as_str() {
                Some("restricted") => NetworkMode::Restricted,
                Some("enabled") => NetworkMode::Enabled,
                Some("proxy") => NetworkMode::Proxy,
                _ => {
                    return Err(self.err(
                        &name,
                        format!("unknown network mode {value}"),
                        "use \"restricted\", \"enabled\" or \"proxy\"",
                    ));
                }
            };
        }
        Ok(mode)
    }

    fn entry(&self, key: &str, value: &Value) -> Result<Entry, PolicyError> {
        let name = format!("filesystem.\"{key}\"");
        let access = match value.as_str() {
            Some("read") => Access::Read,
            Some("write") => Access::Write,
            Some("none") | Some("deny") => Access::None,
            _ => {
                return Err(self.err(
                    &name,
                    format!("unknown access value {value}"),
                    "use \"read\", \"write\" or \"none\"",
                ));
            }
        };
        let mut spec = self.path_spec(&name, key)?;
        if matches!(spec, PathSpec::Glob(_)) && access != Access::None {
            // `PATH/**` = read/write means the PATH subtree, as Codex reads it.
            spec = subtree(key)
                .map(|dir| self.path_spec(&name, dir))
                .transpose()?
                .ok_or_else(|| {
                    self.err(
                        &name,
                        format!("a glob can only deny, but it asks for `{access}`"),
                        "set the glob to \"none\", write a directory (or `DIR/**`) for its \
                         subtree, or list the paths it should open one by one",
                    )
                })?;
        }
        Ok(Entry {
            key: key.to_string(),
            spec,
            access,
        })
    }

    fn path_spec(&self, name: &str, key: &str) -> Result<PathSpec, PolicyError> {
        if key.starts_with(':') {
            return Special::ALL
                .iter()
                .find(|(_, spelling)| *spelling == key)
                .map(|(special, _)| PathSpec::Special(*special))
                .ok_or_else(|| {
                    self.err(
                        name,
                        "unknown special path",
                        "use :root, :workspace_roots, :tmpdir, :slash_tmp or :minimal",
                    )
                });
        }
        if key.is_empty() {
            return Err(self.err(name, "empty path", "write \".\" for the workspace root"));
        }
        let path = Path::new(key);
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(self.err(
                name,
                "`..` is not allowed in policy paths",
                "write the path without `..` (absolute, or relative to the workspace root)",
            ));
        }
        if key.contains(GLOB_META) {
            if path.is_absolute() {
                check_glob_prefix(key).map_err(|problem| {
                    self.err(
                        name,
                        problem.to_string(),
                        "start the glob with a directory other than /",
                    )
                })?;
            }
            return Ok(PathSpec::Glob(key.to_string()));
        }
        let clean: PathBuf = path
            .components()
            .filter(|c| *c != Component::CurDir)
            .collect();
        Ok(if path.is_absolute() {
            PathSpec::Absolute(clean)
        } else {
            PathSpec::Relative(clean)
        })
    }
}

/// The directory of a `DIR/**` key whose `DIR` is a plain, non-empty path (not `/`).
fn subtree(key: &str) -> Option<&str> {
    let dir = key.strip_suffix("/**")?.trim_end_matches('/');
    (!dir.is_empty() && !dir.contains(GLOB_META)).then_some(dir)
}

/// Splits an absolute glob into its static directory prefix and the pattern below it.
/// Fails when the prefix is `/` or empty: expanding such a glob would scan the whole disk.
pub(crate) fn check_glob_prefix(pattern: &str) -> Result<(PathBuf, String), GlobAtRoot> {
    let meta = pattern.find(GLOB_META).unwrap_or(pattern.len());
    let slash = pattern[..meta].rfind('/');
    match slash {
        Some(i) if !pattern[..i].trim_matches('/').is_empty() => {
            Ok((PathBuf::from(&pattern[..i]), pattern[i + 1..].to_string()))
        }
        _ => Err(GlobAtRoot(pattern.to_owned())),
    }
}

/// An absolute glob whose static prefix is `/` (or empty): expanding it would scan the
/// whole disk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the glob `{0}` has no directory prefix other than /, so it cannot be expanded safely")]
pub(crate) struct GlobAtRoot(String);

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
glob_scan_max_depth = 4
legacy_landlock = true
legacy_unprotected_metadata = true
[filesystem]
":root" = "read"
":workspace_roots" = "write"
"/abs/path" = "deny"
"relative/./path" = "read"
"**/*.env" = "none"
[network]
mode = "enabled"
"#;

    #[test]
    fn parses_the_documented_format() {
        let p = Policy::parse(FULL, "p.toml").unwrap();
        assert_eq!(p.glob_scan_max_depth, Some(4));
        assert!(p.legacy_landlock);
        assert!(p.legacy_unprotected_metadata);
        assert_eq!(p.network, NetworkMode::Enabled);
        let specs: Vec<(&PathSpec, Access)> =
            p.entries.iter().map(|e| (&e.spec, e.access)).collect();
        assert!(specs.contains(&(&PathSpec::Special(Special::Root), Access::Read)));
        assert!(specs.contains(&(&PathSpec::Absolute("/abs/path".into()), Access::None)));
        assert!(specs.contains(&(&PathSpec::Relative("relative/path".into()), Access::Read)));
        assert!(specs.contains(&(&PathSpec::Glob("**/*.env".into()), Access::None)));
    }

    #[test]
    fn a_trailing_globstar_with_read_or_write_is_the_subtree() {
        let p = Policy::parse(
            "[filesystem]\n\"docs/**\" = \"read\"\n\"/opt/out/**\" = \"write\"\n\"gen/**\" = \"none\"\n",
            "p.toml",
        )
        .unwrap();
        let specs: Vec<(&str, &PathSpec, Access)> = p
            .entries
            .iter()
            .map(|e| (e.key.as_str(), &e.spec, e.access))
            .collect();
        assert_eq!(
            specs,
            vec![
                (
                    "/opt/out/**",
                    &PathSpec::Absolute("/opt/out".into()),
                    Access::Write
                ),
                ("docs/**", &PathSpec::Relative("docs".into()), Access::Read),
                // A deny glob stays a glob (each match masked).
                ("gen/**", &PathSpec::Glob("gen/**".into()), Access::None),
            ]
        );
        // (`/**` is refused earlier: no directory prefix other than /.)
        for other in ["**", "src/**/*.rs", "*/**", "docs/*", "a/**/b", "docs/**/"] {
            let text = format!("[filesystem]\n\"{other}\" = \"write\"\n");
            let e = Policy::parse(&text, "p.toml").unwrap_err();
            assert!(e.problem.contains("a glob can only deny"), "{other}: {e}");
            assert!(e.fix.contains("DIR/**"), "{e}");
        }
    }

    #[test]
    fn json_is_the_same_structure() {
        let json = r#"{"glob_scan_max_depth": 4, "filesystem": {":root": "read"}, "network": {"mode": "restricted"}}"#;
        let by_content = Policy::parse(json, "policy").unwrap();
        let by_name = Policy::parse(json, "p.json").unwrap();
        assert_eq!(by_content.entries, by_name.entries);
        assert_eq!(by_content.glob_scan_max_depth, Some(4));
    }

    #[test]
    fn errors_name_the_file_the_entry_and_the_fix() {
        for (text, entry) in [
            ("[filesystem]\n\"/x\" = \"rw\"\n", "filesystem.\"/x\""),
            (
                "[filesystem]\n\"src/**/*.rs\" = \"write\"\n",
                "filesystem.\"src/**/*.rs\"",
            ),
            (
                "[filesystem]\n\"/**/*.env\" = \"none\"\n",
                "filesystem.\"/**/*.env\"",
            ),
            (
                "[filesystem]\n\"../up\" = \"read\"\n",
                "filesystem.\"../up\"",
            ),
            ("glob_scan_max_depth = 0\n", "glob_scan_max_depth"),
            ("[network]\nmode = 1\n", "network.mode"),
            ("[network]\nproxy = \"x\"\n", "network.proxy"),
            ("extra = 1\n", "extra"),
            (
                "legacy_unprotected_metadata = 1\n",
                "legacy_unprotected_metadata",
            ),
            ("[environment]\ninherit = \"some\"\n", "environment.inherit"),
            ("[environment]\ninclude = \"X\"\n", "environment.include"),
            ("[environment]\nexclude = [\"[\"]\n", "environment.exclude"),
            ("[environment]\nset = { A = 1 }\n", "environment.set.A"),
            ("[environment]\nunset = []\n", "environment.unset"),
            ("[limits]\nprocesses = 0\n", "limits.processes"),
            ("[limits]\nopen_files = \"x\"\n", "limits.open_files"),
            ("[limits]\nmemory = 1\n", "limits.memory"),
            ("[limits]\nstack = 1\n", "limits.stack"),
        ] {
            let e = Policy::parse(text, "bad.toml").unwrap_err();
            assert_eq!(e.origin, "bad.toml");
            assert_eq!(e.entry, entry, "{text}");
            assert!(!e.fix.is_empty());
            assert!(
                e.to_string()
                    .starts_with(&format!("bad.toml: entry `{entry}`:")),
                "{e}"
            );
        }
    }
}
