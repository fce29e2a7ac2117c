//! Why a command line was refused, in upstream bubblewrap's exact words.

use crate::error::strerror;
use nix::errno::Errno;
use std::fmt;

/// A refused command line. `Display` gives upstream's message (without the `bwrap: `
/// prefix); every refusal exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArgError {
    /// More than 9000 arguments, counting those read through `--args`.
    TooManyArgs(usize),
    /// An option without all the values it takes (`count` of them).
    Arity {
        /// The option as written.
        option: &'static str,
        /// How many values it takes.
        count: usize,
    },
    /// A descriptor value that is not a non-negative number.
    InvalidFd(String),
    /// `--uid`/`--gid` with a value that is not a non-negative number.
    InvalidId {
        /// `uid` or `gid`.
        what: &'static str,
        /// The value as given.
        value: String,
    },
    /// `--args` inside an `--args` file.
    NestedArgs,
    /// Reading the `--args` descriptor failed.
    ReadArgs(Errno),
    /// Reading an `--add-seccomp-fd` descriptor failed.
    ReadSeccomp(Errno),
    /// A seccomp program that is not a whole number of instructions.
    SeccompLength,
    /// `--seccomp` after `--add-seccomp-fd`.
    SeccompAfterAdd,
    /// `--add-seccomp-fd` after `--seccomp`.
    AddAfterSeccomp,
    /// `--argv0` given twice.
    Argv0Twice,
    /// `--setenv` with a name `setenv(3)` refuses.
    InvalidEnvName(String),
    /// `--cap-add`/`--cap-drop` with a name libcap does not know.
    UnknownCap(String),
    /// `--exec-label`/`--file-label` (no SELinux support).
    Labeling,
    /// `--perms` with a value that is not octal up to 07777.
    InvalidPerms,
    /// Two `--perms` for one option.
    PermsTwice,
    /// `--perms` not followed by an option that creates a file.
    PermsUnused,
    /// `--size` with zero or a value that is not a number.
    SizeNotPositive,
    /// `--size` above `SIZE_MAX / 2` (the limit).
    SizeTooLarge(u64),
    /// Two `--size` for one `--tmpfs`.
    SizeTwice,
    /// `--size` not followed by `--tmpfs`.
    SizeUnused,
    /// `--chmod` with a mode that is not octal up to 07777.
    InvalidChmod,
    /// `--overlay-src` not followed by an overlay option.
    OverlaySrcUnused,
    /// An overlay option with too few `--overlay-src` layers before it.
    TooFewLayers {
        /// The overlay option.
        option: &'static str,
        /// How many layers it needs at least (1 or 2).
        needed: usize,
    },
    /// `--debug-opt=force-openat-fallback`, which this implementation does not have.
    NoOpenatFallback,
    /// `--debug-opt=` with another value.
    UnknownDebugOpt(String),
    /// An option this bwrap does not know.
    UnknownOption(String),
    /// Options that do not go together, or a namespace the kernel lacks (the whole message).
    Combination(&'static str),
    /// No COMMAND: the usage text is printed bare on stderr.
    MissingCommand(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::TooManyArgs(max) => write!(f, "Exceeded maximum number of arguments {max}"),
            ArgError::Arity { option, count } => {
                let what = match (count, *option) {
                    (1, "--argv0") => "one argument",
                    (1, _) => "an argument",
                    (2, _) => "two arguments",
                    _ => "three arguments",
                };
                // Upstream names `--bind-fd` in `--ro-bind-fd`'s message too.
                let option = if *option == "--ro-bind-fd" {
                    "--bind-fd"
                } else {
                    option
                };
                write!(f, "{option} takes {what}")
            }
            ArgError::InvalidFd(value) => write!(f, "Invalid fd: {value}"),
            ArgError::InvalidId { what, value } => write!(f, "Invalid {what}: {value}"),
            ArgError::NestedArgs => f.write_str("--args not supported in arguments file"),
            ArgError::ReadArgs(e) => write!(f, "Can't read --args data: {}", strerror(*e)),
            ArgError::ReadSeccomp(e) => write!(f, "Can't read seccomp data: {}", strerror(*e)),
            ArgError::SeccompLength => f.write_str("Invalid seccomp data, must be multiple of 8"),
            ArgError::SeccompAfterAdd => {
                f.write_str("--seccomp cannot be combined with --add-seccomp-fd")
            }
            ArgError::AddAfterSeccomp => {
                f.write_str("--add-seccomp-fd cannot be combined with --seccomp")
            }
            ArgError::Argv0Twice => f.write_str("--argv0 used multiple times"),
            ArgError::InvalidEnvName(var) => write!(f, "setenv {var}: Invalid argument"),
            ArgError::UnknownCap(name) => write!(f, "unknown cap: {name}"),
            ArgError::Labeling => f.write_str("labeling not supported on this system"),
            ArgError::InvalidPerms => f.write_str("--perms takes an octal argument <= 07777"),
            ArgError::PermsTwice => f.write_str("--perms given twice for the same action"),
            ArgError::PermsUnused => {
                f.write_str("--perms must be followed by an option that creates a file")
            }
            ArgError::SizeNotPositive => f.write_str("--size takes a non-zero number of bytes"),
            ArgError::SizeTooLarge(limit) => write!(f, "--size (for tmpfs) is limited to {limit}"),
            ArgError::SizeTwice => f.write_str("--size given twice for the same action"),
            ArgError::SizeUnused => f.write_str("--size must be followed by --tmpfs"),
            ArgError::InvalidChmod => f.write_str("--chmod takes an octal argument <= 07777"),
            ArgError::OverlaySrcUnused => f.write_str(
                "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
            ),
            ArgError::TooFewLayers { option, needed } => {
                let count = if *needed == 2 { "two" } else { "one" };
                write!(f, "{option} requires at least {count} --overlay-src")
            }
            ArgError::NoOpenatFallback => f.write_str(
                "--debug-opt=force-openat-fallback: this implementation has no openat fallback; it needs openat2 (Linux 5.6+)",
            ),
            ArgError::UnknownDebugOpt(value) => write!(f, "Unknown --debug-opt value: {value}"),
            ArgError::UnknownOption(option) => write!(f, "Unknown option {option}"),
            ArgError::Combination(message) => f.write_str(message),
            ArgError::MissingCommand(usage) => f.write_str(usage),
        }
    }
}

impl std::error::Error for ArgError {}
