//! Asking a bwrap binary what it supports, once, through `--help`.

use std::process::Command;
use std::time::Duration;

use crate::host::child::run_with_timeout;

/// Options every plan may use; a bwrap whose `--help` lacks one of them is not used.
/// `--perms` and `--size` arrived in bubblewrap 0.5.0 and are what old distributions lack.
/// A test (in `run::argv`) keeps this list in step with what [`crate::plan`] emits.
pub const REQUIRED_OPTIONS: &[&str] = &[
    "--as-pid-1",
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-net",
    "--die-with-parent",
    "--new-session",
    "--info-fd",
    "--cap-drop",
    "--chdir",
    "--ro-bind",
    "--bind",
    "--ro-bind-data",
    "--remount-ro",
    "--tmpfs",
    "--size",
    "--dir",
    "--symlink",
    "--dev",
    "--proc",
    "--perms",
    "--info-fd",
];

/// The option that bubblewrap 0.9.0 added; without it the inner stage is reached through
/// the basename-dispatch compatibility path.
pub const ARGV0_OPTION: &str = "--argv0";

/// A `--help` that does not finish within this time is a failed probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What a bwrap's `--help` advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Required options (see [`REQUIRED_OPTIONS`]) that the help text does not list.
    pub missing: Vec<&'static str>,
    /// Whether `--argv0` is listed.
    pub argv0: bool,
}

impl Capabilities {
    /// Reads the capabilities from a help text (stdout and stderr together).
    pub fn from_help(help: &str) -> Self {
        let listed = |option: &str| {
            help.split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                .any(|word| word == option)
        };
        Capabilities {
            missing: REQUIRED_OPTIONS
                .iter()
                .copied()
                .filter(|o| !listed(o))
                .collect(),
            argv0: listed(ARGV0_OPTION),
        }
    }

    /// Whether the plan can run through this bwrap.
    pub fn usable(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Why a bwrap's `--help` gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The binary could not be started.
    #[error("cannot run it: {0}")]
    Spawn(std::io::Error),
    /// It did not finish within the probe's deadline.
    #[error("`--help` did not finish within {}s", .0.as_secs())]
    Timeout(Duration),
}

/// Runs `<bwrap> --help`. `bwrap` is a command with the program (and argv\[0\]) set.
pub fn probe_help(mut bwrap: Command) -> Result<Capabilities, ProbeError> {
    let out = run_with_timeout(bwrap.arg("--help"), PROBE_TIMEOUT).map_err(ProbeError::Spawn)?;
    if out.status.is_none() {
        return Err(ProbeError::Timeout(PROBE_TIMEOUT));
    }
    Ok(Capabilities::from_help(&out.combined()))
}

/// The first line of `<bwrap> --version` (e.g. `bubblewrap 0.8.0`), or `unknown version`.
pub fn probe_version(mut bwrap: Command) -> String {
    run_with_timeout(bwrap.arg("--version"), PROBE_TIMEOUT)
        .ok()
        .filter(|out| out.status.is_some_and(|s| s.success()))
        .and_then(|out| out.stdout.lines().next().map(str::trim).map(str::to_owned))
        .filter(|line| !line.is_empty())
        .unwrap_or_else(|| "unknown version".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help_with(options: &[&str]) -> String {
        options
            .iter()
            .map(|o| format!("    {o} ARG   Does something\n"))
            .collect()
    }

    #[test]
    fn full_help_is_usable_and_reports_argv0() {
        let mut all = REQUIRED_OPTIONS.to_vec();
        all.push("--argv0");
        let caps = Capabilities::from_help(&help_with(&all));
        assert!(caps.usable());
        assert!(caps.argv0);
    }

    #[test]
    fn help_without_argv0_is_usable_without_argv0() {
        let caps = Capabilities::from_help(&help_with(REQUIRED_OPTIONS));
        assert!(caps.usable());
        assert!(!caps.argv0);
    }

    #[test]
    fn help_without_perms_is_not_usable_and_names_it() {
        let without: Vec<_> = REQUIRED_OPTIONS
            .iter()
            .copied()
            .filter(|o| *o != "--perms")
            .collect();
        let caps = Capabilities::from_help(&help_with(&without));
        assert!(!caps.usable());
        assert_eq!(caps.missing, vec!["--perms"]);
    }

    #[test]
    fn an_option_prefix_does_not_count_as_the_option() {
        let caps = Capabilities::from_help("--bind-try SRC DEST\n--argv0-ish\n");
        assert!(caps.missing.contains(&"--bind"));
        assert!(!caps.argv0);
    }

    #[test]
    fn debian_bubblewrap_is_usable_without_argv0() {
        let path = std::path::Path::new("/usr/bin/bwrap");
        if !path.exists() {
            return crate::testing::skip("/usr/bin/bwrap is not installed");
        }
        let caps = probe_help(Command::new(path)).unwrap();
        assert!(caps.usable(), "missing {:?}", caps.missing);
        let version = probe_version(Command::new(path));
        assert!(version.starts_with("bubblewrap "), "{version}");
        if version == "bubblewrap 0.8.0" {
            assert!(!caps.argv0);
        }
    }
}
