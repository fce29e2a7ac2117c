//! Shared helpers for the integration tests: targets (user x bwrap), fixtures, runs.
//!
//! Every guarantee test runs on the real kernel once per target: as root and as the
//! unprivileged `bwraptest` user (through `setpriv`), with Debian's C bwrap
//! (`/usr/bin/bwrap`, no `--argv0`: the compatibility path) and with the Rust bwrap when
//! one is built (`$SANDBOX_TEST_RUST_BWRAP`, or `bwrap` next to the `sandbox` binary).
//! Targets that are not available are skipped with a printed reason (under CI, where all
//! are installed, a missing one fails: [`skip`]).

#![allow(dead_code)]

pub mod attack;
pub mod prereq;

pub use prereq::skip;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Who runs the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// uid 0.
    Root,
    /// `bwraptest` (uid 1001), through setpriv.
    Test,
}

/// One way of running the sandbox.
#[derive(Debug, Clone)]
pub struct Target {
    pub user: User,
    pub bwrap: PathBuf,
    pub label: String,
}

pub const TEST_USER: &str = "bwraptest";

pub fn sandbox_bin() -> &'static str {
    env!("CARGO_BIN_EXE_sandbox")
}

fn rust_bwrap() -> Option<PathBuf> {
    let candidates = std::env::var_os("SANDBOX_TEST_RUST_BWRAP")
        .map(PathBuf::from)
        .into_iter()
        .chain(Path::new(sandbox_bin()).parent().map(|d| d.join("bwrap")));
    for candidate in candidates {
        if !candidate.is_file() {
            continue;
        }
        let ok = Command::new(&candidate)
            .args([
                "--unshare-user",
                "--unshare-pid",
                "--as-pid-1",
                "--ro-bind",
                "/",
                "/",
                "--",
                "true",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(candidate);
        }
        eprintln!(
            "skip: Rust bwrap {} does not run a trivial sandbox",
            candidate.display()
        );
    }
    None
}

fn test_user_exists() -> bool {
    Command::new("id")
        .arg(TEST_USER)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// All available targets (computed once; skip reasons printed once per test binary).
pub fn targets() -> Vec<Target> {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    TARGETS
        .get_or_init(|| {
            let mut bwraps = vec![("c-bwrap", PathBuf::from("/usr/bin/bwrap"))];
            match rust_bwrap() {
                Some(path) => bwraps.push(("rust-bwrap", path)),
                None => skip(
                    "no working Rust bwrap (set SANDBOX_TEST_RUST_BWRAP or build it into the target dir); testing /usr/bin/bwrap only"
                ),
            }
            let mut users = vec![User::Root];
            if nix::unistd::geteuid().is_root() && test_user_exists() {
                users.push(User::Test);
            } else {
                skip(format!("the {TEST_USER} runs need root and the {TEST_USER} user (ci/setup)"));
            }
            let mut out = Vec::new();
            for user in users {
                for (name, path) in &bwraps {
                    out.push(Target {
                        user,
                        bwrap: path.clone(),
                        label: format!("{name} as {}", if user == User::Root { "root" } else { TEST_USER }),
                    });
                }
            }
            out
        })
        .clone()
}

/// Runs `check` for every target, naming the target when it fails.
pub fn for_each_target(mut check: impl FnMut(&Target)) {
    for target in targets() {
        eprintln!("--- {}", target.label);
        check(&target);
    }
}

/// A world-accessible directory tree under /tmp, owned by the target user when run.
pub struct Fixture {
    dir: tempfile::TempDir,
    aux: tempfile::TempDir,
}

fn world_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            dir: world_dir("sbx-ws-"),
            aux: world_dir("sbx-aux-"),
        }
    }

    /// The workspace root (canonical).
    pub fn ws(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    /// A directory outside the workspace, for policy files and outside data.
    pub fn aux(&self) -> PathBuf {
        self.aux.path().canonicalize().unwrap()
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.ws().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.ws().join(rel);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub fn symlink(&self, target: &str, rel: &str) -> PathBuf {
        let path = self.ws().join(rel);
        std::os::unix::fs::symlink(target, &path).unwrap();
        path
    }

    /// Writes a policy file in the aux directory and returns its path.
    pub fn policy(&self, name: &str, text: &str) -> PathBuf {
        let path = self.aux().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Gives both trees to `user` (recursively), as a real user's files would be.
    pub fn give_to(&self, user: User) {
        let owner = match user {
            User::Root => "root:root".to_string(),
            User::Test => format!("{TEST_USER}:{TEST_USER}"),
        };
        for dir in [self.ws(), self.aux()] {
            let ok = Command::new("chown")
                .args(["-R", "-h", &owner])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(ok.success(), "chown {owner} {}", dir.display());
        }
    }
}

/// The result of one `sandbox` invocation.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A `Command` running `program` as the target's user.
pub fn command_as(user: User, program: &str) -> Command {
    match user {
        User::Root => {
            // Mirror setpriv --reset-env for the variables the sandbox reads.
            let mut c = Command::new(program);
            c.env_remove("TMPDIR").env_remove("XDG_RUNTIME_DIR");
            c
        }
        User::Test => {
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

/// Runs `sandbox SUBCOMMAND --bwrap B ARGS...` as the target's user.
pub fn sandbox(target: &Target, subcommand: &str, args: &[&str]) -> Output {
    let mut c = command_as(target.user, sandbox_bin());
    c.arg(subcommand)
        .arg("--bwrap")
        .arg(&target.bwrap)
        .args(args);
    to_output(c.output().unwrap())
}

pub fn to_output(o: std::process::Output) -> Output {
    let code = o.status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&o.status).unwrap_or(0)
    });
    Output {
        status: code,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `sh -c SCRIPT` in the fixture's workspace under `policy` (None: the default).
pub fn run_sh(target: &Target, fixture: &Fixture, policy: Option<&Path>, script: &str) -> Output {
    fixture.give_to(target.user);
    let ws = fixture.ws();
    let mut args: Vec<String> = Vec::new();
    if let Some(p) = policy {
        args.extend(["--policy".to_string(), p.display().to_string()]);
    }
    args.extend([
        "--cwd".to_string(),
        ws.display().to_string(),
        "--".into(),
        "sh".into(),
        "-c".into(),
        script.into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox(target, "run", &args)
}

/// Asserts a run succeeded, printing its output otherwise.
#[track_caller]
pub fn assert_ok(out: &Output, target: &Target) {
    assert_eq!(
        out.status, 0,
        "[{}] stdout:\n{}\nstderr:\n{}",
        target.label, out.stdout, out.stderr
    );
}

/// Starts `sandbox run --bwrap B --cwd WS -- COMMAND...` in the background (stdout piped).
pub fn spawn_run(target: &Target, ws: &Path, command: &[&str]) -> std::process::Child {
    let mut c = command_as(target.user, sandbox_bin());
    c.args(["run", "--bwrap"])
        .arg(&target.bwrap)
        .arg("--cwd")
        .arg(ws)
        .arg("--")
        .args(command);
    c.stdout(std::process::Stdio::piped()).spawn().unwrap()
}

/// Waits (up to 10 s) until `path` exists.
pub fn wait_for(path: &Path) {
    let start = std::time::Instant::now();
    while !path.exists() && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(path.exists(), "{} never appeared", path.display());
}

/// Sends SIGTERM to a spawned sandbox and collects its output.
pub fn terminate(child: std::process::Child) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    to_output(child.wait_with_output().unwrap())
}

/// Asserts the sandbox refused to run (125, a `sandbox:` message containing `needles`),
/// and that the command (which would create `marker`) did not run.
#[track_caller]
pub fn assert_refused(out: &Output, target: &Target, needles: &[&str], marker: &Path) {
    assert_eq!(out.status, 125, "[{}] {out:?}", target.label);
    assert!(
        out.stderr.starts_with("sandbox:"),
        "[{}] {out:?}",
        target.label
    );
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "[{}] must mention {needle:?}: {out:?}",
            target.label
        );
    }
    assert!(!marker.exists(), "[{}] the command ran", target.label);
}

/// Writes an executable script without this (multi-threaded) process ever holding a
/// writable descriptor to it: a descriptor inherited by a concurrent fork would make
/// executing the script fail with ETXTBSY.
pub fn write_executable(path: &Path, contents: &str) {
    let status = Command::new("sh")
        .args([
            "-c",
            "printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"",
            "sh",
            contents,
        ])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "writing {}", path.display());
}
