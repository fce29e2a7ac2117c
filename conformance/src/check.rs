//! Comparing what a run produced, and what the host looks like afterwards, with a case.

use std::fs;
use std::path::Path;

use crate::case::{Expect, HostCheck};
use crate::exec::{Ended, Output};
use crate::fixture::{FixtureDir, Snapshot};
use crate::placeholders::Placeholders;

/// Every way `out` differs from `expect` (empty: it matches).
pub fn run_output(out: &Output, expect: &Expect, vars: &Placeholders) -> Vec<String> {
    let mut failures = Vec::new();
    match (out.ended, expect.exit, expect.fails) {
        (Ended::TimedOut, _, _) => failures.push("timed out (killed)".into()),
        (Ended::Exit(_), _, _) if expect.any_status => {}
        (Ended::Signal(sig), _, _) => failures.push(format!(
            "the sandbox process itself was killed by signal {sig} (it must exit 128+N)"
        )),
        (Ended::Exit(code), Some(want), _) if code != want => {
            failures.push(format!("exit status {code}, expected {want}"));
        }
        (Ended::Exit(0), None, Some(true)) => {
            failures.push("exit status 0, expected a failure".into());
        }
        (Ended::Exit(code), None, None | Some(false)) if code != 0 => {
            failures.push(format!("exit status {code}, expected 0"));
        }
        _ => {}
    }
    let streams = [
        (
            "stdout",
            &out.stdout,
            &expect.stdout_contains,
            &expect.stdout_lacks,
        ),
        (
            "stderr",
            &out.stderr,
            &expect.stderr_contains,
            &expect.stderr_lacks,
        ),
    ];
    for (stream, text, contains, lacks) in streams {
        for want in vars.expand_all(contains) {
            if !text.contains(&want) {
                failures.push(format!("{stream} lacks {want:?}"));
            }
        }
        for never in vars.expand_all(lacks) {
            if text.contains(&never) {
                failures.push(format!("{stream} contains {never:?}"));
            }
        }
    }
    failures
}

/// Secrets found in a run's output.
pub fn secrets_in_output(out: &Output, secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .filter(|s| out.stdout.contains(s.as_str()) || out.stderr.contains(s.as_str()))
        .map(|s| format!("secret marker {s:?} reached the output"))
        .collect()
}

/// The host-side postconditions: exact files, absent paths, the set of new and removed
/// paths, and secrets copied anywhere under the root.
pub struct HostState<'a> {
    /// The fixture on disk.
    pub fixture: &'a FixtureDir,
    /// Its paths before the first run.
    pub before: &'a Snapshot,
    /// Fixture files that held a secret from the start (relative paths).
    pub secret_holders: &'a [String],
    /// Placeholder values.
    pub vars: &'a Placeholders,
}

impl HostState<'_> {
    /// Every postcondition that does not hold.
    pub fn check(&self, host: &HostCheck, secrets: &[String]) -> Vec<String> {
        let mut failures = Vec::new();
        for (rel, want) in &host.files {
            let path = self.fixture.root().join(self.vars.expand(rel));
            let want = self.vars.expand(want);
            match fs::read_to_string(&path) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "host file {rel}: contents {got:?}, expected {want:?}"
                )),
                Err(e) => failures.push(format!("host file {rel}: {e}")),
            }
        }
        for rel in &host.absent {
            let expanded = self.vars.expand(rel);
            let path = self.fixture.root().join(&expanded);
            if fs::symlink_metadata(&path).is_ok() {
                failures.push(format!("host path {expanded} exists, must not"));
            }
        }
        let after = self.fixture.snapshot();
        let created: Vec<String> = self.vars.expand_all(&host.created);
        let removed: Vec<String> = self.vars.expand_all(&host.removed);
        for path in after.keys().filter(|p| !self.before.contains_key(*p)) {
            if !created.contains(path) {
                failures.push(format!(
                    "host path {path} appeared (a stray write or a leftover placeholder)"
                ));
            }
        }
        for path in self.before.keys().filter(|p| !after.contains_key(*p)) {
            if !removed.contains(path) {
                failures.push(format!("host path {path} disappeared"));
            }
        }
        failures.extend(self.secret_copies(secrets));
        failures
    }

    /// Regular files under the root (`tmp/` included), other than the original holders,
    /// containing a secret.
    fn secret_copies(&self, secrets: &[String]) -> Vec<String> {
        if secrets.is_empty() {
            return Vec::new();
        }
        let root = self.fixture.root();
        let files = walkdir::WalkDir::new(root)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(root)
                    .unwrap_or(e.path())
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|rel| !self.secret_holders.contains(rel));
        let mut failures = Vec::new();
        for rel in files {
            let Ok(bytes) = fs::read(root.join(&rel)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for s in secrets.iter().filter(|s| text.contains(s.as_str())) {
                failures.push(format!(
                    "secret marker {s:?} was copied into host file {rel}"
                ));
            }
        }
        failures
    }
}

/// Entries of the host's `/dev/shm` whose name contains `token` (written inside a sandbox
/// that should have had its own): one failure each. They are removed once reported.
pub fn dev_shm_leaks(token: &str) -> Vec<String> {
    let dir = match fs::read_dir(Path::new("/dev/shm")) {
        Ok(dir) if !token.is_empty() => dir,
        _ => return Vec::new(),
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(token))
        .map(|e| {
            let _ = fs::remove_file(e.path());
            format!(
                "host {} appeared (written inside the sandbox)",
                e.path().display()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Fixture;

    fn output(ended: Ended, stdout: &str) -> Output {
        Output {
            ended,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn status_expectations() {
        let vars = Placeholders::default();
        let exit0 = Expect::default();
        let fails = Expect {
            fails: Some(true),
            ..Expect::default()
        };
        let any = Expect {
            any_status: true,
            ..Expect::default()
        };
        assert!(run_output(&output(Ended::Exit(0), ""), &exit0, &vars).is_empty());
        assert!(!run_output(&output(Ended::Exit(1), ""), &exit0, &vars).is_empty());
        assert!(!run_output(&output(Ended::Exit(0), ""), &fails, &vars).is_empty());
        assert!(run_output(&output(Ended::Exit(3), ""), &any, &vars).is_empty());
        // The sandbox itself dying by a signal or hanging never passes.
        assert!(!run_output(&output(Ended::Signal(9), ""), &any, &vars).is_empty());
        assert!(!run_output(&output(Ended::TimedOut, ""), &fails, &vars).is_empty());
    }

    #[test]
    fn output_expectations_expand_placeholders() {
        let mut vars = Placeholders::default();
        vars.set("ws", "/w");
        let expect = Expect {
            stdout_contains: vec!["{ws}/a".into()],
            stdout_lacks: vec!["SECRET".into()],
            ..Expect::default()
        };
        assert!(run_output(&output(Ended::Exit(0), "x /w/a y"), &expect, &vars).is_empty());
        let problems = run_output(&output(Ended::Exit(0), "/w/a SECRET"), &expect, &vars);
        assert_eq!(problems, ["stdout contains \"SECRET\""]);
    }

    #[test]
    fn host_check_sees_stray_writes_removals_and_secret_copies() {
        let base = tempfile::tempdir().unwrap();
        let fixture = FixtureDir::create(base.path()).unwrap();
        let spec: Fixture = toml::from_str(
            "[[file]]\npath = 'ws/.env'\ncontents = 'MARK'\n\
             [[file]]\npath = 'ws/keep.txt'\ncontents = 'k'\n",
        )
        .unwrap();
        let vars = Placeholders::default();
        fixture.populate(&spec, &vars).unwrap();
        let before = fixture.snapshot();
        let holders = vec!["ws/.env".to_owned()];
        fs::write(fixture.root().join("ws/allowed.txt"), "ok").unwrap();
        fs::write(fixture.root().join("ws/stray"), "x").unwrap();
        fs::write(fixture.root().join("tmp/copy"), "has MARK").unwrap();
        fs::remove_file(fixture.root().join("ws/keep.txt")).unwrap();
        let state = HostState {
            fixture: &fixture,
            before: &before,
            secret_holders: &holders,
            vars: &vars,
        };
        let host = HostCheck {
            created: vec!["ws/allowed.txt".into()],
            ..HostCheck::default()
        };
        let failures = state.check(&host, &["MARK".to_owned()]);
        assert_eq!(failures.len(), 3, "{failures:#?}");
        assert!(failures[0].contains("ws/stray appeared"));
        assert!(failures[1].contains("ws/keep.txt disappeared"));
        assert!(failures[2].contains("copied into host file tmp/copy"));
    }
}
