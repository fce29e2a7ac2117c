//! The options `run` and `explain` share, and building the [`SandboxCommand`] from them.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{Policy, SandboxCommand};

/// Parsed common options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonOptions {
    /// `--policy FILE`.
    pub policy: Option<PathBuf>,
    /// `--cwd DIR`.
    pub cwd: Option<PathBuf>,
    /// `--no-proc`.
    pub no_proc: bool,
    /// `--bwrap PATH`.
    pub bwrap: Option<PathBuf>,
    /// `--json` (explain only; refused by `run`).
    pub json: bool,
    /// `--plain` (explain only): the plan in plain words instead of the argv.
    pub plain: bool,
    /// `--verbose` (run only): the plan in plain words on stderr before running.
    pub verbose: bool,
    /// `--legacy-landlock` (run only; refused by `explain`).
    pub legacy_landlock: bool,
    /// `--pass-fd N`, repeatable: descriptors passed on to the command.
    pub pass_fds: Vec<i32>,
    /// `--legacy-unprotected-metadata`: the policy's `legacy_unprotected_metadata = true`.
    pub legacy_unprotected_metadata: bool,
    /// `--no-writable-tmp`: drop the policy's `:tmpdir`/`:slash_tmp` write entries.
    pub no_writable_tmp: bool,
    /// The command and its arguments.
    pub command: Vec<OsString>,
}

/// Parses `[OPTIONS] [--] COMMAND [ARGS...]`. Options take `--opt VALUE` or `--opt=VALUE`;
/// the first `--` or non-option argument starts the command.
pub fn parse_common(args: &[OsString]) -> Result<CommonOptions, UsageError> {
    let mut out = CommonOptions::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        if arg == "--" {
            i += 1;
            break;
        }
        if !arg.starts_with("--") {
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(OsString::from(v))),
            None => (arg.to_string(), None),
        };
        let mut value = || -> Result<PathBuf, UsageError> {
            if let Some(v) = inline.clone() {
                return Ok(v.into());
            }
            i += 1;
            args.get(i)
                .map(PathBuf::from)
                .ok_or_else(|| UsageError::NeedsValue(name.clone()))
        };
        match name.as_str() {
            "--policy" => out.policy = Some(value()?),
            "--cwd" => out.cwd = Some(value()?),
            "--bwrap" => out.bwrap = Some(value()?),
            "--no-proc" if inline.is_none() => out.no_proc = true,
            "--json" if inline.is_none() => out.json = true,
            "--plain" if inline.is_none() => out.plain = true,
            "--verbose" if inline.is_none() => out.verbose = true,
            "--legacy-landlock" if inline.is_none() => out.legacy_landlock = true,
            "--pass-fd" => {
                let fd = value()?;
                let fd = fd
                    .to_str()
                    .and_then(|n| n.parse().ok())
                    .filter(|n: &i32| *n >= 0)
                    .ok_or(UsageError::NotADescriptor(fd))?;
                out.pass_fds.push(fd);
            }
            "--no-writable-tmp" if inline.is_none() => out.no_writable_tmp = true,
            "--legacy-unprotected-metadata" if inline.is_none() => {
                out.legacy_unprotected_metadata = true
            }
            _ => return Err(UsageError::UnknownOption(arg.into_owned())),
        }
        i += 1;
    }
    out.command = args[i..].to_vec();
    if out.command.is_empty() {
        return Err(UsageError::MissingCommand);
    }
    Ok(out)
}

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// An option that takes a value came last.
    #[error("{0} needs a value")]
    NeedsValue(String),
    /// `--pass-fd` with something other than a descriptor number.
    #[error("--pass-fd needs a descriptor number, got {0:?}")]
    NotADescriptor(PathBuf),
    /// An option `run` and `explain` do not know.
    #[error("unknown option {0}; see sandbox --help")]
    UnknownOption(String),
    /// An option `doctor` does not know.
    #[error("unknown doctor option {0:?}; see sandbox --help")]
    UnknownDoctorOption(OsString),
    /// No command after the options.
    #[error("missing command after `--`; see sandbox --help")]
    MissingCommand,
}

impl CommonOptions {
    /// The sandboxed command these options describe (reads the policy file).
    pub fn command(&self) -> Result<SandboxCommand, crate::SandboxError> {
        let mut command = SandboxCommand::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .no_proc(self.no_proc)
            .verbose(self.verbose)
            .legacy_landlock(self.legacy_landlock);
        let mut policy = match &self.policy {
            Some(file) => Policy::from_file(file)?,
            None => Policy::default(),
        };
        policy.legacy_unprotected_metadata |= self.legacy_unprotected_metadata;
        command.policy(if self.no_writable_tmp {
            policy.without_writable_tmp()
        } else {
            policy
        });
        if let Some(dir) = &self.cwd {
            command.cwd(dir);
        }
        if let Some(bwrap) = &self.bwrap {
            command.bwrap(bwrap);
        }
        for &fd in &self.pass_fds {
            command.pass_fd(fd);
        }
        Ok(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_options_then_the_command_verbatim() {
        let o = parse_common(&os(&[
            "--policy=p.toml",
            "--cwd",
            "/w",
            "--no-proc",
            "--pass-fd",
            "3",
            "--pass-fd=7",
            "--",
            "ls",
            "--cwd",
            "x",
        ]))
        .unwrap();
        assert_eq!(o.policy, Some(PathBuf::from("p.toml")));
        assert_eq!(o.cwd, Some(PathBuf::from("/w")));
        assert!(o.no_proc);
        assert_eq!(o.pass_fds, [3, 7]);
        assert_eq!(o.command, os(&["ls", "--cwd", "x"]));
    }

    #[test]
    fn refuses_unknown_options_and_missing_commands() {
        assert!(parse_common(&os(&["--bogus", "--", "ls"])).is_err());
        assert!(parse_common(&os(&["--cwd"])).is_err());
        assert!(parse_common(&os(&["--pass-fd", "x", "--", "ls"])).is_err());
        assert!(parse_common(&os(&["--no-proc", "--"])).is_err());
    }
}
