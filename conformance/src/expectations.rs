//! Expected results of a target, as data: `expectations/<target>-<version>.toml` lists every
//! trial of a peer that is expected to fail or to be unsupported, each with a one-line reason
//! (as web-platform-tests keeps its metadata). Every other trial is expected to pass.
//!
//! ```toml
//! [fail]
//! "ipc/sysv-host-objects" = "no IPC namespace: the host's segment can be attached"
//! [unsupported]
//! "process/no-proc" = "no option to run without /proc"
//! [flaky]
//! "process/exit-status" = "sometimes leaves mount placeholders behind after a signal"
//! ```
//!
//! `flaky` accepts a pass or a failure (seen both ways on the same host), with the reason.
//!
//! A run passes when every result matches: an unexpected failure *or* an unexpected pass
//! fails it, naming the trial, so a new peer version shows exactly what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::trial::Verdict;

/// What a trial is expected to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Pass (or be ignored: not applicable here).
    Pass,
    /// Fail, for this reason.
    Fail(String),
    /// Be unsupported, for this reason.
    Unsupported(String),
    /// Pass or fail (observed both ways), for this reason.
    Flaky(String),
}

/// One target's expectations file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Case name → why it is expected to fail.
    #[serde(default)]
    pub fail: BTreeMap<String, String>,
    /// Case name → why it is expected to be unsupported.
    #[serde(default)]
    pub unsupported: BTreeMap<String, String>,
    /// Case name → why it sometimes fails and sometimes passes.
    #[serde(default)]
    pub flaky: BTreeMap<String, String>,
    /// The file it came from; `None` when there is none (every trial expected to pass).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// An expectations file that can't be used, printed as `<file>: <problem>`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct ExpectationsError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ExpectationsError {
    fn new(path: &Path, problem: Problem) -> Self {
        let path = path.to_path_buf();
        Self { path, problem }
    }
}

/// What is wrong with an expectations file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// It can't be read.
    #[error(transparent)]
    Read(std::io::Error),
    /// It is not TOML, or has unknown keys.
    #[error(transparent)]
    Toml(toml::de::Error),
    /// It names a case that does not exist.
    #[error("no case named {0:?}")]
    UnknownCase(String),
    /// It names a case in two lists.
    #[error("{0:?} is listed twice")]
    ListedTwice(String),
}

/// `$CONFORMANCE_EXPECTATIONS`, else `expectations/` beside the cases directory.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONFORMANCE_EXPECTATIONS") {
        return PathBuf::from(dir);
    }
    let cases = crate::cases_dir();
    cases
        .parent()
        .unwrap_or(Path::new("."))
        .join("expectations")
}

impl Expectations {
    /// Loads `<dir>/<stem>.toml` (none: every trial is expected to pass); every case it
    /// names must be one of `cases`, so that stale entries can't linger.
    pub fn load(dir: &Path, stem: &str, cases: &[String]) -> Result<Self, ExpectationsError> {
        let path = dir.join(format!("{stem}.toml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(ExpectationsError::new(&path, Problem::Read(e))),
        };
        let mut exp: Self = match toml::from_str(&text) {
            Ok(exp) => exp,
            Err(e) => return Err(ExpectationsError::new(&path, Problem::Toml(e))),
        };
        let lists = [&exp.fail, &exp.unsupported, &exp.flaky];
        for name in lists.iter().flat_map(|l| l.keys()) {
            let problem = if !cases.contains(name) {
                Problem::UnknownCase(name.clone())
            } else if lists.iter().filter(|l| l.contains_key(name)).count() > 1 {
                Problem::ListedTwice(name.clone())
            } else {
                continue;
            };
            return Err(ExpectationsError::new(&path, problem));
        }
        exp.file = Some(path);
        Ok(exp)
    }

    /// What `case` is expected to do.
    pub fn of(&self, case: &str) -> Expected {
        if let Some(reason) = self.fail.get(case) {
            return Expected::Fail(reason.clone());
        }
        if let Some(reason) = self.flaky.get(case) {
            return Expected::Flaky(reason.clone());
        }
        match self.unsupported.get(case) {
            Some(reason) => Expected::Unsupported(reason.clone()),
            None => Expected::Pass,
        }
    }
}

/// `None` when `verdict` is what was expected, else what differs.
pub fn mismatch(expected: &Expected, verdict: &Verdict) -> Option<String> {
    let got = match verdict {
        Verdict::Pass => "passed",
        Verdict::Fail(_) => "failed",
        Verdict::Unsupported(_) => "was unsupported",
        Verdict::Ignored(_) => "was ignored",
    };
    match (expected, verdict) {
        (Expected::Pass, Verdict::Pass | Verdict::Ignored(_))
        | (Expected::Fail(_), Verdict::Fail(_))
        | (Expected::Flaky(_), Verdict::Pass | Verdict::Fail(_))
        | (Expected::Unsupported(_), Verdict::Unsupported(_)) => None,
        (Expected::Pass, _) => Some(format!("unexpected: {got}")),
        (Expected::Fail(why), _) => Some(format!("unexpected: {got}, expected to fail ({why})")),
        (Expected::Unsupported(why), _) => {
            Some(format!("unexpected: {got}, expected unsupported ({why})"))
        }
        (Expected::Flaky(why), _) => Some(format!(
            "unexpected: {got}, expected to pass or fail ({why})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_difference_is_a_mismatch() {
        let fail = Expected::Fail("x".into());
        assert_eq!(mismatch(&fail, &Verdict::Fail("m".into())), None);
        assert!(mismatch(&fail, &Verdict::Pass).unwrap().contains("passed"));
        assert!(mismatch(&Expected::Pass, &Verdict::Fail("m".into())).is_some());
        assert!(mismatch(&Expected::Pass, &Verdict::Unsupported("m".into())).is_some());
        let unsup = Expected::Unsupported("y".into());
        assert_eq!(mismatch(&unsup, &Verdict::Unsupported("r".into())), None);
        assert!(mismatch(&unsup, &Verdict::Fail("m".into())).is_some());
    }

    #[test]
    fn stale_entries_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p-1.toml"),
            "[fail]\n\"a/gone\" = \"why\"\n",
        )
        .unwrap();
        let err = Expectations::load(dir.path(), "p-1", &["a/b".into()]).unwrap_err();
        assert!(matches!(&err.problem, Problem::UnknownCase(name) if name == "a/gone"));
        let shown = err.to_string();
        assert!(
            shown.ends_with(r#"p-1.toml: no case named "a/gone""#),
            "{shown}"
        );
        let none = Expectations::load(dir.path(), "p-2", &[]).unwrap();
        assert_eq!(none.of("a/b"), Expected::Pass);
    }
}
