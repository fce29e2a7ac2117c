//! The policy's `[environment]` section: which of the caller's variables the command sees.
//!
//! ```toml
//! [environment]
//! inherit = "all"              # "all" (default), "core" or "none"
//! include = ["CARGO_*"]        # caller variables added back (and exempt from the
//!                              # credential defaults), whatever `inherit` says
//! exclude = ["*_PASSWORD"]     # removed; wins over `inherit` and `include`
//! set = { CI = "1" }           # set last, overriding everything
//! ```
//!
//! Patterns are shell globs on names (`*`, `?`, `[...]`), case-sensitive. Unless a name
//! matches `include`, the [`CREDENTIALS`] are dropped in every mode.

use std::collections::BTreeMap;
use std::ffi::OsString;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::Value;

use super::model::PolicyError;
use super::parse::Parser;

/// The names `inherit = "core"` keeps (plus `LC_*`).
pub const CORE: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP", "LANG",
    "LANGUAGE", "TERM", "TZ",
];

/// Well-known credential variables, dropped unless `include` names them: their only use
/// is reaching a remote service, which the default (restricted) network cannot, while
/// any network path (proxy or enabled mode) would let a hostile command send them away.
pub const CREDENTIALS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITLAB_TOKEN",
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    "CARGO_REGISTRY_TOKEN",
    "PYPI_TOKEN",
    "TWINE_PASSWORD",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "DOCKER_PASSWORD",
    "DIGITALOCEAN_TOKEN",
    "CLOUDFLARE_API_TOKEN",
    "SLACK_TOKEN",
    "VAULT_TOKEN",
];

/// Which caller variables are the starting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Inherit {
    /// Every variable.
    #[default]
    All,
    /// Only [`CORE`] and `LC_*`.
    Core,
    /// None.
    None,
}

/// A parsed `[environment]` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvPolicy {
    /// `inherit`.
    pub inherit: Inherit,
    /// `include` patterns.
    pub include: Vec<String>,
    /// `exclude` patterns.
    pub exclude: Vec<String>,
    /// `set`, by name.
    pub set: BTreeMap<String, String>,
}

impl EnvPolicy {
    /// The command's environment from the caller's `vars`, sorted by name.
    pub fn apply(
        &self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        // Patterns were checked when parsing; a failure here cannot happen.
        let include = globs(&self.include).unwrap_or_else(|_| GlobSet::empty());
        let exclude = globs(&self.exclude).unwrap_or_else(|_| GlobSet::empty());
        let core = |name: &str| CORE.contains(&name) || name.starts_with("LC_");
        let mut out: BTreeMap<OsString, OsString> = BTreeMap::new();
        for (key, value) in vars {
            let name = key.to_string_lossy();
            let included = include.is_match(name.as_ref());
            let inherited = match self.inherit {
                Inherit::All => true,
                Inherit::Core => core(&name),
                Inherit::None => false,
            };
            let credential = CREDENTIALS.contains(&name.as_ref()) && !included;
            if (inherited || included) && !credential && !exclude.is_match(name.as_ref()) {
                out.insert(key, value);
            }
        }
        for (key, value) in &self.set {
            out.insert(key.into(), value.into());
        }
        out.into_iter().collect()
    }
}

fn globs(patterns: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(Glob::new(pattern)?);
    }
    builder.build()
}

impl Parser<'_> {
    /// Parses `[environment]`.
    pub(super) fn environment(&self, value: &Value) -> Result<EnvPolicy, PolicyError> {
        let mut env = EnvPolicy::default();
        for (key, value) in self.table(value, "environment")? {
            let name = format!("environment.{key}");
            match key.as_str() {
                "inherit" => {
                    env.inherit = match value.as_str() {
                        Some("all") => Inherit::All,
                        Some("core") => Inherit::Core,
                        Some("none") => Inherit::None,
                        _ => {
                            return Err(self.err(
                                &name,
                                format!("unknown value {value}"),
                                "use \"all\", \"core\" or \"none\"",
                            ));
                        }
                    }
                }
                "include" => env.include = self.patterns(&name, value)?,
                "exclude" => env.exclude = self.patterns(&name, value)?,
                "set" => {
                    for (var, text) in self.table(value, &name)? {
                        let entry = format!("{name}.{var}");
                        if var.is_empty() || var.contains(['=', '\0']) {
                            return Err(self.err(
                                &entry,
                                "not a variable name",
                                "use a name without `=` or NUL",
                            ));
                        }
                        let text =
                            text.as_str().filter(|t| !t.contains('\0')).ok_or_else(|| {
                                self.err(&entry, "expected a string without NUL", "quote the value")
                            })?;
                        env.set.insert(var.clone(), text.to_string());
                    }
                }
                _ => {
                    return Err(self.err(
                        &name,
                        "unknown key",
                        "use only inherit, include, exclude and set in [environment]",
                    ));
                }
            }
        }
        Ok(env)
    }

    fn patterns(&self, name: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
        let fix = "write a list of name patterns, e.g. [\"CARGO_*\", \"RUST_LOG\"]";
        let list = value
            .as_array()
            .ok_or_else(|| self.err(name, "expected a list of strings", fix))?;
        let mut out = Vec::new();
        for item in list {
            let pattern = item
                .as_str()
                .ok_or_else(|| self.err(name, format!("{item} is not a string"), fix))?;
            Glob::new(pattern)
                .map_err(|e| self.err(name, format!("bad pattern {pattern:?}: {e}"), fix))?;
            out.push(pattern.to_string());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    fn env(policy: &str, vars: &[(&str, &str)]) -> Vec<(String, String)> {
        let policy = Policy::parse(policy, "p.toml").unwrap();
        let vars = vars.iter().map(|(k, v)| (k.into(), v.into()));
        policy
            .environment
            .apply(vars)
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect()
    }

    const CALLER: &[(&str, &str)] = &[
        ("PATH", "/bin"),
        ("LC_ALL", "C"),
        ("CARGO_HOME", "/c"),
        ("GITHUB_TOKEN", "t"),
        ("MY_PASSWORD", "p"),
    ];

    fn names(vars: &[(String, String)]) -> Vec<&str> {
        vars.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn defaults_inherit_everything_but_credentials() {
        let out = env("", CALLER);
        assert_eq!(names(&out), ["CARGO_HOME", "LC_ALL", "MY_PASSWORD", "PATH"]);
    }

    #[test]
    fn inherit_include_exclude_and_set_compose() {
        let core = env("[environment]\ninherit = \"core\"\n", CALLER);
        assert_eq!(names(&core), ["LC_ALL", "PATH"]);
        let none = env(
            "[environment]\ninherit = \"none\"\ninclude = [\"CARGO_*\", \"GITHUB_TOKEN\"]\nset = { PATH = \"/x\", CI = \"1\" }\n",
            CALLER,
        );
        assert_eq!(
            none,
            [
                ("CARGO_HOME".into(), "/c".into()),
                ("CI".into(), "1".into()),
                ("GITHUB_TOKEN".into(), "t".into()),
                ("PATH".into(), "/x".into()),
            ]
        );
        let excluded = env(
            "[environment]\ninclude = [\"GITHUB_TOKEN\"]\nexclude = [\"*_PASSWORD\", \"GITHUB_*\"]\n",
            CALLER,
        );
        assert_eq!(names(&excluded), ["CARGO_HOME", "LC_ALL", "PATH"]);
    }

    #[test]
    fn bad_sections_name_the_entry() {
        for (text, entry) in [
            ("[environment]\ninherit = \"some\"\n", "environment.inherit"),
            ("[environment]\ninclude = \"X\"\n", "environment.include"),
            ("[environment]\nexclude = [\"[\"]\n", "environment.exclude"),
            ("[environment]\nset = { A = 1 }\n", "environment.set.A"),
            ("[environment]\nunset = []\n", "environment.unset"),
        ] {
            let e = Policy::parse(text, "bad.toml").unwrap_err();
            assert_eq!(e.entry, entry, "{text}");
            assert!(e.to_string().starts_with("bad.toml: entry"), "{e}");
        }
    }
}
