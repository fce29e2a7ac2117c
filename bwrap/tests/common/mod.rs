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

/// Ends a test whose prerequisite this host lacks: under CI (`CI` set and non-empty, where
/// every prerequisite is installed) the test fails with `reason`, so it can't pass without
/// running; elsewhere it prints `skipped: <reason>` for the test to return (`return skip(..)`).
#[track_caller]
pub fn skip(reason: impl std::fmt::Display) {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    assert!(!ci, "CI is set, so a missing prerequisite fails: {reason}");
    eprintln!("skipped: {reason}");
}

/// Whether tests for `caller` can run here, or why not (for [`skip`]).
pub fn available(caller: Caller) -> Result<(), String> {
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
        return Err(format!(
            "cannot run as {caller:?} here (need root, and user {TEST_USER} for User)"
        ));
    }
    Ok(())
}

/// Builds the command that runs bwrap with `args` as `caller`.
pub fn command(caller: Caller, args: &[&str]) -> Command {
    let mut cmd = as_caller(caller, BWRAP);
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

/// Makes each `(fd, target)` pair appear as fd `target` in the child of `cmd`.
pub fn pass_fds(cmd: &mut Command, fds: Vec<(i32, i32)>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe fcntl/dup2 calls run between fork and exec. Every
    // source is first moved above the targets so no dup2 clobbers another source.
    unsafe {
        cmd.pre_exec(move || {
            let high: Vec<i32> = fds
                .iter()
                .map(|(fd, _)| libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 50))
                .collect();
            for (fd, (_, target)) in high.iter().zip(&fds) {
                if *fd < 0 || libc::dup2(*fd, *target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// `sh`-like `program` run as `caller` (through setpriv for the unprivileged user).
pub fn as_caller(caller: Caller, program: &str) -> Command {
    match caller {
        Caller::Root => Command::new(program),
        Caller::User => {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid",
                TEST_USER,
                "--regid",
                TEST_USER,
                "--init-groups",
                "--reset-env",
                program,
            ]);
            c
        }
    }
}

/// The `"child-pid"` value of an `--info-fd` report.
pub fn child_pid(info: &str) -> i32 {
    info.split("\"child-pid\": ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no child-pid in {info:?}"))
}

/// A temporary directory under `/var/tmp` (not the private `/tmp` some sandboxes get) with
/// `mode`, so that the unprivileged test user can reach what a test puts there.
pub fn shared_tempdir(mode: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(mode),
    )
    .unwrap();
    dir
}
