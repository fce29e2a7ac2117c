//! Command-line contract end to end: help, version, and how refusals reach stderr (upstream's
//! `bwrap: ` text, exit status 1, never a panic). None of these create a sandbox. What the
//! parser accepts and refuses is tested in-process (`src/args/tests/`).

mod common;

use common::{BWRAP, Caller, run, stderr, stdout};
use rstest::rstest;
use std::process::Command;

#[test]
fn help_goes_to_stdout_with_argv0_as_invoked() {
    let out = run(Caller::Root, &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "usage: {BWRAP} [OPTIONS...] [--] COMMAND [ARGS...]\n"
        )),
        "{text}"
    );
    for option in [
        "--argv0 VALUE",
        "--overlay-src SRC",
        "--bind-fd FD DEST",
        "--level-prefix",
        "--chmod OCTAL PATH",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(option)),
            "missing {option}"
        );
    }
}

#[test]
fn version_names_upstream_and_this_implementation() {
    let out = run(Caller::Root, &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("bubblewrap 0.12.0 "), "{text}");
    assert!(text.contains("bwrap-rs"), "{text}");
}

#[test]
fn no_arguments_prints_usage_on_stderr_and_fails() {
    let out = run(Caller::Root, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("usage: "));
    let out = run(Caller::Root, &["--unshare-net"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("usage: "));
}

/// One refusal of each stage (parser, checks after parsing, reading a descriptor, the
/// level prefix) printed by the binary.
#[rstest]
#[case(&["--frobnicate", "true"], "bwrap: Unknown option --frobnicate\n")]
#[case(&["--ro-bind-fd", "3"], "bwrap: --bind-fd takes two arguments\n")]
#[case(&["--add-seccomp-fd", "99", "true"], "bwrap: Can't read seccomp data: Bad file descriptor\n")]
#[case(&["--hostname", "h", "true"], "bwrap: Specifying --hostname requires --unshare-uts\n")]
#[case(&["--level-prefix", "--bogus"], "<3>bwrap: Unknown option --bogus\n")]
#[case(&["--bogus", "--level-prefix"], "bwrap: Unknown option --bogus\n")]
fn bad_input_gives_upstream_error_and_status_1(#[case] args: &[&str], #[case] want: &str) {
    let out = run(Caller::Root, args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), want, "{args:?}");
}

#[test]
fn seccomp_data_must_be_whole_instructions() {
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("printf 123 | {BWRAP} --add-seccomp-fd 0 true"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bwrap: Invalid seccomp data, must be multiple of 8\n"
    );
}

#[test]
fn args_fd_total_is_capped_at_9000() {
    let list = "--dir\0/x\0".repeat(4501);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '%s' \"$1\" | tr '\\n' '\\0' | {BWRAP} --args 0 true"
        ))
        .arg("sh")
        .arg(list.replace('\0', "\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bwrap: Exceeded maximum number of arguments 9000\n"
    );
}
