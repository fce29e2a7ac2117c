//! Helpers to run the built `bwrap` as root and as the unprivileged `bwraptest` user.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BWRAP: &str = env!("CARGO_BIN_EXE_bwrap");

/// The unprivileged account used for the user-namespace runs.
pub const TEST_USER: &str = "bwraptest";

/// Who runs bwrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Root,
    User,
}

/// Whether tests for `caller` can run here; prints why not otherwise.
pub fn available(caller: Caller) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = match caller {
        Caller::Root => root,
        Caller::User => {
            root && Command::new("id")
                .arg(TEST_USER)
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        }
    };
    if !ok {
        eprintln!("SKIP: cannot run as {caller:?} here (need root, and user {TEST_USER} for User)");
    }
    ok
}

/// Builds the command that runs bwrap with `args` as `caller`.
pub fn command(caller: Caller, args: &[&str]) -> Command {
    let mut cmd = match caller {
        Caller::Root => Command::new(BWRAP),
        Caller::User => {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid",
                TEST_USER,
                "--regid",
                TEST_USER,
                "--init-groups",
                "--reset-env",
                BWRAP,
            ]);
            c
        }
    };
    cmd.args(args).current_dir("/").stdin(Stdio::null());
    cmd
}

/// Runs bwrap with `args` as `caller` and collects its output.
pub fn run(caller: Caller, args: &[&str]) -> Output {
    command(caller, args).output().expect("spawn bwrap")
}

/// Stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The usual base: the host root read-only, a fresh /dev, /proc and /tmp.
pub const BASE: &[&str] = &[
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
];

/// `BASE` + `extra` + `sh -c script`.
pub fn sh(caller: Caller, extra: &[&str], script: &str) -> Output {
    let mut args: Vec<&str> = BASE.to_vec();
    args.extend_from_slice(extra);
    args.extend_from_slice(&["sh", "-c", script]);
    run(caller, &args)
}
