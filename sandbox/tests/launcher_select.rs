//! Choosing bwrap on the real host: the Debian bubblewrap, fake old ones in front of it,
//! a planted workspace bwrap, and the bundled one with its digest check.

mod host_support;

use std::path::Path;

use host_support::*;
use sandbox::exit::{DIGEST_MISMATCH, FAILURE};
use sandbox::launcher::bundled::{self, DigestStatus, Expected};
use sandbox::launcher::{Context, LaunchErrorKind, LaunchOptions, Source, choose};

fn opts(cwd: &Path) -> LaunchOptions {
    LaunchOptions {
        explicit: None,
        cwd: cwd.to_path_buf(),
    }
}

/// Runs `--ro-bind / / true` through the chosen bwrap.
fn runs_true(cmd: &mut std::process::Command) -> bool {
    cmd.args(["--ro-bind", "/", "/", "true"])
        .status()
        .unwrap()
        .success()
}

fn digest_of(path: &Path) -> Expected {
    let file = std::fs::File::open(path).unwrap();
    let DigestStatus::Unchecked { actual } = bundled::check(&file, Expected::Unchecked).unwrap()
    else {
        unreachable!("an unchecked expectation never mismatches")
    };
    Expected::parse(Some(&actual)).unwrap()
}

#[test]
fn debian_bubblewrap_on_path_is_chosen_without_argv0() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    let ctx = context(root.path(), "/usr/bin", Expected::Unchecked);
    let choice = choose(&opts(root.path()), &ctx).unwrap();
    assert_eq!(choice.bwrap.source(), Source::SystemPath);
    assert_eq!(choice.bwrap.path(), Path::new(SYSTEM_BWRAP));
    assert!(!choice.bwrap.supports_argv0(), "Debian 12 ships 0.8.0");
    assert!(choice.warnings.is_empty(), "{:?}", choice.warnings);
    assert!(runs_true(&mut choice.bwrap.command()));
}

#[test]
fn fake_old_bwrap_without_argv0_is_kept_and_really_rejects_argv0() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    let help = root.path().join("help.txt");
    std::fs::write(&help, system_help_without("--argv0")).unwrap();
    let fake = root.path().join("old/bwrap");
    install_script(
        &fake,
        &format!(
            r#"for a in "$@"; do [ "$a" = --argv0 ] && {{ echo "bwrap: Unknown option --argv0" >&2; exit 1; }}; done
[ "$1" = --help ] && exec /bin/cat {help}
exec {SYSTEM_BWRAP} "$@""#,
            help = help.display()
        ),
    );
    let ctx = context(
        root.path(),
        fake.parent().unwrap().to_str().unwrap(),
        Expected::Unchecked,
    );
    let workspace = tempfile::tempdir().unwrap();
    let choice = choose(&opts(workspace.path()), &ctx).unwrap();
    assert_eq!(choice.bwrap.source(), Source::SystemPath);
    assert_eq!(choice.bwrap.path(), fake.canonicalize().unwrap());
    assert!(!choice.bwrap.supports_argv0());
    assert!(runs_true(&mut choice.bwrap.command()));
    let mut with_argv0 = choice.bwrap.command();
    with_argv0.args(["--argv0", "x"]);
    assert!(!runs_true(&mut with_argv0), "the fake must reject --argv0");
}

#[test]
fn bwrap_without_perms_is_skipped_with_a_warning_naming_version_and_option() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    let help = root.path().join("help.txt");
    std::fs::write(&help, system_help_without("--perms")).unwrap();
    let ancient = root.path().join("ancient/bwrap");
    let marker = root.path().join("ancient-ran-a-command");
    install_script(
        &ancient,
        &format!(
            "case \"$1\" in --help) exec cat {};; --version) echo 'bubblewrap 0.4.0';; \
             *) touch {};; esac",
            help.display(),
            marker.display()
        ),
    );
    install_bwrap_copy(&bundled_path(root.path()), b"");
    let ctx = context(
        root.path(),
        ancient.parent().unwrap().to_str().unwrap(),
        Expected::Unchecked,
    );
    let workspace = tempfile::tempdir().unwrap();
    let choice = choose(&opts(workspace.path()), &ctx).unwrap();
    assert_eq!(choice.bwrap.source(), Source::Bundled);
    let warning = &choice.warnings[0];
    assert!(warning.cause.contains("bubblewrap 0.4.0"), "{warning}");
    assert!(warning.cause.contains("--perms"), "{warning}");
    assert!(warning.fix.contains("0.5"), "{warning}");
    assert!(runs_true(&mut choice.bwrap.command()));
    assert!(!marker.exists(), "the rejected bwrap ran a command");
}

#[test]
fn no_bwrap_on_path_warns_and_uses_the_bundled_one() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    install_bwrap_copy(&bundled_path(root.path()), b"");
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let ctx = context(root.path(), empty.to_str().unwrap(), Expected::Unchecked);
    let choice = choose(&opts(root.path()), &ctx).unwrap();
    assert_eq!(choice.bwrap.source(), Source::Bundled);
    assert_eq!(choice.warnings.len(), 1, "{:?}", choice.warnings);
    assert!(choice.warnings[0].cause.contains("no bwrap found on PATH"));
    assert!(choice.warnings[0].fix.contains("install bubblewrap"));
    assert!(runs_true(&mut choice.bwrap.command()));
}

#[test]
fn installed_layout_libexec_bwrap_is_found() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    let libexec = root.path().join("libexec/agent-sandbox/bwrap");
    std::fs::create_dir(root.path().join("bin")).unwrap();
    install_bwrap_copy(&libexec, b"");
    let ctx = context(root.path(), "", Expected::Unchecked);
    let choice = choose(&opts(root.path()), &ctx).unwrap();
    assert_eq!(choice.bwrap.source(), Source::Bundled);
    assert_eq!(
        choice.bwrap.path().canonicalize().unwrap(),
        libexec.canonicalize().unwrap()
    );
}

#[test]
fn no_bwrap_anywhere_refuses_with_the_generic_status() {
    let root = tempfile::tempdir().unwrap();
    let ctx = context(root.path(), "", Expected::Unchecked);
    let err = choose(&opts(root.path()), &ctx).unwrap_err();
    assert_eq!(err.kind(), LaunchErrorKind::Unavailable);
    assert_eq!(err.exit_status(), FAILURE);
    assert!(
        err.to_string()
            .contains(&bundled_path(root.path()).display().to_string())
    );
    assert!(err.to_string().contains("install bubblewrap"));
}

#[test]
fn planted_workspace_bwrap_never_runs() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let workspace = tempfile::tempdir().unwrap();
    let marker = workspace.path().join("planted-bwrap-ran");
    install_script(
        &workspace.path().join("bin/bwrap"),
        &format!("touch {}; exec {SYSTEM_BWRAP} \"$@\"", marker.display()),
    );
    let outside = tempfile::tempdir().unwrap();
    let path_var = format!("{}:/usr/bin", workspace.path().join("bin").display());
    let ctx = context(outside.path(), &path_var, Expected::Unchecked);
    let choice = choose(&opts(workspace.path()), &ctx).unwrap();
    assert_eq!(choice.bwrap.path(), Path::new(SYSTEM_BWRAP));
    assert!(runs_true(&mut choice.bwrap.command()));
    assert!(!marker.exists(), "the planted bwrap was executed");
}

#[test]
fn tampered_bundled_bwrap_is_refused_with_its_own_status() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    install_bwrap_copy(&bundled_path(root.path()), b"\0");
    let ctx = context(root.path(), "", digest_of(Path::new(SYSTEM_BWRAP)));
    let err = choose(&opts(root.path()), &ctx).unwrap_err();
    assert_eq!(err.kind(), LaunchErrorKind::DigestMismatch);
    assert_eq!(err.exit_status(), DIGEST_MISMATCH);
    assert_ne!(DIGEST_MISMATCH, FAILURE);
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(err.to_string().contains("expected sha256:"), "{err}");
}

#[test]
fn verified_bundled_bwrap_runs_the_hashed_descriptor_even_if_swapped() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let root = tempfile::tempdir().unwrap();
    let bundled = bundled_path(root.path());
    install_bwrap_copy(&bundled, b"");
    let ctx = context(root.path(), "", digest_of(Path::new(SYSTEM_BWRAP)));
    let choice = choose(&opts(root.path()), &ctx).unwrap();
    assert!(matches!(
        choice.bwrap.digest(),
        Some(DigestStatus::Verified { .. })
    ));
    let cmd = choice.bwrap.command();
    assert!(
        cmd.get_program()
            .to_str()
            .unwrap()
            .starts_with("/proc/self/fd/")
    );
    // Replace the file on disk after the check: the verified descriptor still runs.
    let marker = root.path().join("swapped-in-binary-ran");
    let swapped = root.path().join("swap");
    install_script(&swapped, &format!("touch {}", marker.display()));
    std::fs::rename(&swapped, &bundled).unwrap();
    assert!(runs_true(&mut choice.bwrap.command()));
    assert!(!marker.exists(), "the swapped-in file was executed");
}

#[test]
fn explicit_bwrap_lacking_perms_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let fake = root.path().join("bwrap");
    install_script(
        &fake,
        "case \"$1\" in --help) echo '--unshare-user --bind';; --version) echo 'bubblewrap 0.4.0';; esac",
    );
    let ctx = context(root.path(), "/usr/bin", Expected::Unchecked);
    let options = LaunchOptions {
        explicit: Some(fake),
        cwd: root.path().to_path_buf(),
    };
    let err = choose(&options, &ctx).unwrap_err();
    assert_eq!(err.exit_status(), FAILURE);
    assert!(err.to_string().contains("--perms"), "{err}");
    assert!(err.to_string().contains("bubblewrap 0.4.0"), "{err}");
}

#[test]
fn cargo_build_ignores_bazel_runfiles_bwrap() {
    if is_rerun() {
        assert!(std::env::var_os("RUNFILES_DIR").is_some());
        let ctx = Context::current().unwrap();
        assert_eq!(ctx.runfiles_bwrap, None);
        return;
    }
    let out = rerun(
        "cargo_build_ignores_bazel_runfiles_bwrap",
        &[],
        &[
            ("RUNFILES_DIR", "/tmp"),
            ("TEST_SRCDIR", "/tmp"),
            ("CARGO_BIN_EXE_bwrap", SYSTEM_BWRAP),
        ],
    );
    assert_child_passed(&out);
}

#[test]
fn bundled_digest_check_holds_for_an_unprivileged_user() {
    if is_rerun() {
        tampered_bundled_bwrap_is_refused_with_its_own_status();
        verified_bundled_bwrap_runs_the_hashed_descriptor_even_if_swapped();
        planted_workspace_bwrap_never_runs();
        return;
    }
    let Some(user) = as_bwraptest() else {
        return skip("no bwraptest user (ci/setup creates it)");
    };
    let out = rerun(
        "bundled_digest_check_holds_for_an_unprivileged_user",
        &user,
        &[],
    );
    assert_child_passed(&out);
}
