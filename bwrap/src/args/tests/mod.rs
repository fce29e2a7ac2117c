//! In-process tests of the parser: upstream's refusals, the ops a command line queues, and a
//! property test over random command lines. `Recorder` stands in for the process's effects.

mod cases;
mod property;

use super::{ArgError, Config, Effects, Parsed};
use nix::errno::Errno;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::RawFd;

/// One environment change, as `--setenv`, `--unsetenv` and `--clearenv` ask.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EnvChange {
    Set(OsString, OsString),
    Unset(OsString),
    Clear,
}

/// Records what parsing does; `fds` are the readable descriptors (read once, then closed).
#[derive(Default)]
struct Recorder {
    warnings: Vec<String>,
    level_prefix: bool,
    env: Vec<EnvChange>,
    fds: HashMap<RawFd, Vec<u8>>,
}

impl Effects for Recorder {
    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }

    fn level_prefix(&mut self) {
        self.level_prefix = true;
    }

    fn read_fd(&mut self, fd: RawFd) -> Result<Vec<u8>, Errno> {
        self.fds.remove(&fd).ok_or(Errno::EBADF)
    }

    fn set_env(&mut self, var: &OsStr, value: &OsStr) {
        self.env.push(EnvChange::Set(var.into(), value.into()));
    }

    fn unset_env(&mut self, var: &OsStr) {
        self.env.push(EnvChange::Unset(var.into()));
    }

    fn clear_env(&mut self) {
        self.env.push(EnvChange::Clear);
    }
}

fn argv<S: AsRef<OsStr>>(args: &[S]) -> Vec<OsString> {
    std::iter::once(OsString::from("bwrap"))
        .chain(args.iter().map(|a| a.as_ref().to_os_string()))
        .collect()
}

/// Parses `args` (after `argv[0]`) with `effects`.
fn parse_with<S: AsRef<OsStr>>(args: &[S], effects: &mut Recorder) -> Result<Parsed, ArgError> {
    super::parse_args(&argv(args), effects)
}

/// Parses `args` that must be a valid sandbox request.
fn config<S: AsRef<OsStr>>(args: &[S]) -> (Config, Recorder) {
    let mut effects = Recorder::default();
    match parse_with(args, &mut effects) {
        Ok(Parsed::Run(cfg)) => (*cfg, effects),
        other => panic!("{:?}: {other:?}", argv(args)),
    }
}

/// The refusal for `args`, as upstream words it.
fn refusal<S: AsRef<OsStr>>(args: &[S]) -> String {
    match parse_with(args, &mut Recorder::default()) {
        Err(err) => err.to_string(),
        other => panic!("{:?} was accepted: {other:?}", argv(args)),
    }
}
