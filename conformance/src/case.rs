//! The case schema (`cases/**/*.toml`) and its loader.
//!
//! A case is data: a fixture to build on the host, a policy in the sandbox's own format, the
//! commands to run inside and what must (and must never) come out. `README.md` documents every
//! key with a worked example; unknown keys are errors so a misspelt expectation can't pass.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One conformance case, as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The case's name: its path under `cases/` without `.toml` (set by the loader).
    #[serde(skip)]
    pub name: String,
    /// What guarantee the case proves, in one sentence.
    pub description: String,
    /// Only these targets apply (the others are reported as ignored); all when absent.
    pub targets: Option<Vec<String>>,
    /// Why the case is limited to `targets`, shown for the targets it leaves out.
    pub targets_reason: Option<String>,
    /// Set when the case tests this sandbox's own interface (refusal wording and status 125,
    /// `explain`, the launcher, ...) rather than a guarantee: it runs on our targets only, and
    /// peers report it as ignored with this reason.
    pub interface: Option<String>,
    /// Files, links and host resources created before the commands run.
    #[serde(default)]
    pub fixture: Fixture,
    /// The policy text, in the sandbox's own TOML format, with placeholders; none means the
    /// sandbox's built-in default.
    pub policy: Option<String>,
    /// Instead of `policy`: the name of a shared policy, `cases/_policies/<name>.toml`.
    pub policy_file: Option<String>,
    /// The command's working directory (`--cwd`), relative to the fixture root.
    #[serde(default = "default_cwd")]
    pub cwd: String,
    /// Markers that must never appear in any output, nor in any host file except the fixture
    /// files that held them from the start.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The commands, run one after the other in the same fixture.
    #[serde(rename = "run")]
    pub runs: Vec<Run>,
    /// Host-side postconditions, checked after the last command.
    #[serde(default)]
    pub host: HostCheck,
    /// Per-target differences, by target name.
    #[serde(default)]
    pub target: BTreeMap<String, TargetOverride>,
}

fn default_cwd() -> String {
    "ws".to_owned()
}

/// What the fixture holds; every path is relative to the fixture root.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Many similar files at once: `{n}` in the path and contents is the index.
    #[serde(default)]
    pub generate: Vec<GenerateSpec>,
    /// Directories (parents of every other entry are created implicitly, mode 0755).
    #[serde(default)]
    pub dir: Vec<DirSpec>,
    /// Regular files with contents.
    #[serde(default)]
    pub file: Vec<FileSpec>,
    /// Symbolic links.
    #[serde(default)]
    pub symlink: Vec<LinkSpec>,
    /// Hard links: `path` becomes another name of the existing file `target`.
    #[serde(default)]
    pub hardlink: Vec<LinkSpec>,
    /// Git metadata: a `.git` directory, or a `gitdir:` file pointing elsewhere.
    #[serde(default)]
    pub git: Vec<GitSpec>,
    /// System V shared memory segments created on the host.
    #[serde(default)]
    pub sysv_shm: Vec<Named>,
    /// System V semaphore sets created on the host.
    #[serde(default)]
    pub sysv_sem: Vec<Named>,
    /// System V message queues created on the host.
    #[serde(default)]
    pub sysv_msg: Vec<Named>,
    /// POSIX message queues created on the host.
    #[serde(default)]
    pub posix_mq: Vec<Named>,
    /// Loopback listeners on the host that count the connections they receive.
    #[serde(default)]
    pub listener: Vec<ListenerSpec>,
    /// Host processes (sleeping for the whole case) with a marker in their command line and
    /// environment, for `/proc` leak checks: `{proc.NAME.pid}`.
    #[serde(default)]
    pub process: Vec<ProcessSpec>,
}

/// A host process that holds a marker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// The name used in `{proc.NAME.pid}`.
    pub name: String,
    /// Put in its argv and in its environment as `CONFORMANCE_MARKER`.
    pub marker: String,
}

/// `count` files whose path and contents contain `{n}`, numbered from 0.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// How many files.
    pub count: u32,
    /// Path relative to the fixture root, with `{n}`.
    pub path: String,
    /// Contents, with `{n}` (and the other placeholders).
    #[serde(default)]
    pub contents: String,
    /// Make each path a hard link to this existing fixture file instead (much faster than
    /// writing thousands of files; `contents` must then be empty).
    pub hardlink_to: Option<String>,
}

/// A directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSpec {
    /// Path relative to the fixture root.
    pub path: String,
    /// Octal mode such as `"0555"`, applied after everything else is created.
    pub mode: Option<String>,
}

/// A regular file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Path relative to the fixture root.
    pub path: String,
    /// The file's contents (placeholders are expanded).
    #[serde(default)]
    pub contents: String,
    /// Octal mode such as `"0600"`.
    pub mode: Option<String>,
}

/// A symbolic or hard link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// The link's path, relative to the fixture root.
    pub path: String,
    /// Symlinks: the link text as written (placeholders expanded, so `{root}/x` gives an
    /// absolute link). Hard links: the existing file, relative to the fixture root.
    pub target: String,
}

/// Git metadata for a work tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSpec {
    /// The work tree, relative to the fixture root.
    pub path: String,
    /// When set, `<path>/.git` is a `gitdir: <root>/<gitdir>` file and the git directory is
    /// created there; otherwise `<path>/.git` is a directory.
    pub gitdir: Option<String>,
}

/// A host resource that commands refer to by name in placeholders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    /// The name used in placeholders such as `{shm.NAME.id}`.
    pub name: String,
}

/// A loopback listener on the host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSpec {
    /// The name used in placeholders: `{tcp.NAME.port}` or `{unix.NAME}`.
    pub name: String,
    /// `tcp` (127.0.0.1, an ephemeral port) or `unix-abstract` (an abstract socket name).
    pub kind: ListenerKind,
    /// How many connections it must have received after the runs; not checked when absent.
    pub connections: Option<u32>,
}

/// The kind of a loopback listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListenerKind {
    /// TCP on 127.0.0.1.
    Tcp,
    /// An abstract Unix stream socket (scoped to the network namespace).
    UnixAbstract,
}

/// One command and what it must produce: the keys of [`RunSpec`] and [`Expect`] side by
/// side in one `[[run]]` table (split by [`EXPECT_KEYS`], each half rejecting unknown keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct Run {
    /// How to run the command.
    pub spec: RunSpec,
    /// What the run must produce.
    pub expect: Expect,
}

/// The keys of a `[[run]]` table that belong to [`Expect`].
pub const EXPECT_KEYS: [&str; 7] = [
    "exit",
    "fails",
    "any_status",
    "stdout_contains",
    "stdout_lacks",
    "stderr_contains",
    "stderr_lacks",
];

impl TryFrom<toml::Table> for Run {
    type Error = toml::de::Error;

    fn try_from(mut table: toml::Table) -> Result<Self, toml::de::Error> {
        let mut expect = toml::Table::new();
        for key in EXPECT_KEYS {
            if let Some(value) = table.remove(key) {
                expect.insert(key.to_owned(), value);
            }
        }
        let spec = RunSpec::deserialize(table)?;
        let expect = Expect::deserialize(expect)?;
        Ok(Self { spec, expect })
    }
}

/// How one command is run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// A label for messages; defaults to the command.
    pub name: Option<String>,
    /// The command, one token per element (placeholders expanded).
    pub argv: Option<Vec<String>>,
    /// Shorthand for `argv = ["/bin/sh", "-c", sh]`.
    pub sh: Option<String>,
    /// Run directly on the host instead of under `sandbox run` (for cases that drive the
    /// `sandbox` CLI themselves through `{sandbox}`, or check the fixture from outside).
    #[serde(default)]
    pub on_host: bool,
    /// The sandbox subcommand: `run` (default) or `explain`.
    #[serde(default = "default_subcommand")]
    pub subcommand: String,
    /// Extra options for the sandbox subcommand, placed before `--`.
    #[serde(default)]
    pub sandbox_args: Vec<String>,
    /// Extra environment for the process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Send `signal` to the sandbox process this long after it starts.
    pub signal_after_ms: Option<u64>,
    /// The signal for `signal_after_ms` (`TERM`, `INT`, `KILL`, ...).
    pub signal: Option<String>,
    /// Kill the run after this many seconds (default 20).
    pub timeout_s: Option<u64>,
    /// Per-target replacements of the run's expectations, by target name.
    #[serde(default)]
    pub target: BTreeMap<String, Expect>,
}

fn default_subcommand() -> String {
    "run".to_owned()
}

/// Expectations on one run. With neither `exit` nor `fails`, the run must exit 0.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The exact exit status (128+N for a command killed by signal N).
    pub exit: Option<i32>,
    /// `true`: any nonzero status; `false`: status 0.
    pub fails: Option<bool>,
    /// Any exit status will do (only the output expectations and secrets count).
    #[serde(default)]
    pub any_status: bool,
    /// Substrings stdout must contain.
    #[serde(default)]
    pub stdout_contains: Vec<String>,
    /// Substrings stdout must not contain.
    #[serde(default)]
    pub stdout_lacks: Vec<String>,
    /// Substrings stderr must contain.
    #[serde(default)]
    pub stderr_contains: Vec<String>,
    /// Substrings stderr must not contain.
    #[serde(default)]
    pub stderr_lacks: Vec<String>,
}

/// Host-side postconditions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostCheck {
    /// Files (relative to the fixture root) and their exact contents afterwards.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Paths that may appear during the runs (writes that must land). Every other new path
    /// under the fixture root (outside `tmp/`) fails the case: a stray write or a leftover
    /// mount-point placeholder.
    #[serde(default)]
    pub created: Vec<String>,
    /// Fixture paths the runs may remove; every other fixture path must still exist.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Paths that must not exist afterwards (relative to the root, or absolute).
    #[serde(default)]
    pub absent: Vec<String>,
}

/// How a target differs for one case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetOverride {
    /// The case does not apply to this target, for this reason (reported as ignored).
    pub ignore: Option<String>,
    /// Replaces the case's policy on this target (e.g. the same meaning, worded so that the
    /// legacy Landlock model can accept it).
    pub policy: Option<String>,
    /// Instead of `policy`: the name of a shared policy, `cases/_policies/<name>.toml`.
    pub policy_file: Option<String>,
    /// Replaces the expectations of every run (e.g. a refusal before anything runs).
    pub all_runs: Option<Expect>,
    /// Replaces the case's host postconditions.
    pub host: Option<HostCheck>,
}

/// What is wrong with a case file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// Not TOML, or not a case's fields.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// No `[[run]]`.
    #[error("a case needs at least one [[run]]")]
    NoRuns,
    /// A run with both or neither of `argv` and `sh` (runs count from 1).
    #[error("[[run]] #{0}: give exactly one of argv or sh")]
    CommandForm(usize),
    /// A run with more than one of `exit`, `fails` and `any_status`.
    #[error("[[run]] #{0}: give at most one of exit, fails and any_status")]
    StatusForm(usize),
    /// A run's subcommand is neither `run` nor `explain`.
    #[error("[[run]] #{run}: subcommand must be run or explain, not {subcommand:?}")]
    Subcommand {
        /// The run.
        run: usize,
        /// Its subcommand.
        subcommand: String,
    },
    /// A run with only one of `signal` and `signal_after_ms`.
    #[error("[[run]] #{0}: signal and signal_after_ms go together")]
    Signal(usize),
    /// Every sandboxed run may fail.
    #[error(
        "every sandboxed run only has to fail, so a sandbox that runs nothing would pass: add a run that must succeed (or exit with a given status)"
    )]
    RunsNothing,
    /// A target name that is not in the matrix.
    #[error("unknown target {name:?} (known: {known})")]
    UnknownTarget {
        /// The name.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// Both `policy` and `policy_file`.
    #[error("give policy or policy_file ({0}), not both")]
    PolicyAndFile(String),
    /// A `policy_file` that can't be read.
    #[error("policy_file {name}: {}: {source}", path.display())]
    PolicyFile {
        /// The shared policy's name.
        name: String,
        /// Its file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A case file that could not be loaded.
#[derive(Debug)]
pub struct LoadError {
    /// The case file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

impl RunSpec {
    /// The command's argv before placeholder expansion.
    pub fn raw_argv(&self) -> Vec<String> {
        match (&self.argv, &self.sh) {
            (Some(argv), _) => argv.clone(),
            (None, Some(sh)) => vec!["/bin/sh".into(), "-c".into(), sh.clone()],
            (None, None) => Vec::new(),
        }
    }

    /// The label used in messages.
    pub fn label(&self, index: usize) -> String {
        match &self.name {
            Some(name) => format!("run {} ({name})", index + 1),
            None => format!("run {} ({})", index + 1, self.raw_argv().join(" ")),
        }
    }
}

impl Run {
    /// The expectations for `target`, after overrides.
    pub fn expect_for<'a>(&'a self, case: &'a Case, target: &str) -> &'a Expect {
        if let Some(expect) = self.spec.target.get(target) {
            return expect;
        }
        match case.target.get(target).and_then(|o| o.all_runs.as_ref()) {
            Some(expect) => expect,
            None => &self.expect,
        }
    }
}

impl Case {
    /// A rough cost for scheduling: one per run, plus one per 512 generated files written.
    pub fn cost(&self) -> u32 {
        let written = self
            .fixture
            .generate
            .iter()
            .filter(|g| g.hardlink_to.is_none());
        let generated: u32 = written.map(|g| g.count).sum();
        self.runs.len() as u32 + generated / 512
    }

    /// The policy text for `target`, after overrides.
    pub fn policy_for(&self, target: &str) -> Option<&str> {
        self.target
            .get(target)
            .and_then(|o| o.policy.as_deref())
            .or(self.policy.as_deref())
    }

    /// The host postconditions for `target`, after overrides.
    pub fn host_for(&self, target: &str) -> &HostCheck {
        self.target
            .get(target)
            .and_then(|o| o.host.as_ref())
            .unwrap_or(&self.host)
    }

    /// Why this case does not apply to `target`, if it doesn't.
    pub fn ignored_on(&self, target: &str) -> Option<String> {
        if let Some(reason) = self.target.get(target).and_then(|o| o.ignore.clone()) {
            return Some(reason);
        }
        match &self.targets {
            Some(list) if !list.iter().any(|t| t == target) => Some(
                self.targets_reason
                    .clone()
                    .unwrap_or_else(|| format!("case applies only to {}", list.join(", "))),
            ),
            _ => None,
        }
    }

    /// Checks what serde can't: every run has exactly one command form, known targets.
    fn validate(&self, known_targets: &[&str]) -> Result<(), CaseError> {
        if self.runs.is_empty() {
            return Err(CaseError::NoRuns);
        }
        for (
            i,
            Run {
                spec: run,
                expect: e,
            },
        ) in self.runs.iter().enumerate()
        {
            if run.argv.is_some() == run.sh.is_some() {
                return Err(CaseError::CommandForm(i + 1));
            }
            let forms = [e.exit.is_some(), e.fails.is_some(), e.any_status];
            if forms.iter().filter(|f| **f).count() > 1 {
                return Err(CaseError::StatusForm(i + 1));
            }
            if !["run", "explain"].contains(&run.subcommand.as_str()) {
                return Err(CaseError::Subcommand {
                    run: i + 1,
                    subcommand: run.subcommand.clone(),
                });
            }
            if run.signal_after_ms.is_some() != run.signal.is_some() {
                return Err(CaseError::Signal(i + 1));
            }
            for name in run.target.keys() {
                check_target_name(name, known_targets)?;
            }
        }
        let proves_it_ran = self.runs.iter().any(|r| {
            let e = &r.expect;
            let argv = r.spec.raw_argv().join(" ");
            let drives = argv.contains("{sandbox}") || argv.contains("{sandboxed}");
            let sandboxed = !r.spec.on_host || drives;
            sandboxed && !e.any_status && e.fails != Some(true)
        });
        if !proves_it_ran {
            return Err(CaseError::RunsNothing);
        }
        let named = self.target.keys().chain(self.targets.iter().flatten());
        for name in named {
            check_target_name(name, known_targets)?;
        }
        Ok(())
    }
}

fn check_target_name(name: &str, known: &[&str]) -> Result<(), CaseError> {
    if known.contains(&name) {
        Ok(())
    } else {
        Err(CaseError::UnknownTarget {
            name: name.to_owned(),
            known: known.join(", "),
        })
    }
}

/// Parses one case file; `name` is its path under the cases directory without `.toml`.
pub fn parse(text: &str, name: &str, known_targets: &[&str]) -> Result<Case, CaseError> {
    let mut case: Case = toml::from_str(text)?;
    case.name = name.to_owned();
    case.validate(known_targets)?;
    Ok(case)
}

/// Directories under the cases directory whose name starts with this hold shared files, not
/// cases (`_policies/`).
const SHARED_PREFIX: &str = "_";

/// Replaces a `policy_file` name with the text of `<dir>/_policies/<name>.toml`.
fn resolve_policy_file(
    policy: &mut Option<String>,
    file: Option<&str>,
    dir: &Path,
) -> Result<(), CaseError> {
    let Some(name) = file else {
        return Ok(());
    };
    if policy.is_some() {
        return Err(CaseError::PolicyAndFile(name.to_owned()));
    }
    let path = dir.join("_policies").join(format!("{name}.toml"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(source) => {
            let name = name.to_owned();
            return Err(CaseError::PolicyFile { name, path, source });
        }
    };
    *policy = Some(text);
    Ok(())
}

impl Case {
    /// Reads every `policy_file` into the matching `policy`.
    fn resolve_policy_files(&mut self, dir: &Path) -> Result<(), CaseError> {
        resolve_policy_file(&mut self.policy, self.policy_file.as_deref(), dir)?;
        for over in self.target.values_mut() {
            resolve_policy_file(&mut over.policy, over.policy_file.as_deref(), dir)?;
        }
        Ok(())
    }
}

/// Loads every `*.toml` under `dir` (except in `_*/` directories), sorted by name.
pub fn load_dir(dir: &Path, known_targets: &[&str]) -> Result<Vec<Case>, LoadError> {
    let mut cases = Vec::new();
    // Links are followed: Bazel's runfiles tree is made of symlinks.
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    let not_shared = |e: &walkdir::DirEntry| {
        e.depth() == 0 || !e.file_name().to_string_lossy().starts_with(SHARED_PREFIX)
    };
    for entry in walk.filter_entry(not_shared) {
        let entry = entry.map_err(|e| LoadError {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let fail = |message: String| LoadError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let rel = path.strip_prefix(dir).unwrap_or(path).with_extension("");
        let name = rel
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        let invalid = |e: CaseError| fail(e.to_string());
        let mut case = parse(&text, &name, known_targets).map_err(invalid)?;
        case.resolve_policy_files(dir).map_err(invalid)?;
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(LoadError {
            path: dir.to_path_buf(),
            message: "no case files (*.toml) found".into(),
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETS: &[&str] = &["bundled", "legacy-landlock"];

    #[test]
    fn misspelt_expectation_is_an_error() {
        let text = "description = 'x'\n[[run]]\nargv = ['true']\nstdout_contain = ['a']\n";
        let err = parse(text, "x", TARGETS).unwrap_err().to_string();
        assert!(err.contains("stdout_contain"), "{err}");
    }

    #[test]
    fn every_expect_key_is_an_expect_field() {
        for key in EXPECT_KEYS {
            let value = match key {
                "exit" => "0",
                "fails" | "any_status" => "false",
                _ => "[]",
            };
            let text = format!("description = 'x'\n[[run]]\nargv = ['true']\n{key} = {value}\n");
            parse(&text, "x", TARGETS).unwrap();
        }
    }

    #[test]
    fn target_override_replaces_expectations() {
        let text = "description = 'x'\n[[run]]\nargv = ['true']\nexit = 0\n\
                    [target.legacy-landlock.all_runs]\nexit = 125\n";
        let case = parse(text, "x", TARGETS).unwrap();
        assert_eq!(case.runs[0].expect_for(&case, "bundled").exit, Some(0));
        assert_eq!(
            case.runs[0].expect_for(&case, "legacy-landlock").exit,
            Some(125)
        );
    }

    #[test]
    fn a_case_that_only_expects_failures_is_an_error() {
        let text = "description = 'x'\n[[run]]\nargv = ['cat', 'x']\nfails = true\n";
        assert!(
            parse(text, "x", TARGETS)
                .unwrap_err()
                .to_string()
                .contains("runs nothing")
        );
    }

    #[test]
    fn shared_policies_are_read_and_not_loaded_as_cases() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("_policies")).unwrap();
        std::fs::create_dir_all(dir.path().join("f")).unwrap();
        std::fs::write(dir.path().join("_policies/p.toml"), "[filesystem]\n").unwrap();
        let case = "description = 'x'\n[[run]]\nargv = ['true']\n\
                    [target.legacy-landlock]\npolicy_file = 'p'\n";
        std::fs::write(dir.path().join("f/c.toml"), case).unwrap();
        let cases = load_dir(dir.path(), TARGETS).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].name, "f/c");
        assert_eq!(
            cases[0].policy_for("legacy-landlock"),
            Some("[filesystem]\n")
        );
        assert_eq!(cases[0].policy_for("bundled"), None);
    }

    #[test]
    fn unknown_target_is_an_error() {
        let text = "description = 'x'\n[[run]]\nargv = ['true']\n[target.bundle]\nignore = 'x'\n";
        let err = parse(text, "x", TARGETS).unwrap_err().to_string();
        assert!(err.contains("bundle"), "{err}");
    }
}
