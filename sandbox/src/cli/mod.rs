//! The `sandbox` command line: subcommand dispatch, `--help`, `--version`.
//!
//! Each subcommand lives in its own file with a `main(args) -> i32`. Failures of the
//! sandbox itself print a message starting `sandbox:` and exit [`FAILURE_STATUS`] (125).

mod explain;
mod options;
mod run;

use std::ffi::OsString;

pub use crate::inner::FAILURE_STATUS;
pub use options::{CommonOptions, parse_common};

const USAGE: &str = "\
usage: sandbox run [OPTIONS] -- COMMAND [ARGS...]
       sandbox explain [OPTIONS] [--json] -- COMMAND [ARGS...]
       sandbox --help | --version

Run COMMAND under a filesystem and network policy, with bwrap and seccomp.

Subcommands:
  run       run the command; exit with its status (128+N if killed by signal N)
  explain   print the exact bwrap command line, one token per line (--json: an object)

Options:
  --policy FILE   policy in TOML (or JSON: .json extension or content starting with '{')
                  default: \":root\" read, the workspace and \":tmpdir\" write, network restricted
  --cwd DIR       workspace root and working directory (default: the current directory)
  --no-proc       do not mount /proc; the host's /proc is hidden too
  --bwrap PATH    the bwrap binary to use

Exit status: the command's; 125 when the sandbox itself fails or refuses.";

/// Runs the CLI with `args` (without argv[0]) and returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let Some(first) = args.first() else {
        eprintln!("sandbox: missing subcommand\n{USAGE}");
        return FAILURE_STATUS;
    };
    let rest = &args[1..];
    match first.to_str() {
        Some("run") => run::main(rest),
        Some("explain") => explain::main(rest),
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            0
        }
        Some("--version" | "-V") => {
            println!("sandbox {}", env!("CARGO_PKG_VERSION"));
            0
        }
        _ => {
            eprintln!("sandbox: unknown subcommand {first:?}\n{USAGE}");
            FAILURE_STATUS
        }
    }
}

/// Prints a sandbox failure and returns [`FAILURE_STATUS`].
pub(crate) fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("sandbox: {message}");
    FAILURE_STATUS
}
