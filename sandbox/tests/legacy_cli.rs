//! `sandbox run --legacy-landlock` end to end: what runs, what is refused before running.

mod host_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host_support::*;

/// A policy with `:root` read and the workspace writable with its metadata protection
/// waived, which the legacy model can honour exactly.
const LEGACY_POLICY: &str = r#"
[filesystem]
":root" = "read"
":workspace_roots" = "write"
".git" = "write"
".codex" = "write"
".agents" = "write"
".aws" = "write"
[network]
mode = "restricted"
"#;

/// The probe script: writes inside and outside, shows privileges and tries the network.
fn probe_script(outside: &Path) -> String {
    format!(
        "echo in > inside && echo inside=ok\n\
         (echo out > {}/f) 2>/dev/null && echo outside=written || echo outside=denied\n\
         grep -E '^(NoNewPrivs|CapEff|CapPrm):' /proc/self/status\n\
         /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>&1 | head -1\n",
        outside.display()
    )
}

struct Fixture {
    _dirs: Vec<tempfile::TempDir>,
    workspace: PathBuf,
    outside: PathBuf,
    policy: PathBuf,
    marker: PathBuf,
    path_var: String,
}

fn fixture(policy_text: &str) -> Fixture {
    let (ws, out, tools) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let policy = tools.path().join("policy.toml");
    std::fs::write(&policy, policy_text).unwrap();
    let marker = tools.path().join("bwrap-ran");
    let bin = marker_bwrap(tools.path(), &marker);
    Fixture {
        workspace: ws.path().to_path_buf(),
        outside: out.path().to_path_buf(),
        policy,
        marker,
        path_var: format!("{}:/usr/bin:/bin", bin.display()),
        _dirs: vec![ws, out, tools],
    }
}

fn sandbox_run(f: &Fixture, extra: &[&str], script: &str) -> Output {
    let out = Command::new(sandbox_exe())
        .arg("run")
        .args(extra)
        .arg("--policy")
        .arg(&f.policy)
        .arg("--cwd")
        .arg(&f.workspace)
        .args(["--", "/bin/sh", "-c", script])
        .env("PATH", &f.path_var)
        .output()
        .unwrap();
    eprintln!("stdout:\n{}\nstderr:\n{}", texts(&out).0, texts(&out).1);
    out
}

#[test]
fn legacy_run_confines_writes_network_and_privileges() {
    if is_rerun() {
        let f = fixture(LEGACY_POLICY);
        let out = sandbox_run(&f, &["--legacy-landlock"], &probe_script(&f.outside));
        let (stdout, _) = texts(&out);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout.contains("inside=ok"), "{stdout}");
        assert!(stdout.contains("outside=denied"), "{stdout}");
        assert!(!f.outside.join("f").exists());
        assert!(stdout.contains("NoNewPrivs:\t1"), "{stdout}");
        assert!(stdout.contains("CapEff:\t0000000000000000"), "{stdout}");
        assert!(stdout.contains("CapPrm:\t0000000000000000"), "{stdout}");
        assert!(stdout.contains("Operation not permitted"), "{stdout}");
        assert!(!f.marker.exists(), "legacy mode ran bwrap");
        return;
    }
    rerun_as_root_and_user(
        "legacy_run_confines_writes_network_and_privileges",
        &[],
        &[],
    );
}

#[test]
fn legacy_run_starts_a_session_of_its_own() {
    let f = fixture(LEGACY_POLICY);
    // The shell is the process the sandbox's child became: its session id is field 6 of
    // /proc/$$/stat (its name, `sh`, has no spaces).
    let script = "echo \"sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$\"";
    let out = sandbox_run(&f, &["--legacy-landlock"], script);
    let (stdout, _) = texts(&out);
    assert_eq!(out.status.code(), Some(0));
    let caller = nix::unistd::getsid(None).unwrap();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("sid="))
        .expect("no sid");
    let (sid, pid) = line["sid=".len()..].split_once(" pid=").unwrap();
    assert_ne!(
        sid,
        caller.to_string(),
        "the command is in the caller's session"
    );
    assert_eq!(
        sid, pid,
        "the command does not lead its own session: {line}"
    );
}

#[test]
fn legacy_landlock_in_the_policy_file_selects_legacy_mode() {
    let f = fixture(&format!("legacy_landlock = true\n{LEGACY_POLICY}"));
    let script = format!(
        "{}echo \"env=$SANDBOX_ENFORCER $SANDBOX_NETWORK $SANDBOX_WRITABLE_ROOTS \
         $CODEX_SANDBOX_NETWORK_DISABLED\"",
        probe_script(&f.outside)
    );
    let out = sandbox_run(&f, &[], &script);
    let (stdout, _) = texts(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("outside=denied"), "{stdout}");
    let env = format!("env=landlock restricted {} 1", f.workspace.display());
    assert!(stdout.contains(&env), "{stdout}");
    assert!(!f.marker.exists(), "legacy mode ran bwrap");
}

#[test]
fn unrepresentable_policy_is_refused_before_anything_runs() {
    let f = fixture(
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"docs\" = \"read\"\n",
    );
    let stderr = legacy_run_refused(&f);
    assert!(
        stderr.contains("legacy Landlock mode cannot honour"),
        "{stderr}"
    );
    assert!(stderr.contains("(docs) is read-only"), "{stderr}");
    assert!(stderr.contains(".git (protected metadata)"), "{stderr}");
    assert!(
        stderr.contains("legacy_unprotected_metadata = true"),
        "the refusal names the switch: {stderr}"
    );
    assert!(!f.marker.exists(), "bwrap ran");
}

/// The default-like policy (workspace writable, metadata not waived), as legacy mode
/// refuses it without the switch.
const UNWAIVED: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n";

#[test]
fn the_unprotected_metadata_switch_runs_legacy_mode_with_a_warning_every_time() {
    for (policy, flags) in [
        (
            UNWAIVED.to_owned(),
            &["--legacy-landlock", "--legacy-unprotected-metadata"][..],
        ),
        (
            format!("legacy_landlock = true\nlegacy_unprotected_metadata = true\n{UNWAIVED}"),
            &[][..],
        ),
    ] {
        let f = fixture(&policy);
        std::fs::create_dir(f.workspace.join(".git")).unwrap();
        for _ in 0..2 {
            let out = sandbox_run(
                &f,
                flags,
                &format!(
                    "{}touch .git/written && echo GIT_WRITTEN",
                    probe_script(&f.outside)
                ),
            );
            let (stdout, stderr) = texts(&out);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            assert!(stdout.contains("inside=ok"), "{stdout}");
            assert!(stdout.contains("outside=denied"), "{stdout}");
            // What the switch accepts, and says on every run.
            assert!(stdout.contains("GIT_WRITTEN"), "{stdout}");
            assert!(
                stderr.contains("sandbox: warning: legacy Landlock mode"),
                "{stderr}"
            );
            assert!(
                stderr.contains(&f.workspace.join(".git").display().to_string()),
                "{stderr}"
            );
            assert!(!f.marker.exists(), "legacy mode ran bwrap");
        }
    }
    // Without the switch the same policy is refused.
    let f = fixture(UNWAIVED);
    let stderr = legacy_run_refused(&f);
    assert!(stderr.contains("--legacy-unprotected-metadata"), "{stderr}");
}

#[test]
fn the_switch_accepts_only_metadata() {
    let f = fixture(&format!(
        "legacy_unprotected_metadata = true\n{UNWAIVED}\"docs\" = \"read\"\n"
    ));
    let stderr = legacy_run_refused(&f);
    assert!(stderr.contains("(docs) is read-only"), "{stderr}");
    assert!(!stderr.contains("(protected metadata)"), "{stderr}");
}

/// Runs a marker-creating command in legacy mode, asserts that it was refused (125) and
/// never ran, and returns stderr.
fn legacy_run_refused(f: &Fixture) -> String {
    let ran = f.workspace.join("command-ran");
    let out = sandbox_run(
        f,
        &["--legacy-landlock"],
        &format!("touch {}", ran.display()),
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(!ran.exists(), "the command ran");
    stderr
}

#[test]
fn legacy_mode_refuses_when_landlock_is_unavailable() {
    if is_rerun() {
        let stderr = legacy_run_refused(&fixture(LEGACY_POLICY));
        assert!(stderr.contains("Landlock cannot fully enforce"), "{stderr}");
        return;
    }
    rerun_as_root_and_user_with(
        "legacy_mode_refuses_when_landlock_is_unavailable",
        &[],
        &[],
        without_landlock,
    );
}

#[test]
fn wsl1_refuses_bwrap_but_runs_legacy_mode() {
    if is_rerun() {
        let f = fixture(LEGACY_POLICY);
        let out = sandbox_run(&f, &[], "echo should-not-run");
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(125));
        assert!(stderr.contains("WSL2"), "{stderr}");
        assert!(!stdout.contains("should-not-run"));
        assert!(!f.marker.exists(), "bwrap was invoked on WSL1");
        let out = sandbox_run(&f, &["--legacy-landlock"], &probe_script(&f.outside));
        let (stdout, _) = texts(&out);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout.contains("outside=denied"), "{stdout}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let version = dir.path().join("version");
    std::fs::write(
        &version,
        "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com)\n",
    )
    .unwrap();
    let script = r#"mount --bind "$0" /proc/version && exec "$@""#;
    let version = version.to_str().unwrap();
    let out = rerun(
        "wsl1_refuses_bwrap_but_runs_legacy_mode",
        &["unshare", "-m", "sh", "-c", script, version],
        &[],
    );
    assert_child_passed(&out);
}

#[test]
fn explain_refuses_legacy_mode_which_has_no_bwrap_plan() {
    let f = fixture(LEGACY_POLICY);
    let out = Command::new(sandbox_exe())
        .args(["explain", "--legacy-landlock", "--cwd"])
        .arg(&f.workspace)
        .args(["--", "true"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr.contains("no bwrap plan"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}
