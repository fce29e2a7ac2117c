//! The conformance suite: data-driven cases (`cases/**/*.toml`) run against every target
//! (way of running the sandbox) the host offers.
//!
//! Data flow: [`case`] files are loaded, [`binaries`] and [`targets`] are discovered, and each
//! (target, case) pair is a [`trial`]: a [`fixture`] and host [`resources`] are created, the
//! commands are [`exec`]uted under `sandbox run`, and the results are [`check`]ed. The test
//! harness (`tests/conformance.rs`) and the matrix runner (`src/main.rs`) share [`Suite`].

pub mod binaries;
pub mod case;
pub mod check;
pub mod exec;
pub mod expectations;
pub mod fixture;
pub mod gate;
pub mod launch;
pub mod peers;
pub mod placeholders;
pub mod policy;
pub mod report;
pub mod resources;
pub mod scoreboard;
pub mod targets;
pub mod trial;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use case::Case;
use targets::Target;
use trial::{Session, Verdict};

/// Everything needed to run the trials of one session.
pub struct Suite {
    /// Shared by every trial.
    pub session: Session,
    /// Every target, available or not, in matrix order.
    pub targets: Vec<Target>,
    /// Every case, sorted by name.
    pub cases: Vec<Case>,
    /// Expected results by target name (targets without a file expect every trial to pass).
    pub expectations: std::collections::BTreeMap<String, expectations::Expectations>,
    /// Keeps Codex's trials and ours apart.
    gate: gate::Gate,
    _session_dir: tempfile::TempDir,
}

/// The cases directory: `$CONFORMANCE_CASES` if set; else `cases/` under a run-time
/// `$CARGO_MANIFEST_DIR` (Bazel's rules_rust sets it, relative to the test's working
/// directory) when that exists; else the crate's `cases/` as Cargo compiled it.
pub fn cases_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONFORMANCE_CASES") {
        return PathBuf::from(dir);
    }
    let at_run_time = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(|dir| Path::new(&dir).join("cases"))
        .filter(|dir| dir.is_dir());
    at_run_time.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("cases"))
}

/// Where fixtures go by default: `$TMPDIR` when it is set and outside `/tmp`, else
/// `/var/tmp`: the default policy makes `/tmp` writable, and a fixture's "outside the
/// workspace" must not be.
pub fn default_tmp() -> PathBuf {
    match std::env::var_os("TMPDIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && !dir.starts_with("/tmp") => dir,
        _ => PathBuf::from("/var/tmp"),
    }
}

/// Why the suite could not start (printed as `conformance: …`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// A case file is wrong.
    #[error(transparent)]
    Cases(#[from] case::LoadError),
    /// A binary under test is missing.
    #[error(transparent)]
    Binaries(#[from] binaries::BinaryError),
    /// The session directory could not be created.
    #[error("creating a session dir in {}: {source}", parent.display())]
    SessionDir {
        /// Where.
        parent: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The session directory could not be made world-accessible.
    #[error("chmod {}: {source}", path.display())]
    Chmod {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An expectations file is wrong.
    #[error(transparent)]
    Expectations(#[from] expectations::ExpectationsError),
}

impl Suite {
    /// Loads the cases, finds the binaries and discovers the targets. Fixtures go under a
    /// fresh world-accessible directory in `$CONFORMANCE_TMP` (default: [`default_tmp`]).
    pub fn prepare() -> Result<Self, SuiteError> {
        let cases = case::load_dir(&cases_dir(), &targets::NAMES)?;
        let bins = binaries::Binaries::locate()?;
        let parent = std::env::var_os("CONFORMANCE_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(default_tmp);
        let dir = tempfile::Builder::new()
            .prefix("conformance-session-")
            .tempdir_in(&parent)
            .map_err(|source| SuiteError::SessionDir { parent, source })?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).map_err(
            |source| SuiteError::Chmod {
                path: dir.path().to_path_buf(),
                source,
            },
        )?;
        let targets = targets::discover(&bins, dir.path());
        let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        let mut expected = std::collections::BTreeMap::new();
        for t in &targets {
            if let Some(stem) = t.expectations() {
                let exp = expectations::Expectations::load(&expectations::dir(), &stem, &names)?;
                expected.insert(t.name.to_owned(), exp);
            }
        }
        Ok(Self {
            session: Session {
                bins,
                base: dir.path().to_path_buf(),
            },
            targets,
            cases,
            expectations: expected,
            gate: gate::Gate::default(),
            _session_dir: dir,
        })
    }

    /// Every (target index, case index) pair: Codex's first (see [`gate`]), then the
    /// costliest trials (see [`Case::cost`], times [`Target::slowness`]) first so that the
    /// slowest don't start last and stretch the wall time.
    pub fn schedule(&self) -> Vec<(usize, usize)> {
        let mut pairs: Vec<(usize, usize)> = (0..self.cases.len())
            .flat_map(|c| (0..self.targets.len()).map(move |t| (t, c)))
            .collect();
        // Codex's trials first, all together: ours wait for them at the gate.
        pairs.sort_by_key(|&(t, c)| {
            let codex = self.targets[t].gate_group() == Some(gate::Group::Codex);
            let cost = self.cases[c].cost() * self.targets[t].slowness();
            (!codex, std::cmp::Reverse(cost))
        });
        pairs
    }

    /// The trial name for (target, case): `target::case`.
    pub fn trial_name(target: &Target, case: &Case) -> String {
        format!("{}::{}", target.name, case.name)
    }

    /// What the trial (target, case) is expected to do.
    pub fn expected(&self, target: &Target, case: &Case) -> expectations::Expected {
        self.expectations
            .get(target.name)
            .map_or(expectations::Expected::Pass, |e| e.of(&case.name))
    }

    /// Runs one trial (after [`gate`] lets its group in).
    pub fn run(&self, target: &Target, case: &Case) -> Verdict {
        let _pass = target.gate_group().map(|g| self.gate.enter(g));
        trial::run(&self.session, case, target)
    }
}
