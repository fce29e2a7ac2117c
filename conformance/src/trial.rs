//! One trial: a case run against a target, from fixture to verdict.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::binaries::Binaries;
use crate::case::{Case, RunSpec};
use crate::check::{self, HostState};
use crate::exec::{self, DelayedSignal, Output};
use crate::fixture::FixtureDir;
use crate::launch::{self, PeerLaunch};
use crate::peers::{Context, Refusal};
use crate::placeholders::Placeholders;
use crate::resources::HostResources;
use crate::targets::{Kind, Target};

/// The verdict of one trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every expectation held.
    Pass,
    /// Something did not hold; the message says what, run by run.
    Fail(String),
    /// The target (a peer) can't express an element of the case's policy or runs: the
    /// reason says which. Never a pass.
    Unsupported(String),
    /// The case does not apply to the target, or the host can't offer the target.
    Ignored(String),
}

/// What every trial of a session shares.
pub struct Session {
    /// The binaries under test.
    pub bins: Binaries,
    /// Where fixture roots are created (world-accessible).
    pub base: std::path::PathBuf,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

const DEFAULT_TIMEOUT_S: u64 = 20;

/// Runs `case` against `target`.
pub fn run(session: &Session, case: &Case, target: &Target) -> Verdict {
    if let Some(reason) = &target.unavailable {
        if target.required {
            return Verdict::Fail(format!(
                "target unavailable under CI (ci/setup and ci/peers install every target): {reason}"
            ));
        }
        return Verdict::Ignored(format!("target unavailable: {reason}"));
    }
    if let (false, Some(reason)) = (target.is_ours(), &case.interface) {
        return Verdict::Ignored(format!("about this sandbox's own interface: {reason}"));
    }
    if let Some(reason) = case.ignored_on(target.name) {
        return Verdict::Ignored(reason);
    }
    match execute(session, case, target) {
        Ok(failures) if failures.is_empty() => Verdict::Pass,
        Ok(failures) => Verdict::Fail(failures.join("\n")),
        Err(Refusal::Unsupported(reason)) => Verdict::Unsupported(reason),
        Err(Refusal::Setup(setup)) => Verdict::Fail(format!("setup: {setup}")),
    }
}

fn base_placeholders(
    session: &Session,
    fixture: &FixtureDir,
    target: &Target,
    unique: u32,
) -> Placeholders {
    let mut vars = Placeholders::default();
    let root = fixture.root().display().to_string();
    vars.set("ws", format!("{root}/ws"));
    vars.set("tmp", format!("{root}/tmp"));
    vars.set("root", root);
    let bins = &session.bins;
    vars.set("sandbox", bins.sandbox.display().to_string());
    vars.set("probe", bins.probe.display().to_string());
    if let Some(dir) = bins.probe.parent() {
        vars.set("probe_dir", dir.display().to_string());
    }
    vars.set("bundled_bwrap", bins.bwrap.display().to_string());
    let bwrap = target.bwrap.as_ref().unwrap_or(&bins.bwrap);
    vars.set("bwrap", bwrap.display().to_string());
    vars.set("target", target.name);
    vars.set("target_args", target.sandbox_args.join(" "));
    vars.set("unique", format!("conf{}x{unique}", std::process::id()));
    vars.set("runner_pid", std::process::id().to_string());
    vars
}

/// A trial's fixture, host resources and placeholders, ready for the first run.
struct Prepared {
    fixture: FixtureDir,
    vars: Placeholders,
    resources: HostResources,
    policy_file: Option<std::path::PathBuf>,
    /// For a peer target: its launchers.
    peer: Option<PeerLaunch>,
}

fn prepare(session: &Session, case: &Case, target: &Target) -> Result<Prepared, Refusal> {
    let unique = COUNTER.fetch_add(1, Ordering::SeqCst);
    let fixture = FixtureDir::create(&session.base)?;
    let mut vars = base_placeholders(session, &fixture, target, unique);
    let resources = HostResources::create(&case.fixture, unique, &session.bins.probe, &mut vars)?;
    fixture.populate(&case.fixture, &vars)?;
    let policy_file = match case.policy_for(target.name) {
        Some(text) => {
            let path = fixture.root().join("policy.toml");
            std::fs::write(&path, vars.expand(text))
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    let policy_args = match &policy_file {
        Some(path) => format!("--policy {}", path.display()),
        None => String::new(),
    };
    vars.set("policy_args", policy_args);
    let cwd = fixture.path(&case.cwd)?;
    let peer = match &target.kind {
        Kind::Sandbox => {
            let ours = format!(
                "{} run {} {} --cwd {} --",
                session.bins.sandbox.display(),
                target.sandbox_args.join(" "),
                vars.get("policy_args").unwrap_or_default(),
                cwd.display()
            );
            vars.set("sandboxed", ours);
            None
        }
        Kind::Peer(install) => {
            let ctx = Context {
                ws: cwd,
                tmpdir: fixture.root().join("tmp"),
            };
            let text = case.policy_for(target.name).map(|t| vars.expand(t));
            let dir = session.base.join(format!("peer-{unique}"));
            let launch = launch::peer(install, case, text.as_deref(), &ctx, &vars, &dir)?;
            vars.set("sandboxed", launch.main.display().to_string());
            Some(launch)
        }
    };
    Ok(Prepared {
        fixture,
        vars,
        resources,
        policy_file,
        peer,
    })
}

fn execute(session: &Session, case: &Case, target: &Target) -> Result<Vec<String>, Refusal> {
    let Prepared {
        fixture,
        vars,
        resources,
        policy_file,
        peer,
    } = prepare(session, case, target)?;
    let before = fixture.snapshot();
    let holders = secret_holders(&fixture, &before, &case.secrets);

    let mut failures = Vec::new();
    for (i, run) in case.runs.iter().enumerate() {
        let spec = &run.spec;
        let policy = policy_file.as_deref();
        let launcher = peer.as_ref().and_then(|p| p.runs[i].as_deref());
        let how = match launcher {
            Some(path) => How::Peer(path),
            None => How::Ours(target, policy),
        };
        let cmd = command(session, case, spec, &vars, &fixture, how)?;
        let signal = delayed_signal(spec)?;
        let timeout = Duration::from_secs(spec.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S));
        let out = exec::run(cmd, timeout, signal)?;
        let mut problems = check::run_output(&out, run.expect_for(case, target.name), &vars);
        problems.extend(check::secrets_in_output(&out, &case.secrets));
        if !spec.on_host {
            problems.extend(target_stderr(target, &out));
        }
        if !problems.is_empty() {
            failures.push(describe(&spec.label(i), &problems, &out));
        }
    }
    let state = HostState {
        fixture: &fixture,
        before: &before,
        secret_holders: &holders,
        vars: &vars,
    };
    failures.extend(state.check(case.host_for(target.name), &case.secrets));
    failures.extend(resources.check_listeners());
    failures.extend(check::dev_shm_leaks(vars.get("unique").unwrap_or_default()));
    Ok(failures)
}

/// The target's own stderr requirements for a sandboxed run (the launcher's fallback warning),
/// unless the sandbox refused before choosing a bwrap (status 125 is checked by the case).
fn target_stderr(target: &Target, out: &Output) -> Vec<String> {
    if out.ended == exec::Ended::Exit(125) {
        return Vec::new();
    }
    target
        .sandbox_stderr
        .iter()
        .filter(|part| !out.stderr.contains(part.as_str()))
        .map(|part| {
            format!(
                "stderr lacks {part:?}, which every run on {} must print",
                target.name
            )
        })
        .collect()
}

fn delayed_signal(run: &RunSpec) -> Result<Option<DelayedSignal>, exec::ExecError> {
    match (run.signal_after_ms, &run.signal) {
        (Some(ms), Some(name)) => Ok(Some(DelayedSignal {
            after: Duration::from_millis(ms),
            signal: exec::parse_signal(name)?,
        })),
        _ => Ok(None),
    }
}

/// Fixture files that contain a secret marker before anything runs.
fn secret_holders(
    fixture: &FixtureDir,
    snap: &crate::fixture::Snapshot,
    secrets: &[String],
) -> Vec<String> {
    snap.iter()
        .filter(|(_, k)| **k == crate::fixture::Kind::File)
        .filter(|(rel, _)| {
            std::fs::read_to_string(fixture.root().join(rel))
                .is_ok_and(|t| secrets.iter().any(|s| t.contains(s.as_str())))
        })
        .map(|(rel, _)| rel.clone())
        .collect()
}

/// How a sandboxed run is started.
#[derive(Clone, Copy)]
enum How<'a> {
    /// `sandbox <sub> <target options> [--policy F] ...`.
    Ours(&'a Target, Option<&'a Path>),
    /// A peer's launcher script.
    Peer(&'a Path),
}

/// The process for one run: `sandbox <sub> <target options> [--policy F] --cwd D <extra> --
/// argv`, a peer's `launcher argv`, or the argv itself for `on_host` runs.
fn command(
    session: &Session,
    case: &Case,
    run: &RunSpec,
    vars: &Placeholders,
    fixture: &FixtureDir,
    how: How,
) -> Result<Command, Refusal> {
    let argv = vars.expand_all(&run.raw_argv());
    let cwd = fixture.path(&case.cwd)?;
    let mut cmd = match (run.on_host, how) {
        (true, _) => {
            let (program, args) = argv.split_first().ok_or(exec::ExecError::EmptyArgv)?;
            let mut cmd = Command::new(program);
            cmd.args(args);
            cmd
        }
        (false, How::Peer(launcher)) => {
            let mut cmd = Command::new(launcher);
            cmd.args(&argv);
            cmd
        }
        (false, How::Ours(target, policy)) => {
            let mut cmd = Command::new(&session.bins.sandbox);
            cmd.arg(&run.subcommand).args(&target.sandbox_args);
            if let Some(policy) = policy {
                cmd.arg("--policy").arg(policy);
            }
            cmd.arg("--cwd").arg(&cwd);
            cmd.args(vars.expand_all(&run.sandbox_args));
            cmd.arg("--").args(&argv);
            cmd
        }
    };
    cmd.current_dir(&cwd);
    cmd.env("TMPDIR", fixture.root().join("tmp"));
    for (key, value) in &run.env {
        cmd.env(key, vars.expand(value));
    }
    // A bwrap target's directory first on PATH, for sandboxed and host runs alike.
    if let How::Ours(
        Target {
            path_prefix: Some(prefix),
            ..
        },
        _,
    ) = how
    {
        let rest = match run.env.get("PATH") {
            Some(path) => std::ffi::OsString::from(vars.expand(path)),
            None => std::env::var_os("PATH").unwrap_or_default(),
        };
        let dirs = std::iter::once(prefix.clone()).chain(std::env::split_paths(&rest));
        let joined = std::env::join_paths(dirs).map_err(|e| format!("PATH: {e}"))?;
        cmd.env("PATH", joined);
    }
    Ok(cmd)
}

fn describe(label: &str, problems: &[String], out: &Output) -> String {
    format!(
        "{label}: {}\n    ended: {:?}\n    stdout: {}\n    stderr: {}",
        problems.join("; "),
        out.ended,
        excerpt(&out.stdout),
        excerpt(&out.stderr)
    )
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 600;
    let trimmed = text.trim_end();
    if trimmed.len() <= MAX {
        format!("{trimmed:?}")
    } else {
        let mut cut = MAX;
        while !trimmed.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{:?}... ({} bytes)", &trimmed[..cut], trimmed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(ended: exec::Ended, stderr: &str) -> Output {
        Output {
            ended,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn a_target_stderr_requirement_fails_a_run_without_it() {
        let mut target = crate::targets::versions::target(&crate::targets::versions::REAL[0]);
        target.sandbox_stderr = vec!["lacks --perms".into(), "bundled".into()];
        let quiet = output(exec::Ended::Exit(0), "sandbox: warning: x lacks --perms\n");
        let problems = target_stderr(&target, &quiet);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("bundled"));
        let warned = output(
            exec::Ended::Exit(1),
            "x lacks --perms; using the bundled bwrap",
        );
        assert!(target_stderr(&target, &warned).is_empty());
        // A refusal before any bwrap is chosen is the case's to check.
        assert!(target_stderr(&target, &output(exec::Ended::Exit(125), "")).is_empty());
    }
}
