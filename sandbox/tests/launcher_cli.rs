//! The launcher through the `sandbox` binary: an installed copy with its bundled bwrap,
//! old and planted bwraps on PATH, warnings before the command, and `sandbox doctor`.

mod host_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host_support::*;

/// A copy of `sandbox` at `<root>/bin/sandbox`, optionally with a copy of the system
/// bwrap bundled next to it.
fn install_sandbox(root: &Path, bundle: bool) -> PathBuf {
    let exe = root.join("bin/sandbox");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    install_executable(&exe, &std::fs::read(sandbox_exe()).unwrap());
    if bundle {
        install_bwrap_copy(&bundled_path(root), b"");
    }
    exe
}

/// Runs `exe run --cwd <workspace> -- <command>` with `path_var`, stderr merged into stdout
/// (so their order is kept).
fn run_merged(exe: &Path, workspace: &Path, path_var: &str, command: &str) -> Output {
    let out = Command::new("/bin/sh")
        .args(["-c", r#"exec "$@" 2>&1"#, "sh"])
        .arg(exe)
        .args(["run", "--cwd"])
        .arg(workspace)
        .args(["--", "/bin/sh", "-c", command])
        .env_clear()
        .env("PATH", path_var)
        .output()
        .unwrap();
    eprintln!("{}", texts(&out).0);
    out
}

#[test]
fn bundled_bwrap_runs_the_command_after_warning_on_stderr() {
    if is_rerun() {
        let root = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let exe = install_sandbox(root.path(), true);
        // A PATH with nothing on it at all.
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let out = run_merged(
            &exe,
            workspace.path(),
            empty.to_str().unwrap(),
            "echo ran-inside",
        );
        let (merged, _) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{merged}");
        let warning = merged.find("no bwrap found on PATH").expect("warning");
        let output = merged.find("ran-inside").expect("command output");
        assert!(
            warning < output,
            "the warning must come before the command runs"
        );
        assert!(merged.contains("fix: install bubblewrap"), "{merged}");
        return;
    }
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    rerun_as_root_and_user(
        "bundled_bwrap_runs_the_command_after_warning_on_stderr",
        &[],
        &[],
    );
}

#[test]
fn old_bwrap_without_argv0_on_path_runs_the_command() {
    if !is_rerun() {
        if let Err(why) = system_bwrap() {
            return skip(why);
        }
        rerun_as_root_and_user("old_bwrap_without_argv0_on_path_runs_the_command", &[], &[]);
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let exe = install_sandbox(root.path(), false);
    let help = root.path().join("help.txt");
    std::fs::write(&help, system_help_without("--argv0")).unwrap();
    let old = root.path().join("old/bwrap");
    install_script(
        &old,
        &format!(
            r#"for a in "$@"; do [ "$a" = --argv0 ] && {{ echo "bwrap: Unknown option --argv0" >&2; exit 1; }}; done
[ "$1" = --help ] && exec /bin/cat {help}
exec {SYSTEM_BWRAP} "$@""#,
            help = help.display()
        ),
    );
    let path_var = old.parent().unwrap().to_str().unwrap();
    let out = run_merged(&exe, workspace.path(), path_var, "echo compat-ok");
    let (merged, _) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{merged}");
    assert!(merged.contains("compat-ok"), "{merged}");
    assert!(!merged.contains("warning"), "{merged}");
}

#[test]
fn planted_workspace_bwrap_is_never_run_by_sandbox() {
    if !is_rerun() {
        if let Err(why) = system_bwrap() {
            return skip(why);
        }
        rerun_as_root_and_user("planted_workspace_bwrap_is_never_run_by_sandbox", &[], &[]);
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let exe = install_sandbox(root.path(), false);
    let marker = root.path().join("planted-ran");
    let planted = marker_bwrap(workspace.path(), &marker);
    let path_var = format!("{}:/usr/bin", planted.display());
    let out = run_merged(&exe, workspace.path(), &path_var, "echo fine");
    assert_eq!(out.status.code(), Some(0), "{}", texts(&out).0);
    assert!(texts(&out).0.contains("fine"), "{}", texts(&out).0);
    assert!(!marker.exists(), "the workspace bwrap was executed");
}

#[test]
fn bwrap_lacking_perms_without_bundled_refuses_naming_version_and_option() {
    let root = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let exe = install_sandbox(root.path(), false);
    let ancient = root.path().join("ancient/bwrap");
    install_script(
        &ancient,
        "case \"$1\" in --help) echo '--unshare-user --bind --ro-bind';; \
         --version) echo 'bubblewrap 0.4.0';; *) exit 1;; esac",
    );
    let out = run_merged(
        &exe,
        workspace.path(),
        ancient.parent().unwrap().to_str().unwrap(),
        "echo must-not-run",
    );
    let (merged, _) = texts(&out);
    assert_eq!(out.status.code(), Some(125), "{merged}");
    assert!(merged.contains("bubblewrap 0.4.0"), "{merged}");
    assert!(merged.contains("--perms"), "{merged}");
    assert!(!merged.contains("must-not-run"), "{merged}");
}

#[test]
fn doctor_cli_reports_a_healthy_machine() {
    if is_rerun() {
        let out = Command::new(sandbox_exe())
            .arg("doctor")
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        let (text, _) = texts(&out);
        eprintln!("{text}");
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("/usr/bin/bwrap"), "{text}");
        let out = Command::new(sandbox_exe())
            .args(["doctor", "--json"])
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["healthy"], true, "{json}");
        return;
    }
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    rerun_as_root_and_user("doctor_cli_reports_a_healthy_machine", &[], &[]);
}

#[test]
fn user_namespaces_off_warns_with_fix_before_the_run_fails() {
    if is_rerun() {
        let workspace = tempfile::tempdir().unwrap();
        let out = run_merged(
            Path::new(sandbox_exe()),
            workspace.path(),
            "/usr/bin:/bin",
            "echo must-not-run",
        );
        let (merged, _) = texts(&out);
        assert_eq!(out.status.code(), Some(125), "{merged}");
        let warning = merged
            .find("bwrap cannot create user namespaces")
            .expect("warning");
        assert!(
            merged[warning..].contains("fix: user namespaces are disabled"),
            "{merged}"
        );
        let failure = merged.rfind("sandbox: ").unwrap();
        assert!(warning < failure, "the warning comes first: {merged}");
        assert!(!merged.contains("must-not-run"), "{merged}");
        return;
    }
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    rerun_as_root_and_user(
        "user_namespaces_off_warns_with_fix_before_the_run_fails",
        &USERNS_OFF,
        &USERNS_OFF,
    );
}
