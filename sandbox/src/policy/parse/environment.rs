//! Parsing the `[environment]` section (see [`EnvPolicy`]).

use globset::Glob;
use serde_json::Value;

use super::Parser;
use crate::policy::environment::{EnvPolicy, Inherit};
use crate::policy::error::PolicyError;

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
                    return Err(self.unknown_key(
                        &name,
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
