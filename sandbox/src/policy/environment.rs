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
        let include = matcher(&self.include);
        let exclude = matcher(&self.exclude);
        let core = |name: &str| CORE.contains(&name) || name.starts_with("LC_");
        let mut out: BTreeMap<OsString, OsString> = BTreeMap::new();
        for (key, value) in vars {
            let name = key.to_string_lossy();
            let included = include(name.as_ref());
            let inherited = match self.inherit {
                Inherit::All => true,
                Inherit::Core => core(&name),
                Inherit::None => false,
            };
            let credential = CREDENTIALS.contains(&name.as_ref()) && !included;
            if (inherited || included) && !credential && !exclude(name.as_ref()) {
                out.insert(key, value);
            }
        }
        for (key, value) in &self.set {
            out.insert(key.into(), value.into());
        }
        out.into_iter().collect()
    }
}

/// Whether a name matches any of `patterns`. No patterns (the usual case) match nothing
/// without building a glob set: matching through one costs a run the CPU-feature detection
/// of the string search behind it (`cpuid` instructions, which trap to the hypervisor in a
/// VM, ~0.1 ms).
fn matcher(patterns: &[String]) -> impl Fn(&str) -> bool {
    // Patterns were checked when parsing; a failure here cannot happen (it would match
    // nothing).
    let set = (!patterns.is_empty())
        .then(|| globs(patterns).ok())
        .flatten();
    move |name| set.as_ref().is_some_and(|set| set.is_match(name))
}

fn globs(patterns: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(Glob::new(pattern)?);
    }
    builder.build()
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
}
