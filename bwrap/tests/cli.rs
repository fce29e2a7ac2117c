//! Command-line contract: help, version, and every kind of bad input (upstream's error
//! text, exit status 1, never a panic). None of these create a sandbox.

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

#[rstest]
#[case(&["--frobnicate", "true"], "bwrap: Unknown option --frobnicate\n")]
#[case(&["--bind", "/"], "bwrap: --bind takes two arguments\n")]
#[case(&["--ro-bind-fd", "3"], "bwrap: --bind-fd takes two arguments\n")]
#[case(&["--overlay", "a", "b"], "bwrap: --overlay takes three arguments\n")]
#[case(&["--argv0"], "bwrap: --argv0 takes one argument\n")]
#[case(&["--chdir"], "bwrap: --chdir takes an argument\n")]
#[case(&["--info-fd", "-1", "true"], "bwrap: Invalid fd: -1\n")]
#[case(&["--seccomp", "0a", "true"], "bwrap: Invalid fd: 0a\n")]
#[case(&["--uid", "x", "true"], "bwrap: Invalid uid: x\n")]
#[case(&["--gid", "", "true"], "bwrap: Invalid gid: \n")]
#[case(&["--perms", "8", "--dir", "/x", "true"], "bwrap: --perms takes an octal argument <= 07777\n")]
#[case(&["--chmod", "17777", "/x", "true"], "bwrap: --chmod takes an octal argument <= 07777\n")]
#[case(&["--size", "0", "--tmpfs", "/x", "true"], "bwrap: --size takes a non-zero number of bytes\n")]
#[case(&["--size", "123bogus", "--tmpfs", "/x", "true"], "bwrap: --size takes a non-zero number of bytes\n")]
#[case(&["--perms", "0700", "--perms", "0700", "--dir", "/x", "true"], "bwrap: --perms given twice for the same action\n")]
#[case(&["--size", "1", "--size", "1", "--tmpfs", "/x", "true"], "bwrap: --size given twice for the same action\n")]
#[case(&["--perms", "0700", "--proc", "/x", "true"], "bwrap: --perms must be followed by an option that creates a file\n")]
#[case(&["--size", "10", "--dir", "/x", "true"], "bwrap: --size must be followed by --tmpfs\n")]
#[case(&["--overlay-src", "/", "--chdir", "/", "true"], "bwrap: --overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay\n")]
#[case(&["--overlay-src", "/", "true"], "bwrap: --overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay\n")]
#[case(&["--tmp-overlay", "/x", "true"], "bwrap: --tmp-overlay requires at least one --overlay-src\n")]
#[case(&["--overlay-src", "/", "--ro-overlay", "/x", "true"], "bwrap: --ro-overlay requires at least two --overlay-src\n")]
#[case(&["--argv0", "a", "--argv0", "b", "true"], "bwrap: --argv0 used multiple times\n")]
#[case(&["--cap-add", "CAP_BOGUS", "true"], "bwrap: unknown cap: CAP_BOGUS\n")]
#[case(&["--exec-label", "x", "true"], "bwrap: labeling not supported on this system\n")]
#[case(&["--add-seccomp-fd", "99", "true"], "bwrap: Can't read seccomp data: Bad file descriptor\n")]
#[case(&["--hostname", "h", "true"], "bwrap: Specifying --hostname requires --unshare-uts\n")]
#[case(&["--as-pid-1", "true"], "bwrap: Specifying --as-pid-1 requires --unshare-pid\n")]
#[case(&["--unshare-pid", "--as-pid-1", "--lock-file", "/x", "true"], "bwrap: Specifying --as-pid-1 and --lock-file is not permitted\n")]
#[case(&["--userns-block-fd", "1", "true"], "bwrap: --userns-block-fd requires --unshare-user\n")]
#[case(&["--unshare-user", "--userns-block-fd", "1", "true"], "bwrap: --userns-block-fd requires --info-fd\n")]
#[case(&["--userns", "1", "--unshare-user", "true"], "bwrap: --userns not compatible --unshare-user\n")]
#[case(&["--disable-userns", "true"], "bwrap: --disable-userns requires --unshare-user\n")]
#[case(&["--uid", "5", "true"], "bwrap: Specifying --uid requires --unshare-user or --userns\n")]
#[case(&["--level-prefix", "--bogus"], "<3>bwrap: Unknown option --bogus\n")]
#[case(&["--debug-opt=nope", "true"], "bwrap: Unknown --debug-opt value: nope\n")]
fn bad_input_gives_upstream_error_and_status_1(#[case] args: &[&str], #[case] want: &str) {
    let out = run(Caller::Root, args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), want, "{args:?}");
}

#[test]
fn seccomp_and_add_seccomp_fd_exclude_each_other() {
    let out = run(
        Caller::Root,
        &["--seccomp", "5", "--add-seccomp-fd", "5", "true"],
    );
    assert_eq!(
        stderr(&out),
        "bwrap: --add-seccomp-fd cannot be combined with --seccomp\n"
    );
    let mut cmd = Command::new(BWRAP);
    cmd.args(["--add-seccomp-fd", "0", "--seccomp", "0", "true"])
        .stdin(std::fs::File::open("/dev/null").unwrap());
    let out = cmd.output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bwrap: --seccomp cannot be combined with --add-seccomp-fd\n"
    );
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

/// A small deterministic PRNG (xorshift) so the fuzz run is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Random argument vectors built from real option names and awkward values never make
/// bwrap panic or die by a signal: each run either exits 1 with a `bwrap: ` message (or
/// the usage), or is a valid request.
#[test]
fn random_argument_vectors_never_panic() {
    let words = [
        "--bind",
        "--ro-bind",
        "--dev-bind-try",
        "--perms",
        "--size",
        "--tmpfs",
        "--dir",
        "--file",
        "--chmod",
        "--overlay-src",
        "--overlay",
        "--tmp-overlay",
        "--ro-overlay",
        "--uid",
        "--gid",
        "--info-fd",
        "--args",
        "--seccomp",
        "--add-seccomp-fd",
        "--cap-add",
        "--cap-drop",
        "--setenv",
        "--unsetenv",
        "--argv0",
        "--chdir",
        "--hostname",
        "--as-pid-1",
        "--lock-file",
        "--userns",
        "--pidns",
        "--level-prefix",
        "--",
        "-",
        "--x",
        "",
        "0",
        "-1",
        "07777",
        "99999999999999999999",
        "0x10",
        " 1",
        "ALL",
        "cap_kill",
        "/",
        "/nonexistent",
        "=",
        "a=b",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let len = (rng.next() % 7) as usize;
        let mut args: Vec<&str> = (0..len).map(|_| rng.pick(&words)).collect();
        // Never let a random vector reach a real command: keep the final word an option value.
        args.push("--bogus-terminator");
        let out = Command::new(BWRAP)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(
            out.status.code().is_some(),
            "{args:?} killed by a signal: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        if out.status.code() != Some(0) {
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains("bwrap: ") || err.starts_with("usage: "),
                "{args:?}: {err}"
            );
        }
    }
}

/// Every option `--help` lists is one the parser knows (so feature detection by grepping
/// the help never promises an option that is then refused).
#[test]
fn every_listed_option_is_accepted_by_the_parser() {
    let help = stdout(&run(Caller::Root, &["--help"]));
    let options: Vec<&str> = help
        .lines()
        .filter_map(|l| l.trim_start().split(' ').next())
        .filter(|o| o.starts_with("--") && *o != "--help" && *o != "--version")
        .collect();
    assert_eq!(options.len(), 66);
    for option in options {
        let out = run(Caller::Root, &[option]);
        let err = stderr(&out);
        assert!(!err.contains("Unknown option"), "{option}: {err}");
    }
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
