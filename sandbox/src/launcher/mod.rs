//! Choosing the bwrap binary that runs the plan, and starting it.
//!
//! Order (first usable wins):
//! 1. `--bwrap PATH` ([`LaunchOptions::explicit`]); if its `--help` lacks an option the
//!    plan needs, the run is refused.
//! 2. The first executable `bwrap` on `PATH` whose canonical path is outside the command's
//!    working directory (`discovery`). It is probed once with `--help` (`probe`): one
//!    lacking a required option (e.g. `--perms`, bubblewrap < 0.5) is skipped with a
//!    warning naming its version and the option; one lacking only `--argv0`
//!    (bubblewrap < 0.9) is kept and [`Bwrap::supports_argv0`] is `false`.
//! 3. The bundled bwrap next to the `sandbox` executable ([`bundled`]), opened once,
//!    hashed through the descriptor against the digest compiled in from
//!    `SANDBOX_BWRAP_SHA256`, and executed through `/proc/self/fd/N`. In Bazel debug builds
//!    only, the runfiles `CARGO_BIN_EXE_bwrap` is a last candidate (`runfiles`).
//!
//! On WSL1 nothing is chosen: bwrap cannot work there (no user namespaces).
//!
//! A run's probes (`--help`, the user-namespace trial) are answered from the user's
//! `cache::ProbeCache` when the same binary was probed before on this boot, so that a
//! run normally starts no bwrap but its own; a run bwrap failed to start drops those answers.
//!
//! Exit statuses the CLI uses for launch failures ([`LaunchError::exit_status`]):
//! [`crate::exit::DIGEST_MISMATCH`] (122) when the bundled bwrap's digest differs from the
//! compiled-in one, [`crate::exit::FAILURE`] (125) for every other reason.

pub mod bundled;
pub(crate) mod cache;
pub(crate) mod discovery;
mod error;
pub(crate) mod probe;
pub(crate) mod runfiles;

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::{FcntlArg, fcntl};

use crate::host::probe::Trial;
use crate::host::{self, Warning};
use bundled::{DigestStatus, Expected};
use cache::ProbeCache;
pub use error::{LaunchError, LaunchErrorKind};
use probe::Capabilities;
pub use probe::ProbeError;

/// The bundled bwrap's descriptor is at least this number: runs place descriptors bwrap
/// reads at fixed low numbers, which must not replace it before the exec.
pub(crate) const FIRST_FREE_FD: i32 = 100;

/// Where the chosen bwrap came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Given with `--bwrap PATH`.
    Explicit,
    /// Found on a trusted `PATH`.
    SystemPath,
    /// Shipped next to the `sandbox` executable and verified by digest.
    Bundled,
}

/// What [`choose`] needs to know.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// `--bwrap PATH`, taken as is.
    pub explicit: Option<PathBuf>,
    /// The command's working directory: a `bwrap` inside it is never trusted.
    pub cwd: PathBuf,
}

/// A bwrap binary chosen for this run, with the features the plan may use.
#[derive(Debug)]
pub struct Bwrap {
    path: PathBuf,
    source: Source,
    supports_argv0: bool,
    /// The opened bundled binary, executed through `/proc/self/fd/N`.
    opened: Option<File>,
    digest: Option<DigestStatus>,
}

impl Bwrap {
    /// A `Command` that runs this bwrap (argv\[0\] `bwrap`); the caller appends arguments.
    /// For the bundled bwrap the program is `/proc/self/fd/N`, the descriptor that was
    /// hashed: keep this `Bwrap` alive until the command has been spawned or exec'd.
    pub fn command(&self) -> Command {
        let mut cmd = match &self.opened {
            Some(file) => Command::new(format!("/proc/self/fd/{}", file.as_raw_fd())),
            None => Command::new(&self.path),
        };
        cmd.arg0("bwrap");
        cmd
    }

    /// Whether this bwrap accepts `--argv0` (bubblewrap 0.9 and later).
    pub fn supports_argv0(&self) -> bool {
        self.supports_argv0
    }

    /// A bwrap at `path` taken as supporting `--argv0` or not, without probing (tests of
    /// what is rendered for it).
    #[cfg(test)]
    pub(crate) fn assumed(path: &Path, supports_argv0: bool) -> Bwrap {
        Bwrap {
            path: path.to_path_buf(),
            source: Source::Explicit,
            supports_argv0,
            opened: None,
            digest: None,
        }
    }

    /// Where this bwrap came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The path the binary was found at, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For the bundled bwrap, the outcome of its digest check.
    pub fn digest(&self) -> Option<&DigestStatus> {
        self.digest.as_ref()
    }

    /// The key of a remembered answer about this binary (see `cache::key`), from the
    /// descriptor that is executed when there is one.
    pub fn cache_key(&self, extra: &str) -> Option<String> {
        let meta = match &self.opened {
            Some(file) => file.metadata(),
            None => std::fs::metadata(&self.path),
        };
        cache::key(&self.path, &meta.ok()?, extra)
    }
}

/// The host facts [`choose`] depends on. [`Context::current`] reads the real ones; tests
/// substitute a different executable location or expected digest.
#[derive(Debug, Clone)]
pub struct Context {
    /// The running `sandbox` executable (bundled candidates are next to it).
    pub exe: PathBuf,
    /// The `PATH` value searched for a system bwrap.
    pub path_var: Option<OsString>,
    /// The digest the bundled bwrap must have.
    pub expected: Expected,
    /// The Bazel runfiles candidate, when this build and environment honour it.
    pub runfiles_bwrap: Option<PathBuf>,
}

impl Context {
    /// This process's executable, `PATH`, compiled-in digest and runfiles candidate.
    pub fn current() -> Result<Self, LaunchError> {
        let exe = std::env::current_exe().map_err(LaunchError::CurrentExe)?;
        Ok(Context {
            exe,
            path_var: std::env::var_os("PATH"),
            expected: Expected::compiled()?,
            runfiles_bwrap: runfiles::candidate(),
        })
    }
}

/// A choice of bwrap with the reasons and warnings that led to it.
#[derive(Debug)]
pub struct Choice {
    /// The bwrap to run.
    pub bwrap: Bwrap,
    /// Why this one was chosen, for `sandbox doctor`.
    pub reason: String,
    /// Problems to show on stderr before the command runs.
    pub warnings: Vec<Warning>,
}

/// Chooses the bwrap for this run in `ctx`, running every probe.
pub fn choose(opts: &LaunchOptions, ctx: &Context) -> Result<Choice, LaunchError> {
    choose_cached(opts, ctx, None)
}

/// [`choose`], answering the probes from `cache` where it remembers the same binary.
pub(crate) fn choose_cached(
    opts: &LaunchOptions,
    ctx: &Context,
    cache: Option<&ProbeCache>,
) -> Result<Choice, LaunchError> {
    if host::wsl::running_on_wsl1() {
        return Err(LaunchError::Wsl1);
    }
    let mut choice = match &opts.explicit {
        Some(path) => choose_explicit(path, cache)?,
        None => choose_system_or_bundled(opts, ctx, cache)?,
    };
    if let Some(warning) = host::userns::warning(&userns_trial(&choice.bwrap, cache)) {
        choice.warnings.push(warning);
    }
    Ok(choice)
}

/// The user-namespace trial of `bwrap`; only a success is remembered, for as long as the
/// user-namespace sysctls keep their values.
fn userns_trial(bwrap: &Bwrap, cache: Option<&ProbeCache>) -> Trial {
    let key = cache.and_then(|_| bwrap.cache_key(&host::userns::sysctls()));
    cache::remembered(
        cache,
        "userns",
        key,
        |answer| (answer == "ok").then_some(Trial::Succeeded),
        || host::userns::check(bwrap.command()),
        |trial| (*trial == Trial::Succeeded).then(|| "ok".to_owned()),
    )
}

/// After bwrap failed to start a run: drops every remembered probe answer, and if user
/// namespaces were taken as working from one, tries them now and returns the warning that
/// a stale answer would have hidden.
pub(crate) fn after_failed_start(bwrap: &Bwrap, cache: &ProbeCache) -> Option<Warning> {
    let recalled = cache.has("userns");
    cache.forget();
    recalled
        .then(|| host::userns::probe_with(bwrap.command()))
        .flatten()
}

/// The `--help` capabilities of the binary `bwrap` runs (`meta` its metadata); only a
/// usable answer is remembered.
fn help_of(
    bwrap: Command,
    path: &Path,
    meta: std::io::Result<Metadata>,
    cache: Option<&ProbeCache>,
) -> Result<Capabilities, probe::ProbeError> {
    let key = cache.and_then(|_| cache::key(path, &meta.ok()?, ""));
    cache::remembered(
        cache,
        "help",
        key,
        |answer| {
            let argv0 = match answer {
                "usable argv0" => true,
                "usable" => false,
                _ => return None,
            };
            Some(Ok(Capabilities {
                missing: Vec::new(),
                argv0,
            }))
        },
        || probe::probe_help(bwrap),
        |caps| match caps {
            Ok(caps) if caps.usable() && caps.argv0 => Some("usable argv0".to_owned()),
            Ok(caps) if caps.usable() => Some("usable".to_owned()),
            _ => None,
        },
    )
}

fn choose_explicit(path: &Path, cache: Option<&ProbeCache>) -> Result<Choice, LaunchError> {
    let caps =
        help_of(Command::new(path), path, std::fs::metadata(path), cache).map_err(|source| {
            LaunchError::ExplicitProbe {
                path: path.to_path_buf(),
                source,
            }
        })?;
    if !caps.usable() {
        return Err(LaunchError::ExplicitLacks {
            path: path.to_path_buf(),
            version: probe::probe_version(Command::new(path)),
            missing: caps.missing,
        });
    }
    Ok(Choice {
        bwrap: system_bwrap(path.to_path_buf(), Source::Explicit, &caps),
        reason: "given with --bwrap".to_owned(),
        warnings: Vec::new(),
    })
}

fn system_bwrap(path: PathBuf, source: Source, caps: &Capabilities) -> Bwrap {
    Bwrap {
        path,
        source,
        supports_argv0: caps.argv0,
        opened: None,
        digest: None,
    }
}

fn choose_system_or_bundled(
    opts: &LaunchOptions,
    ctx: &Context,
    cache: Option<&ProbeCache>,
) -> Result<Choice, LaunchError> {
    let mut warnings = Vec::new();
    let why_not_system = match discovery::find_trusted_bwrap(ctx.path_var.as_deref(), &opts.cwd) {
        None => {
            warnings.push(Warning::new(
                "no bwrap found on PATH (outside the working directory); using the bundled bwrap",
                "install bubblewrap with the system package manager (e.g. `apt install bubblewrap`), \
                 so that distribution AppArmor profiles apply to it",
            ));
            "no bwrap on PATH outside the working directory".to_owned()
        }
        Some(path) => match help_of(Command::new(&path), &path, std::fs::metadata(&path), cache) {
            Ok(caps) if caps.usable() => {
                return Ok(Choice {
                    bwrap: system_bwrap(path, Source::SystemPath, &caps),
                    reason: "first executable bwrap on PATH outside the working directory"
                        .to_owned(),
                    warnings,
                });
            }
            Ok(caps) => {
                let version = probe::probe_version(Command::new(&path));
                let missing = caps.missing.join(", ");
                warnings.push(Warning::new(
                    &format!(
                        "{} ({version}) lacks {missing}; using the bundled bwrap instead",
                        path.display()
                    ),
                    "upgrade bubblewrap to 0.5 or later (0.9 or later for --argv0)",
                ));
                format!("{} ({version}) lacks {missing}", path.display())
            }
            Err(e) => {
                warnings.push(Warning::new(
                    &format!("{}: {e}; using the bundled bwrap instead", path.display()),
                    "reinstall bubblewrap or remove the broken bwrap from PATH",
                ));
                format!("{}: {e}", path.display())
            }
        },
    };
    let bwrap = open_bundled(ctx, &why_not_system, cache)?;
    Ok(Choice {
        reason: format!("bundled bwrap ({why_not_system})"),
        bwrap,
        warnings,
    })
}

/// The first bundled candidate that is an executable file, or every path that was tried.
pub(crate) fn find_bundled(ctx: &Context) -> Result<PathBuf, Vec<PathBuf>> {
    let mut tried = bundled::candidates(&ctx.exe);
    tried.extend(ctx.runfiles_bwrap.clone());
    match tried.iter().find(|p| host::probe::is_executable_file(p)) {
        Some(found) => Ok(found.canonicalize().unwrap_or_else(|_| found.clone())),
        None => Err(tried),
    }
}

/// Opens `path` once and checks its digest through that descriptor.
pub(crate) fn open_and_check(
    path: &Path,
    expected: Expected,
) -> Result<(File, DigestStatus), LaunchError> {
    let opened = File::open(path).map_err(|source| LaunchError::OpenBundled {
        path: path.to_path_buf(),
        source,
    })?;
    // Above the fixed descriptor numbers a run hands to bwrap (dup2'd in the child before
    // exec), so that /proc/self/fd/N still names this file when bwrap is exec'd.
    let file = fcntl(&opened, FcntlArg::F_DUPFD_CLOEXEC(FIRST_FREE_FD))
        .map(|raw| {
            // SAFETY: fcntl just returned this new descriptor, which nothing else owns.
            File::from(unsafe { OwnedFd::from_raw_fd(raw) })
        })
        .map_err(|source| LaunchError::DupBundled {
            path: path.to_path_buf(),
            source,
        })?;
    let digest = bundled::check(&file, expected).map_err(|source| LaunchError::ReadBundled {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((file, digest))
}

/// Finds, opens, verifies and probes the bundled bwrap. `why_not_system` says why no
/// bwrap from PATH is used, for the message when there is no bundled one either.
fn open_bundled(
    ctx: &Context,
    why_not_system: &str,
    cache: Option<&ProbeCache>,
) -> Result<Bwrap, LaunchError> {
    let path = find_bundled(ctx).map_err(|tried| LaunchError::NoBundled {
        why_not_system: why_not_system.to_owned(),
        tried,
    })?;
    let (file, digest) = open_and_check(&path, ctx.expected)?;
    if let DigestStatus::Mismatch { expected, actual } = &digest {
        return Err(LaunchError::DigestMismatch {
            path,
            expected: expected.clone(),
            actual: actual.clone(),
        });
    }
    let meta = file.metadata();
    let mut bwrap = Bwrap {
        path,
        source: Source::Bundled,
        supports_argv0: false,
        opened: Some(file),
        digest: Some(digest),
    };
    let caps = help_of(bwrap.command(), &bwrap.path, meta, cache).map_err(|source| {
        LaunchError::BundledProbe {
            path: bwrap.path.clone(),
            source,
        }
    })?;
    if !caps.usable() {
        return Err(LaunchError::BundledLacks {
            path: bwrap.path,
            missing: caps.missing,
        });
    }
    bwrap.supports_argv0 = caps.argv0;
    Ok(bwrap)
}
