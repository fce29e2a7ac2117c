//! Parsing the `[limits]` section (see [`Limits`]).

use serde_json::Value;

use super::Parser;
use crate::policy::error::PolicyError;
use crate::policy::limits::Limits;

impl Parser<'_> {
    /// Parses `[limits]`.
    pub(super) fn limits(&self, value: &Value) -> Result<Limits, PolicyError> {
        let mut limits = Limits::default();
        for (key, value) in self.table(value, "limits")? {
            let name = format!("limits.{key}");
            let slot = match key.as_str() {
                "processes" => &mut limits.processes,
                "open_files" => &mut limits.open_files,
                "address_space" => &mut limits.address_space,
                "memory" => {
                    return Err(self.err(
                        &name,
                        "the sandbox sets no cgroup memory limit (it creates no cgroups: a delegated cgroup v2 subtree is rarely available and the limit would otherwise not hold)",
                        "run sandbox under a cgroup manager, e.g. `systemd-run --user --scope -p MemoryMax=4G sandbox run ...`, or use limits.address_space",
                    ));
                }
                _ => {
                    return Err(self.unknown_key(
                        &name,
                        "use only processes, open_files and address_space in [limits]",
                    ));
                }
            };
            *slot = Some(value.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                self.err(
                    &name,
                    format!("must be an integer >= 1, got {value}"),
                    "write a positive integer, or remove the key for no limit",
                )
            })?);
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    #[test]
    fn parses_limits() {
        let p = Policy::parse(
            "[limits]\nprocesses = 64\nopen_files = 100\naddress_space = 1073741824\n",
            "p.toml",
        )
        .unwrap();
        assert_eq!(p.limits.processes, Some(64));
        assert_eq!(p.limits.open_files, Some(100));
        assert_eq!(p.limits.address_space, Some(1 << 30));
    }
}
