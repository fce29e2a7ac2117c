//! Helpers shared by the launcher/host integration tests: files written without leaving a
//! writable descriptor in this (multi-threaded) process, and re-running one test in a
//! child process placed in a different host condition (namespace, user, seccomp filter).
#![allow(dead_code)] // each test file uses a subset

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sandbox::launcher::Context;

#[path = "../common/prereq.rs"]
mod prereq;
pub use prereq::skip;
use sandbox::launcher::bundled::Expected;

/// The environment variable that marks a re-run child.
pub const RERUN_MARKER: &str = "SANDBOX_HOST_TEST_RERUN";

/// Debian's bubblewrap 0.8.0.
pub const SYSTEM_BWRAP: &str = "/usr/bin/bwrap";

/// Whether this process is a re-run child of a test.
pub fn is_rerun() -> bool {
    std::env::var_os(RERUN_MARKER).is_some()
}

/// The command that runs test `name` of this test binary again, started through `wrapper`
/// (a command prefix, may be empty), with the re-run marker and `env` set.
pub fn rerun_command(name: &str, wrapper: &[&str], env: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut argv: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
    argv.push("env".into());
    argv.push(format!("{RERUN_MARKER}=1"));
    argv.push("PATH=/usr/sbin:/usr/bin:/sbin:/bin".into());
    argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    argv.push(exe.to_str().unwrap().into());
    argv.extend(["--exact", name, "--nocapture", "--test-threads=1"].map(String::from));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// Runs a [`rerun_command`] and shows its output.
pub fn run_child(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "--- child stdout:\n{}\n--- child stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs test `name` again through `wrapper` with `env` (see [`rerun_command`]).
pub fn rerun(name: &str, wrapper: &[&str], env: &[(&str, &str)]) -> Output {
    run_child(rerun_command(name, wrapper, env))
}

/// Runs test `name` again through `root_wrapper` as root and then, if the user exists,
/// through `user_wrapper` as `bwraptest`, asserting that both children pass.
pub fn rerun_as_root_and_user(name: &str, root_wrapper: &[&str], user_wrapper: &[&str]) {
    rerun_as_root_and_user_with(name, root_wrapper, user_wrapper, |_| {});
}

/// Like [`rerun_as_root_and_user`], with `prepare` applied to each child's command (e.g.
/// [`without_landlock`]).
pub fn rerun_as_root_and_user_with(
    name: &str,
    root_wrapper: &[&str],
    user_wrapper: &[&str],
    prepare: fn(&mut Command),
) {
    let mut as_root = rerun_command(name, root_wrapper, &[]);
    prepare(&mut as_root);
    assert_child_passed(&run_child(as_root));
    match as_bwraptest() {
        Some(mut user) => {
            user.extend_from_slice(user_wrapper);
            let mut as_user = rerun_command(name, &user, &[]);
            prepare(&mut as_user);
            assert_child_passed(&run_child(as_user));
        }
        None => skip("the bwraptest run: no bwraptest user (ci/setup creates it)"),
    }
}

/// Asserts that the re-run child ran the test (not zero tests) and that it passed.
pub fn assert_child_passed(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    assert!(stdout.contains("1 passed"), "child ran no test: {stdout}");
}

/// The prefix that runs a command as the unprivileged `bwraptest` user, if it exists.
pub fn as_bwraptest() -> Option<Vec<&'static str>> {
    let exists = Command::new("id")
        .arg("bwraptest")
        .output()
        .is_ok_and(|o| o.status.success());
    exists.then(|| {
        vec![
            "setpriv",
            "--reuid=bwraptest",
            "--regid=bwraptest",
            "--init-groups",
            "--reset-env",
        ]
    })
}

/// Writes an executable file through a child process, so no descriptor open for writing
/// on it ever exists in this process (which would make a later exec fail with ETXTBSY).
pub fn install_executable(path: &Path, contents: &[u8]) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, contents).unwrap();
    let status = Command::new("install")
        .arg("-m0755")
        .arg(&staging)
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "install {}", path.display());
    std::fs::remove_file(staging).unwrap();
}

/// Installs a shell script as an executable.
pub fn install_script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    install_executable(path, format!("#!/bin/sh\n{body}\n").as_bytes());
}

/// Installs a copy of the system bwrap at `path`, optionally with extra bytes appended.
pub fn install_bwrap_copy(path: &Path, appended: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut bytes = std::fs::read(SYSTEM_BWRAP).unwrap();
    bytes.extend_from_slice(appended);
    install_executable(path, &bytes);
}

/// The system bwrap's help text with the lines naming `drop` removed.
pub fn system_help_without(drop: &str) -> String {
    let out = Command::new(SYSTEM_BWRAP).arg("--help").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.split_whitespace().any(|w| w == drop))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A context with a fake `sandbox` executable at `<root>/bin/sandbox`, the given `PATH`
/// and expected digest, and no runfiles candidate.
pub fn context(root: &Path, path_var: &str, expected: Expected) -> Context {
    Context {
        exe: root.join("bin/sandbox"),
        path_var: Some(path_var.into()),
        expected,
        runfiles_bwrap: None,
    }
}

/// Where [`context`] looks for the same-directory bundled bwrap.
pub fn bundled_path(root: &Path) -> PathBuf {
    root.join("bin/bwrap")
}

/// Whether the system bwrap exists, or why a test can't run (for [`skip`]).
pub fn system_bwrap() -> Result<(), String> {
    if !Path::new(SYSTEM_BWRAP).exists() {
        return Err(format!(
            "{SYSTEM_BWRAP} is not installed (ci/setup installs bubblewrap)"
        ));
    }
    Ok(())
}

/// Makes `cmd` start under a seccomp filter that fails the three Landlock syscalls with
/// ENOSYS, as on a kernel without Landlock.
pub fn without_landlock(cmd: &mut Command) {
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
    let rules = [
        libc::SYS_landlock_create_ruleset,
        libc::SYS_landlock_add_rule,
        libc::SYS_landlock_restrict_self,
    ]
    .into_iter()
    .map(|nr| (nr, vec![]))
    .collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        TargetArch::x86_64,
    )
    .unwrap();
    let program: BpfProgram = filter.try_into().unwrap();
    // SAFETY: the closure only calls prctl and seccomp through apply_filter on a program
    // built before the fork; it allocates nothing on success.
    unsafe {
        cmd.pre_exec(move || seccompiler::apply_filter(&program).map_err(std::io::Error::other));
    }
}

/// The `sandbox` binary under test.
pub fn sandbox_exe() -> &'static str {
    env!("CARGO_BIN_EXE_sandbox")
}

/// A directory holding a `bwrap` script that records (by creating `marker`) that it ran,
/// then runs the system bwrap. Returns the directory, for PATH.
pub fn marker_bwrap(dir: &Path, marker: &Path) -> PathBuf {
    let bin = dir.join("marker-bin");
    install_script(
        &bin.join("bwrap"),
        &format!("touch {}; exec {SYSTEM_BWRAP} \"$@\"", marker.display()),
    );
    bin
}

/// Stdout and stderr of a finished command, decoded.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the rest of its argv with user namespaces off: `max_user_namespaces` is per user
/// namespace, so it is set to 0 in a fresh one only, never on the host.
pub const USERNS_OFF: [&str; 6] = [
    "unshare",
    "-Ur",
    "sh",
    "-c",
    r#"echo 0 > /proc/sys/user/max_user_namespaces && exec "$@""#,
    "sh",
];
