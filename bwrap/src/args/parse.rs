//! The left-to-right argument parser (upstream's `parse_args_recurse`), driven by the option
//! table it is given: each [`Spec`] names an option, its values and what parsing it does.

use super::Config;
use super::effects::Effects;
use super::error::ArgError;
use crate::diag::show;
use std::ffi::OsString;
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Most arguments bwrap accepts in total, counting those read through `--args`.
pub(super) const MAX_ARGS: usize = 9000;

/// Parses the whole command line (`argv[0]` included) with the option table `options` into a
/// configuration, or why it stopped: `--help`, `--version` or upstream's refusal.
pub(super) fn parse(
    argv: &[OsString],
    options: &'static [Spec],
    effects: &mut dyn Effects,
) -> Result<Box<Config>, Halt> {
    if argv.len() > MAX_ARGS {
        return Err(ArgError::TooManyArgs(MAX_ARGS).into());
    }
    let mut parser = Parser {
        options,
        effects,
        cfg: Config::default(),
        perms: None,
        size: None,
        overlay_sources: Vec::new(),
        total_args: argv.len(),
        tmp_overlays: 0,
        in_args_file: false,
    };
    let rest = argv.get(1..).unwrap_or_default();
    let used = parser.parse_list(rest)?;
    parser.check_overlay_src_consumed()?;
    let mut cfg = parser.cfg;
    cfg.command = rest[used..].to_vec();
    cfg.invoked_as = invoked_as(argv);
    Ok(Box::new(cfg))
}

/// `argv[0]` for messages and `--help` (`bwrap` when there is none).
pub(super) fn invoked_as(argv: &[OsString]) -> String {
    argv.first()
        .map(|a| show(a.as_bytes()))
        .unwrap_or_else(|| "bwrap".into())
}

/// Why parsing stopped before the end.
pub(super) enum Halt {
    /// The command line was refused.
    Refused(ArgError),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

impl From<ArgError> for Halt {
    fn from(err: ArgError) -> Halt {
        Halt::Refused(err)
    }
}

/// What an option does when parsed.
#[derive(Clone, Copy)]
pub(super) enum Run {
    /// Sets a flag in the configuration.
    Set(fn(&mut Config)),
    /// Anything else, with the option's values.
    Call(fn(&mut Parser, &Call) -> Result<(), Halt>),
}

/// Which pending modifiers an option leaves for the next one instead of refusing them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Keeps {
    /// None: a pending `--perms`, `--size` or `--overlay-src` must have been consumed.
    Nothing,
    /// `--overlay-src`: more layers may follow.
    Sources,
    /// `--perms` and `--size`: they are the modifiers.
    All,
}

/// One option.
pub(super) struct Spec {
    /// The option as written, e.g. `--bind`.
    pub(super) name: &'static str,
    /// The names of the values that follow it, e.g. `["SRC", "DEST"]`.
    pub(super) values: &'static [&'static str],
    /// Its `--help` description; further lines are printed below it. Empty: not listed.
    pub(super) help: &'static [&'static str],
    /// What parsing it does.
    pub(super) run: Run,
    /// The pending modifiers it leaves alone.
    pub(super) keeps: Keeps,
}

/// The parser's state between options.
pub(super) struct Parser<'e> {
    /// The option table.
    options: &'static [Spec],
    pub(super) effects: &'e mut dyn Effects,
    pub(super) cfg: Config,
    /// Pending `--perms`, for the next op that creates a file.
    pub(super) perms: Option<u32>,
    /// Pending `--size`, for the next `--tmpfs`.
    pub(super) size: Option<u64>,
    /// Pending `--overlay-src` layers, for the next overlay op.
    pub(super) overlay_sources: Vec<OsString>,
    total_args: usize,
    pub(super) tmp_overlays: usize,
    in_args_file: bool,
}

/// One option as met on the command line: its name and exactly the values it takes.
pub(super) struct Call<'a> {
    pub(super) name: &'static str,
    pub(super) values: &'a [OsString],
}

impl Call<'_> {
    /// The value at `index` as a descriptor number.
    pub(super) fn fd(&self, index: usize) -> Result<RawFd, ArgError> {
        let value = self.values[index].as_bytes();
        match super::value::parse_nonneg_int(value) {
            Some(fd) => Ok(fd as RawFd),
            None => Err(ArgError::InvalidFd(show(value))),
        }
    }
}

impl Parser<'_> {
    /// Parses options until the first non-option; returns how many arguments were used.
    fn parse_list(&mut self, args: &[OsString]) -> Result<usize, Halt> {
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_bytes();
            if arg == b"--" {
                return Ok(i + 1);
            }
            if !arg.starts_with(b"-") {
                return Ok(i);
            }
            let spec = lookup(self.options, &String::from_utf8_lossy(arg))?;
            let rest = &args[i + 1..];
            // Upstream refuses a nested `--args` before it counts the option's argument.
            if spec.name == "--args" && self.in_args_file {
                return Err(ArgError::NestedArgs.into());
            }
            let count = spec.values.len();
            if rest.len() < count {
                return Err(ArgError::Arity {
                    option: spec.name,
                    count,
                }
                .into());
            }
            let call = Call {
                name: spec.name,
                values: &rest[..count],
            };
            match spec.run {
                Run::Set(set) => set(&mut self.cfg),
                Run::Call(handle) => handle(self, &call)?,
            }
            self.check_modifiers_consumed(spec.keeps)?;
            i += 1 + count;
        }
        Ok(i)
    }

    /// Refuses a pending `--perms`, `--size` or `--overlay-src` that the option just parsed
    /// did not consume (unless it is one of those modifiers itself).
    fn check_modifiers_consumed(&self, keeps: Keeps) -> Result<(), ArgError> {
        if keeps == Keeps::All {
            return Ok(());
        }
        if self.perms.is_some() {
            return Err(ArgError::PermsUnused);
        }
        if self.size.is_some() {
            return Err(ArgError::SizeUnused);
        }
        if keeps == Keeps::Nothing {
            self.check_overlay_src_consumed()?;
        }
        Ok(())
    }

    fn check_overlay_src_consumed(&self) -> Result<(), ArgError> {
        if self.overlay_sources.is_empty() {
            Ok(())
        } else {
            Err(ArgError::OverlaySrcUnused)
        }
    }

    /// Stores a global setting where the last option wins, with upstream's warning.
    pub(super) fn last_wins<T>(
        &mut self,
        option: &str,
        value: T,
        slot: fn(&mut Config) -> &mut Option<T>,
    ) {
        if slot(&mut self.cfg).replace(value).is_some() {
            self.effects
                .warn(&format!("Only the last {option} option will take effect"));
        }
    }

    /// `--args FD`: parses the NUL-separated arguments read from `fd` in place.
    pub(super) fn args_file(&mut self, call: &Call) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        let data = self.effects.read_fd(fd).map_err(ArgError::ReadArgs)?;
        let spliced = split_nul(&data);
        self.total_args += spliced.len();
        if self.total_args > MAX_ARGS {
            return Err(ArgError::TooManyArgs(MAX_ARGS).into());
        }
        self.in_args_file = true;
        // Upstream ignores what follows the file's options.
        let result = self.parse_list(&spliced);
        self.in_args_file = false;
        result.map(drop)
    }
}

/// The option named `option` in `options` (a `--debug-opt=` value not in the table is refused
/// as such).
fn lookup(options: &'static [Spec], option: &str) -> Result<&'static Spec, ArgError> {
    if let Some(spec) = options.iter().find(|spec| spec.name == option) {
        return Ok(spec);
    }
    Err(match option.strip_prefix("--debug-opt=") {
        Some(value) => ArgError::UnknownDebugOpt(value.to_string()),
        None => ArgError::UnknownOption(option.to_string()),
    })
}

/// NUL-separated arguments (a trailing NUL is optional).
fn split_nul(data: &[u8]) -> Vec<OsString> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\0").unwrap_or(data);
    body.split(|b| *b == 0)
        .map(|s| OsString::from_vec(s.to_vec()))
        .collect()
}
