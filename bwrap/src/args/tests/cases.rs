//! Upstream's refusals and the configuration a command line produces.

use super::super::{BindKind, CapChange, Op, OverlayKind, command_line, help};
use super::{EnvChange, Parsed, Recorder, argv, config, parse_with, refusal};
use rstest::rstest;
use std::ffi::OsString;

#[rstest]
#[case(&["--frobnicate", "true"], "Unknown option --frobnicate")]
#[case(&["--bind", "/"], "--bind takes two arguments")]
#[case(&["--ro-bind-fd", "3"], "--bind-fd takes two arguments")]
#[case(&["--overlay", "a", "b"], "--overlay takes three arguments")]
#[case(&["--argv0"], "--argv0 takes one argument")]
#[case(&["--chdir"], "--chdir takes an argument")]
#[case(&["--info-fd", "-1", "true"], "Invalid fd: -1")]
#[case(&["--seccomp", "0a", "true"], "Invalid fd: 0a")]
#[case(&["--uid", "x", "true"], "Invalid uid: x")]
#[case(&["--gid", "", "true"], "Invalid gid: ")]
#[case(&["--perms", "8", "--dir", "/x", "true"], "--perms takes an octal argument <= 07777")]
#[case(&["--chmod", "17777", "/x", "true"], "--chmod takes an octal argument <= 07777")]
#[case(&["--size", "0", "--tmpfs", "/x", "true"], "--size takes a non-zero number of bytes")]
#[case(&["--size", "123bogus", "--tmpfs", "/x", "true"], "--size takes a non-zero number of bytes")]
#[case(&["--size", "9223372036854775808", "--tmpfs", "/x"], "--size (for tmpfs) is limited to 9223372036854775807")]
#[case(&["--perms", "0700", "--perms", "0700", "--dir", "/x", "true"], "--perms given twice for the same action")]
#[case(&["--size", "1", "--size", "1", "--tmpfs", "/x", "true"], "--size given twice for the same action")]
#[case(&["--perms", "0700", "--proc", "/x", "true"], "--perms must be followed by an option that creates a file")]
#[case(&["--perms", "0700", "--overlay-src", "/x", "true"], "--perms must be followed by an option that creates a file")]
#[case(&["--size", "10", "--dir", "/x", "true"], "--size must be followed by --tmpfs")]
#[case(&["--overlay-src", "/", "--chdir", "/", "true"], "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay")]
#[case(&["--overlay-src", "/", "true"], "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay")]
#[case(&["--tmp-overlay", "/x", "true"], "--tmp-overlay requires at least one --overlay-src")]
#[case(&["--overlay-src", "/", "--ro-overlay", "/x", "true"], "--ro-overlay requires at least two --overlay-src")]
#[case(&["--argv0", "a", "--argv0", "b", "true"], "--argv0 used multiple times")]
#[case(&["--cap-add", "CAP_BOGUS", "true"], "unknown cap: CAP_BOGUS")]
#[case(&["--exec-label", "x", "true"], "labeling not supported on this system")]
#[case(&["--add-seccomp-fd", "99", "true"], "Can't read seccomp data: Bad file descriptor")]
#[case(&["--args", "99", "true"], "Can't read --args data: Bad file descriptor")]
#[case(&["--seccomp", "5", "--add-seccomp-fd", "5", "true"], "--add-seccomp-fd cannot be combined with --seccomp")]
#[case(&["--setenv", "A=B", "x", "true"], "setenv A=B: Invalid argument")]
#[case(&["--setenv", "", "x", "true"], "setenv : Invalid argument")]
#[case(&["--debug-opt=nope", "true"], "Unknown --debug-opt value: nope")]
#[case(&["--debug-opt=force-openat-fallback"], "--debug-opt=force-openat-fallback: this implementation has no openat fallback; it needs openat2 (Linux 5.6+)")]
fn bad_input_gives_upstream_error(#[case] args: &[&str], #[case] want: &str) {
    assert_eq!(refusal(args), want);
}

/// Checks made after parsing, with the caller's ids (1000 is not root).
#[rstest]
#[case(&["--hostname", "h", "true"], "Specifying --hostname requires --unshare-uts")]
#[case(&["--unshare-pid", "--as-pid-1", "--lock-file", "/x", "true"], "Specifying --as-pid-1 and --lock-file is not permitted")]
#[case(&["--userns-block-fd", "1", "true"], "--userns-block-fd requires --unshare-user")]
#[case(&["--unshare-user", "--userns-block-fd", "1", "true"], "--userns-block-fd requires --info-fd")]
#[case(&["--userns", "1", "--unshare-user", "true"], "--userns not compatible --unshare-user")]
#[case(&["--userns", "1", "--unshare-user-try", "true"], "--userns not compatible --unshare-user-try")]
#[case(&["--disable-userns", "true"], "--disable-userns requires --unshare-user")]
fn invalid_combinations_give_upstream_error(#[case] args: &[&str], #[case] want: &str) {
    let result = command_line(&argv(args), &mut Recorder::default(), 1000, 1000);
    assert_eq!(result.unwrap_err().to_string(), want);
}

#[test]
fn root_needs_a_user_namespace_for_other_ids_and_pid_namespace_for_as_pid_1() {
    let refuse = |args: &[&str]| {
        let result = command_line(&argv(args), &mut Recorder::default(), 0, 0);
        result.unwrap_err().to_string()
    };
    assert_eq!(
        refuse(&["--uid", "5", "true"]),
        "Specifying --uid requires --unshare-user or --userns"
    );
    assert_eq!(
        refuse(&["--gid", "5", "true"]),
        "Specifying --gid requires --unshare-user or --userns"
    );
    assert_eq!(
        refuse(&["--as-pid-1", "true"]),
        "Specifying --as-pid-1 requires --unshare-pid"
    );
}

#[test]
fn missing_command_is_the_usage_with_argv0_as_invoked() {
    for args in [&[][..], &["--unshare-net"][..], &["--dir", "/x", "--"][..]] {
        let result = command_line(&argv(args), &mut Recorder::default(), 0, 0);
        let Err(super::ArgError::MissingCommand(usage)) = result else {
            panic!("{args:?}: {result:?}");
        };
        assert_eq!(usage, help::usage("bwrap"));
    }
}

#[test]
fn help_and_version_stop_parsing_wherever_they_stand() {
    let mut effects = Recorder::default();
    let parsed = parse_with(&["--dir", "/x", "--help", "--bogus"], &mut effects);
    assert!(matches!(parsed, Ok(Parsed::Help(text)) if text == help::usage("bwrap")));
    let parsed = parse_with(&["--version", "--bogus"], &mut effects);
    assert!(matches!(parsed, Ok(Parsed::Version(text)) if text == help::version()));
    // An error before them wins.
    assert_eq!(refusal(&["--bogus", "--help"]), "Unknown option --bogus");
}

#[test]
fn setup_ops_are_queued_in_argv_order_with_their_modifiers() {
    let (cfg, _) = config(&[
        "--ro-bind-try",
        "/usr",
        "/usr",
        "--perms",
        "0700",
        "--size",
        "0x100",
        "--tmpfs",
        "/tmp",
        "--dev",
        "/dev",
        "--perms",
        "01777",
        "--dir",
        "/d",
        "--file",
        "4",
        "/f",
        "--symlink",
        "usr/lib",
        "/lib",
        "--chmod",
        "0755",
        "/d",
        "--overlay-src",
        "/a",
        "--overlay-src",
        "/b",
        "--ro-overlay",
        "/o",
        "--bind-fd",
        "5",
        "/fd",
        "--",
        "--not-an-option",
        "x",
    ]);
    let os = OsString::from;
    assert_eq!(
        cfg.ops,
        [
            Op::Bind {
                src: os("/usr"),
                dest: os("/usr"),
                kind: BindKind::ReadOnly,
                optional: true
            },
            Op::Tmpfs {
                dest: os("/tmp"),
                perms: Some(0o700),
                size: Some(256)
            },
            Op::Dev { dest: os("/dev") },
            Op::Dir {
                dest: os("/d"),
                perms: Some(0o1777)
            },
            Op::File {
                fd: 4,
                dest: os("/f"),
                perms: None
            },
            Op::Symlink {
                target: os("usr/lib"),
                dest: os("/lib")
            },
            Op::Chmod {
                dest: os("/d"),
                mode: 0o755
            },
            Op::Overlay {
                sources: vec![os("/a"), os("/b")],
                kind: OverlayKind::ReadOnly,
                dest: os("/o")
            },
            Op::BindFd {
                fd: 5,
                dest: os("/fd"),
                read_only: false,
                resolved: OsString::new()
            },
        ]
    );
    assert!(cfg.needs_devpts);
    assert_eq!(cfg.command, [os("--not-an-option"), os("x")]);
}

#[test]
fn last_option_wins_with_upstream_warning() {
    let (cfg, effects) = config(&[
        "--chdir",
        "/a",
        "--chdir",
        "/b",
        "--uid",
        "1",
        "--uid",
        "2",
        "--hostname",
        "x",
        "--hostname",
        "y",
        "--info-fd",
        "3",
        "--info-fd",
        "4",
        "true",
    ]);
    assert_eq!(cfg.chdir, Some("/b".into()));
    assert_eq!(cfg.uid, Some(2));
    assert_eq!(cfg.info_fd, Some(4));
    assert_eq!(
        effects.warnings,
        [
            "Only the last --chdir option will take effect",
            "Only the last --uid option will take effect",
            "Only the last --hostname option will take effect",
            "Only the last --info-fd option will take effect",
        ]
    );
}

#[test]
fn environment_options_take_effect_in_argv_order() {
    let (_, effects) = config(&[
        "--setenv",
        "A",
        "1",
        "--clearenv",
        "--unsetenv",
        "B",
        "--unsetenv",
        "C=D",
        "true",
    ]);
    assert_eq!(
        effects.env,
        [
            EnvChange::Set("A".into(), "1".into()),
            EnvChange::Clear,
            EnvChange::Unset("B".into()),
        ]
    );
}

#[test]
fn args_fd_is_parsed_in_place_and_may_not_nest() {
    let mut effects = Recorder::default();
    effects
        .fds
        .insert(7, b"--dir\0/x\0--cap-drop\0ALL\0ignored".to_vec());
    effects.fds.insert(8, b"--seccomp-data-123456789".to_vec());
    let Ok(Parsed::Run(cfg)) = parse_with(
        &[
            "--args",
            "7",
            "--add-seccomp-fd",
            "8",
            "--cap-add",
            "cap_kill",
            "true",
        ],
        &mut effects,
    ) else {
        panic!("refused");
    };
    let dest = OsString::from("/x");
    assert_eq!(cfg.ops, [Op::Dir { dest, perms: None }]);
    assert_eq!(
        cfg.cap_changes,
        [CapChange::Drop(None), CapChange::Add(Some(5))]
    );
    assert_eq!(cfg.seccomp_programs, [b"--seccomp-data-123456789".to_vec()]);
    assert_eq!(cfg.command, [OsString::from("true")]);

    let mut effects = Recorder::default();
    effects.fds.insert(7, b"--args".to_vec());
    let err = parse_with(&["--args", "7", "true"], &mut effects).unwrap_err();
    assert_eq!(err.to_string(), "--args not supported in arguments file");
    effects.fds.insert(7, b"--bind\0/a".to_vec());
    let err = parse_with(&["--args", "7", "true"], &mut effects).unwrap_err();
    assert_eq!(err.to_string(), "--bind takes two arguments");
}

#[test]
fn args_fd_total_is_capped_at_9000() {
    let mut effects = Recorder::default();
    // `bwrap --args 0 true` is 4 arguments; each `--dir /x` adds 2.
    effects
        .fds
        .insert(0, "--dir\0/x\0".repeat(4498).into_bytes());
    let result = parse_with(&["--args", "0", "true"], &mut effects);
    assert!(result.is_ok(), "{:?}", result.err());
    effects
        .fds
        .insert(0, "--dir\0/x\0".repeat(4499).into_bytes());
    let err = parse_with(&["--args", "0", "true"], &mut effects).unwrap_err();
    assert_eq!(err.to_string(), "Exceeded maximum number of arguments 9000");
}

#[test]
fn seccomp_data_must_be_whole_instructions() {
    let mut effects = Recorder::default();
    effects.fds.insert(0, b"123".to_vec());
    let err = parse_with(&["--add-seccomp-fd", "0", "true"], &mut effects).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid seccomp data, must be multiple of 8"
    );
    effects.fds.insert(0, vec![0; 16]);
    let err = parse_with(
        &["--add-seccomp-fd", "0", "--seccomp", "0", "true"],
        &mut effects,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--seccomp cannot be combined with --add-seccomp-fd"
    );
}

#[test]
fn level_prefix_is_an_effect_of_parsing() {
    let (_, effects) = config(&["--level-prefix", "true"]);
    assert!(effects.level_prefix);
}

/// Every option `--help` lists is one the parser knows (so feature detection by grepping
/// the help never promises an option that is then refused).
#[test]
fn every_listed_option_is_accepted_by_the_parser() {
    let usage = help::usage("bwrap");
    let options: Vec<&str> = usage
        .lines()
        .filter_map(|l| l.trim_start().split(' ').next())
        .filter(|o| o.starts_with("--") && *o != "--help" && *o != "--version")
        .collect();
    assert_eq!(options.len(), 66);
    for option in options {
        let result = parse_with(&[option], &mut Recorder::default());
        let known = !matches!(result, Err(super::ArgError::UnknownOption(_)));
        assert!(known, "{option}: {result:?}");
    }
}

/// Each option appears once in the table, so no entry shadows another.
#[test]
fn every_option_is_named_once() {
    let names: Vec<&str> = super::super::table::OPTIONS
        .iter()
        .map(|s| s.name)
        .collect();
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
    assert!(names.iter().all(|n| n.starts_with("--")));
}
