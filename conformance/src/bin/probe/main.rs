//! `probe`: small, dependable actions for conformance cases, so that cases don't depend on
//! which shell tools a host has.
//!
//! usage: probe ACTION [ARGS...]   (`probe help` lists the actions)
//!
//! Exit status: 0 when the action succeeded, 1 when it failed (with `probe: ACTION ARG:
//! error` on stderr), 2 for a usage error. Actions that report state print `key: value`
//! lines on stdout.

mod fs;
mod ipc;
mod net;
mod process;
mod shim;

use std::process::ExitCode;

/// Why an action failed, printed after `probe: `.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A system or library call about `what` failed.
    #[error("{action} {what}: {error}")]
    Call {
        /// The action (or the call) that failed.
        action: String,
        /// What it was about (a path, a key, an address).
        what: String,
        /// Why.
        error: Box<dyn std::error::Error>,
    },
    /// The calls succeeded but the action did not see what it should have.
    #[error("{0}")]
    Unexpected(String),
}

/// The result of an action.
pub type Outcome = Result<(), Failure>;

/// A failed syscall or library call about `what`.
pub fn fail(action: &str, what: &str, err: impl std::error::Error + 'static) -> Failure {
    Failure::Call {
        action: action.to_owned(),
        what: what.to_owned(),
        error: Box::new(err),
    }
}

const ACTIONS: &str = "\
files:    read PATH | write PATH TEXT | append PATH TEXT | mkdir PATH | remove PATH
          rename FROM TO | symlink TARGET LINK | stat PATH | statfs PATH | exists PATH
          list DIR
          read-all DIR (every file below, following symlinks; prints PATH: CONTENTS)
sysv ipc: shmat ID | shmctl ID | shmget KEY | semget KEY | semctl ID | msgget KEY | msgctl ID
          sysv-list (every visible shm/sem/msg object, without /proc)
posix:    mq-open NAME | mq-create NAME | shm-open NAME | sem-open NAME
network:  socket FAMILY [TYPE] | socketpair | connect-tcp HOST:PORT
          connect-unix-abstract NAME | bind-tcp HOST:PORT | bind-unix PATH
process:  caps | pid | sid | ns KIND | proc-pids | kill0 PID | ptrace | process-vm-readv | io-uring
          signal SIG | exit N
          sleep SECS [LABEL...] | print TEXT... | env NAME
bwrap:    bwrap-shim --real PATH [--hide OPTION]... [--drop OPTION:N[:TEXT]]...
          [--drop-inner ACTION[:TEXT]]... [--log FILE] -- ARGS...";

fn usage(msg: &str) -> ExitCode {
    eprintln!("probe: {msg}\nusage: probe ACTION [ARGS...]\n{ACTIONS}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((action, rest)) = args.split_first() else {
        return usage("no action given");
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    if action == "help" {
        println!("{ACTIONS}");
        return ExitCode::SUCCESS;
    }
    let outcome = fs::dispatch(action, &rest)
        .or_else(|| ipc::dispatch(action, &rest))
        .or_else(|| net::dispatch(action, &rest))
        .or_else(|| process::dispatch(action, &rest))
        .or_else(|| shim::dispatch(action, &rest));
    match outcome {
        None => usage(&format!("unknown action {action:?}")),
        Some(Err(Usage(msg))) => usage(&msg),
        Some(Ok(Ok(()))) => ExitCode::SUCCESS,
        Some(Ok(Err(msg))) => {
            eprintln!("probe: {msg}");
            ExitCode::from(1)
        }
    }
}

/// A usage error: wrong number or shape of arguments.
#[derive(Debug)]
pub struct Usage(pub String);

/// What a module's `dispatch` returns: `None` when it does not know the action.
pub type Dispatched = Option<Result<Outcome, Usage>>;

/// Checks that exactly `n` arguments were given.
pub fn args<'a, const N: usize>(action: &str, rest: &[&'a str]) -> Result<[&'a str; N], Usage> {
    <[&str; N]>::try_from(rest).map_err(|_| {
        Usage(format!(
            "{action} takes {N} argument(s), got {}",
            rest.len()
        ))
    })
}

/// Parses a decimal or `0x` hexadecimal integer argument.
pub fn number(action: &str, text: &str) -> Result<i64, Usage> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| Usage(format!("{action}: {text:?} is not a number")))
}
