//! Probe answers remembered between runs (`launcher::cache`): a stale or forged answer can
//! make a run fail or hide `/proc`, never run the command in a weaker sandbox, and the
//! user-namespace warning is not lost. Each test uses its own registry (XDG_RUNTIME_DIR)
//! and runs as root and as `bwraptest`.

mod host_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host_support::*;

/// `sandbox run --bwrap BWRAP --cwd WS -- sh -c CMD` with the registry under `runtime`,
/// stderr merged into stdout (so their order is kept).
fn run(runtime: &Path, bwrap: &Path, workspace: &Path, command: &str) -> (Option<i32>, String) {
    let out: Output = Command::new("/bin/sh")
        .args([
            "-c",
            r#"exec "$@" 2>&1"#,
            "sh",
            sandbox_exe(),
            "run",
            "--bwrap",
        ])
        .arg(bwrap)
        .arg("--cwd")
        .arg(workspace)
        .args(["--", "/bin/sh", "-c", command])
        .env("XDG_RUNTIME_DIR", runtime)
        .output()
        .unwrap();
    let merged = texts(&out).0;
    eprintln!("{merged}");
    (out.status.code(), merged)
}

/// The remembered answers in the registry under `runtime`.
fn answers(runtime: &Path) -> Vec<PathBuf> {
    let uid = nix::unistd::geteuid();
    let dir = runtime.join(format!("sandbox-placeholders-{uid}"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("probe-")
        })
        .collect();
    found.sort();
    found
}

/// Replaces the answer (everything after the key line) of the remembered `name`.
fn forge(runtime: &Path, name: &str, answer: &str) {
    let file = answers(runtime)
        .into_iter()
        .find(|p| p.ends_with(format!("probe-{name}")))
        .unwrap_or_else(|| panic!("no remembered {name}"));
    let text = std::fs::read_to_string(&file).unwrap();
    let key = text.split_once('\n').unwrap().0;
    std::fs::write(&file, format!("{key}\n{answer}")).unwrap();
}

#[test]
fn a_stale_user_namespace_answer_fails_closed_and_still_warns() {
    if !is_rerun() {
        if let Err(why) = system_bwrap() {
            return skip(why);
        }
        rerun_as_root_and_user(
            "a_stale_user_namespace_answer_fails_closed_and_still_warns",
            &[],
            &[],
        );
        return;
    }
    let runtime = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let tools = tempfile::tempdir().unwrap();
    // A bwrap that loses its user namespaces once `broken` exists, as after a sysctl or
    // AppArmor change the remembered key does not see; `--help` keeps working.
    let broken = tools.path().join("broken");
    let bwrap = tools.path().join("bin/bwrap");
    install_script(
        &bwrap,
        &format!(
            r#"case "$1" in --help|--version) exec {SYSTEM_BWRAP} "$@";; esac
[ -e {broken} ] && {{ echo "bwrap: No permissions to create a new namespace" >&2; exit 1; }}
exec {SYSTEM_BWRAP} "$@""#,
            broken = broken.display()
        ),
    );
    let (code, out) = run(runtime.path(), &bwrap, workspace.path(), "echo first-run");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("first-run") && !out.contains("warning"),
        "{out}"
    );
    assert_eq!(
        answers(runtime.path()).len(),
        3,
        "help, userns and /proc remembered"
    );

    std::fs::write(&broken, "").unwrap();
    let (code, out) = run(runtime.path(), &bwrap, workspace.path(), "echo stale-run");
    assert_eq!(code, Some(125), "{out}");
    assert!(!out.contains("stale-run"), "{out}");
    assert!(
        out.contains("bwrap cannot create user namespaces"),
        "the failed start re-checks what the stale answer said: {out}"
    );
    assert_eq!(answers(runtime.path()), Vec::<PathBuf>::new(), "forgotten");

    let (code, out) = run(runtime.path(), &bwrap, workspace.path(), "echo next-run");
    assert_eq!(code, Some(125), "{out}");
    let warning = out.find("bwrap cannot create user namespaces").expect(&out);
    assert!(
        warning < out.rfind("sandbox: ").unwrap(),
        "warned first: {out}"
    );
}

#[test]
fn forged_probe_answers_never_weaken_the_sandbox() {
    if !is_rerun() {
        if let Err(why) = system_bwrap() {
            return skip(why);
        }
        rerun_as_root_and_user("forged_probe_answers_never_weaken_the_sandbox", &[], &[]);
        return;
    }
    let runtime = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let bwrap = Path::new(SYSTEM_BWRAP);
    let (code, out) = run(runtime.path(), bwrap, workspace.path(), "echo remembered");
    assert_eq!(code, Some(0), "{out}");

    // "This bwrap takes --argv0" for Debian's 0.8.0, which does not: the start fails.
    forge(runtime.path(), "help", "usable argv0");
    let (code, out) = run(runtime.path(), bwrap, workspace.path(), "echo forged-argv0");
    assert_eq!(code, Some(125), "{out}");
    assert!(!out.contains("forged-argv0"), "{out}");
    assert_eq!(answers(runtime.path()), Vec::<PathBuf>::new(), "forgotten");
    let (code, out) = run(runtime.path(), bwrap, workspace.path(), "echo probed-again");
    assert_eq!(code, Some(0), "{out}");

    // "/proc cannot be mounted": the command runs with /proc hidden, never the host's.
    forge(runtime.path(), "proc-restricted", "refused\nforged refusal");
    let (code, out) = run(
        runtime.path(),
        bwrap,
        workspace.path(),
        "echo entries=$(ls -A /proc | wc -l)",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("refuses a fresh /proc (forged refusal)"),
        "{out}"
    );
    assert!(out.contains("entries=0"), "{out}");
}
