//! The `sandbox` command line: subcommand dispatch, `--help`, `--version`.
//!
//! Each subcommand lives in its own file with a `main(args) -> i32`. Failures of the
//! sandbox itself print a message starting `sandbox:` and exit [`exit::FAILURE`] (125),
//! or [`exit::DIGEST_MISMATCH`] (122) when the bundled bwrap is not the one built with
//! `sandbox` (`fail_error`). The library prints nothing itself: its
//! [`Notice`](crate::Notice)s are printed here (`print_notice`).

pub mod doctor;
mod explain;
mod options;
mod run;

use std::ffi::OsString;

use crate::exit;
pub(crate) use options::{UsageError, parse_common};

const USAGE: &str = "\
usage: sandbox run [OPTIONS] -- COMMAND [ARGS...]
       sandbox explain [OPTIONS] [--json | --plain] -- COMMAND [ARGS...]
       sandbox doctor [--json] [--bwrap PATH] [--cwd DIR]
       sandbox --help | --version

Run COMMAND under a filesystem and network policy, with bwrap and seccomp.

Subcommands:
  run       run the command; exit with its status (128+N if killed by signal N)
  explain   print the exact bwrap command line, one token per line (--json: an object;
            --plain: what the plan does per policy entry, in words)
  doctor    report what this host gives the sandbox, each problem with its fix
            (exit 0 when nothing failed, 1 otherwise)

Options:
  --policy FILE   policy in TOML (or JSON: .json extension or content starting with '{')
                  default: \":root\" read; the workspace, /tmp (\":slash_tmp\") and $TMPDIR
                  (\":tmpdir\") write, each with .git/.codex/.agents/.aws read-only;
                  network restricted
  --no-writable-tmp
                  drop the policy's \":tmpdir\" and \":slash_tmp\" write entries: /tmp and
                  $TMPDIR get what encloses them (read-only under the default policy)
  --cwd DIR       workspace root and working directory (default: the current directory)
  --no-proc       do not mount /proc; the host's /proc is hidden too
  --bwrap PATH    the bwrap binary to use
  --pass-fd N     pass this process's descriptor N on to the command (repeatable); without
                  it the command gets only 0, 1 and 2, whatever the caller left open
  --verbose       run: print what the plan does per policy entry on stderr first
  --legacy-landlock
                  run: no bwrap; Landlock, seccomp and no_new_privs in-process (only for
                  policies that mean the same: :root read, writable roots, nothing else)
  --legacy-unprotected-metadata
                  legacy mode only: accept that .git/.codex/.agents/.aws under writable
                  roots stay writable (Landlock cannot protect them), warned on every run;
                  the same as `legacy_unprotected_metadata = true` in the policy

The command's environment gets SANDBOX_ACTIVE=1, SANDBOX_ENFORCER (bwrap|landlock),
SANDBOX_NETWORK (restricted|enabled|proxy), SANDBOX_WRITABLE_ROOTS (':'-separated) and,
unless the network is enabled, CODEX_SANDBOX_NETWORK_DISABLED=1.

Exit status: the command's; 125 when the sandbox itself fails or refuses; 122 when the
bundled bwrap does not match the digest compiled into sandbox (reinstall sandbox).";

/// Runs the CLI with `args` (without `argv[0]`) and returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let Some(first) = args.first() else {
        eprintln!("sandbox: missing subcommand\n{USAGE}");
        return exit::FAILURE;
    };
    let rest = &args[1..];
    match first.to_str() {
        Some("run") => run::main(rest),
        Some("explain") => explain::main(rest),
        Some("doctor") => doctor::main(rest),
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
            exit::FAILURE
        }
    }
}

/// Prints what the library reports on the way (warnings, the `--verbose` plan) on stderr,
/// as it comes.
pub(crate) fn print_notice(notice: crate::Notice) {
    eprintln!("{notice}");
}

/// Prints a sandbox failure and returns [`exit::FAILURE`].
pub(crate) fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("sandbox: {message}");
    exit::FAILURE
}

/// Prints a sandbox error and returns its exit status: the launcher's own status for a
/// launch failure (122 for a bundled-bwrap digest mismatch), else [`exit::FAILURE`].
pub(crate) fn fail_error(error: crate::SandboxError) -> i32 {
    let status = match &error {
        crate::SandboxError::Launch(e) => e.exit_status(),
        _ => exit::FAILURE,
    };
    eprintln!("sandbox: {error}");
    status
}
