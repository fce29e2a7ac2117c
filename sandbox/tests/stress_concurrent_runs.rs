//! Issue 9: concurrent runs never break each other, whoever starts them. Rounds of 16 runs
//! start at once, as root and as `bwraptest`, with different `XDG_RUNTIME_DIR`s (and none),
//! `TMPDIR=/tmp`, on workspaces shared by both users and on each user's own, with and without
//! `.git`, some with missing deny and read paths, and two per round SIGKILLed (the `sandbox`
//! process itself) while the command sleeps. Every other run must exit 0 with its output, and
//! afterwards nothing may be left: no placeholder in `/tmp` or a workspace that was not there
//! before, no new directory, no process.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::attack::{Node, diff, node_at, settle, snapshot};
use common::*;
use sandbox::plan::PROTECTED_NAMES;

const ROUNDS: usize = 5;
const RUNS_PER_ROUND: usize = 16;
/// Every how many runs one is SIGKILLed (index `KILL_EVERY - 1` of each group).
const KILL_EVERY: usize = 8;
/// How many runtime directories each user gets (runs also use none).
const RUNTIME_DIRS: usize = 3;

/// The directories of one stress test, under /var/tmp.
struct Layout {
    base: tempfile::TempDir,
    /// Workspaces both users may create entries in (root's, mode 0777).
    shared: Vec<PathBuf>,
    /// Each user's own workspaces.
    own: BTreeMap<&'static str, Vec<PathBuf>>,
    /// Each user's runtime directories.
    runtime: BTreeMap<&'static str, Vec<PathBuf>>,
    /// A policy with missing deny and read paths.
    missing_policy: PathBuf,
}

fn dir(path: &Path, owner: &str, mode: u32) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    let ok = Command::new("chown").arg(owner).arg(path).status().unwrap();
    assert!(ok.success(), "chown {owner} {}", path.display());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_path_buf()
}

fn git_init(ws: &Path, owner: &str) {
    let ok = Command::new("git")
        .args(["init", "-q"])
        .arg(ws)
        .status()
        .unwrap();
    assert!(ok.success(), "git init {}", ws.display());
    let ok = Command::new("chown")
        .args(["-R", owner])
        .arg(ws.join(".git"))
        .status()
        .unwrap();
    assert!(ok.success());
}

fn layout() -> Layout {
    let base = tempfile::Builder::new()
        .prefix("sbx-stress-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let b = base.path().canonicalize().unwrap();
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).unwrap();
    let shared = vec![
        dir(&b.join("shared-git"), "root:root", 0o777),
        dir(&b.join("shared-bare"), "root:root", 0o777),
    ];
    git_init(&shared[0], "root:root");
    let mut own = BTreeMap::new();
    let mut runtime = BTreeMap::new();
    for (name, owner) in [("root", "root:root"), (TEST_USER, "bwraptest:bwraptest")] {
        let with_git = dir(&b.join(format!("{name}-git")), owner, 0o755);
        git_init(&with_git, owner);
        let bare = dir(&b.join(format!("{name}-bare")), owner, 0o755);
        own.insert(name, vec![with_git, bare]);
        let dirs = (0..RUNTIME_DIRS)
            .map(|i| dir(&b.join(format!("xdg-{name}-{i}")), owner, 0o700))
            .collect();
        runtime.insert(name, dirs);
    }
    let missing_policy = b.join("missing.toml");
    std::fs::write(
        &missing_policy,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\":tmpdir\" = \"write\"\n\
         \"absent/deep/secret\" = \"none\"\n\"missing.txt\" = \"read\"\n\"absent.env\" = \"none\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&missing_policy, std::fs::Permissions::from_mode(0o644)).unwrap();
    Layout {
        base,
        shared,
        own,
        runtime,
        missing_policy,
    }
}

/// One run of a round.
struct Run {
    label: String,
    killed: bool,
    expected: String,
    child: Child,
}

/// Starts run `i` of a round: user, workspace, runtime directory and policy vary with `i`.
fn start(layout: &Layout, bwrap: &Path, round: usize, i: usize) -> Run {
    let (user, name) = if i.is_multiple_of(2) {
        (User::Root, "root")
    } else {
        (User::Test, TEST_USER)
    };
    let spot = (i / 2 + round) % 4;
    let ws = match spot {
        0 | 1 => &layout.shared[spot],
        _ => &layout.own[name][spot - 2],
    };
    let xdg = (i / 2 + round) % (RUNTIME_DIRS + 1);
    let xdg = (xdg < RUNTIME_DIRS).then(|| &layout.runtime[name][xdg]);
    let missing = i.is_multiple_of(3);
    let killed = i % KILL_EVERY == KILL_EVERY - 1;
    let expected = format!("OK-{round}-{i}");
    let script = if killed {
        "echo STARTED; exec sleep 30".to_string()
    } else {
        format!(
            "mkdir .codex/x 2>/dev/null && echo BROKEN; touch .agents/x 2>/dev/null && echo BROKEN; echo {expected}"
        )
    };
    let mut env = vec!["TMPDIR=/tmp".to_string()];
    if let Some(x) = xdg {
        env.push(format!("XDG_RUNTIME_DIR={}", x.display()));
    }
    let mut c = command_as(user, "env");
    c.arg("-u")
        .arg("XDG_RUNTIME_DIR")
        .args(&env)
        .arg(sandbox_bin());
    c.arg("run").arg("--bwrap").arg(bwrap);
    if missing {
        c.arg("--policy").arg(&layout.missing_policy);
    }
    c.arg("--cwd").arg(ws).args(["--", "sh", "-c", &script]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let label = format!(
        "round {round} run {i}: {name} on {} xdg={} policy={} killed={killed}",
        ws.display(),
        xdg.map_or("none".into(), |x| x.display().to_string()),
        if missing { "missing-paths" } else { "default" },
    );
    Run {
        label,
        killed,
        expected,
        child: c.spawn().unwrap(),
    }
}

/// Waits for a run; kills it first once its command has started if it is to be killed.
/// Returns a description of what went wrong, if anything did.
fn finish(mut run: Run) -> Option<String> {
    if run.killed {
        let mut stdout = BufReader::new(run.child.stdout.take().unwrap());
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let pid = nix::unistd::Pid::from_raw(run.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let mut stderr = String::new();
        let _ = run.child.stderr.take().unwrap().read_to_string(&mut stderr);
        let _ = run.child.wait();
        return (line.trim() != "STARTED")
            .then(|| format!("{}: never started: {line:?} {stderr}", run.label));
    }
    let out = to_output(run.child.wait_with_output().unwrap());
    (out.status != 0 || out.stdout.trim() != run.expected)
        .then(|| format!("{}: {out:?}", run.label))
}

/// Processes whose working directory is under `base` (bwrap, the inner stage, commands).
fn processes_under(base: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(base) {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            found.push(format!("{}: {cmd}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// What the test cares about on the host: the protected names in /tmp and everything
/// under the test's directory except the runtime directories (the sandbox's own state).
fn host_state(base: &Path) -> BTreeMap<PathBuf, Node> {
    let mut state: BTreeMap<PathBuf, Node> = snapshot(base)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().starts_with("xdg-"))
        .collect();
    for name in PROTECTED_NAMES {
        let path = Path::new("/tmp").join(name);
        if let Some(node) = node_at(&path) {
            state.insert(path, node);
        }
    }
    state
}

#[test]
fn concurrent_runs_of_both_users_and_both_bwraps_never_break_each_other() {
    let mut bwraps: Vec<PathBuf> = Vec::new();
    for t in targets() {
        if !bwraps.contains(&t.bwrap) {
            bwraps.push(t.bwrap);
        }
    }
    if !targets().iter().any(|t| t.user == User::Test) {
        return skip(format!(
            "the stress test needs root and the {TEST_USER} user (ci/setup)"
        ));
    }
    let layout = layout();
    let base = layout.base.path().canonicalize().unwrap();
    let before = host_state(&base);
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut total = 0;
    let mut killed = 0;
    for bwrap in &bwraps {
        for round in 0..ROUNDS {
            let runs: Vec<Run> = (0..RUNS_PER_ROUND)
                .map(|i| start(&layout, bwrap, round, i))
                .collect();
            total += runs.len();
            killed += runs.iter().filter(|r| r.killed).count();
            let failed: Vec<String> = std::thread::scope(|s| {
                let handles: Vec<_> = runs
                    .into_iter()
                    .map(|run| s.spawn(move || finish(run)))
                    .collect();
                handles
                    .into_iter()
                    .filter_map(|h| h.join().unwrap())
                    .collect()
            });
            failures.extend(
                failed
                    .into_iter()
                    .map(|f| format!("{}: {f}", bwrap.display())),
            );
        }
    }
    eprintln!(
        "{total} runs ({killed} SIGKILLed once started) in {:.1} s, {} unexpected failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    let processes = settle(Duration::from_secs(5), || processes_under(&base));
    // A placeholder in the shared /tmp that was there before belongs to a run of someone
    // else (another test binary, another user): its owner removing it is no litter of ours.
    let theirs = |line: &String| {
        PROTECTED_NAMES.iter().any(|name| {
            let path = Path::new("/tmp").join(name);
            *line == format!("removed {}", path.display())
                && matches!(before.get(&path), Some(Node::Dir(mode)) if mode & 0o7777 == 0o1555)
        })
    };
    let litter = settle(Duration::from_secs(5), || {
        let mut left = diff(&before, &host_state(&base));
        left.retain(|line| !theirs(line));
        left
    });
    assert!(
        failures.is_empty() && processes.is_empty() && litter.is_empty(),
        "{} of {total} runs failed unexpectedly:\n{}\nprocesses left: {processes:#?}\nleft on the host: {litter:#?}",
        failures.len(),
        failures.join("\n")
    );
}
