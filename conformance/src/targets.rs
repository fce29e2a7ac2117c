//! The targets every case runs against, and whether this host offers each.
//!
//! - `bundled`: `sandbox run --bwrap <workspace bwrap>` (explicit, so the run can't silently
//!   use another bwrap);
//! - `system`: `sandbox run --bwrap <first bwrap on PATH>` (its version is reported);
//! - `old-bwrap`: a bwrap without `--argv0`: the host's when it lacks it (Debian 12's 0.8.0),
//!   else a shim in front of it (or of the bundled one) that hides and rejects `--argv0`;
//! - `legacy-landlock`: `sandbox run --legacy-landlock`, offered when the kernel has Landlock;
//! - `bwrap-0.4.1`, `bwrap-0.8.0`, `bwrap-0.12.0`, `bwrap-codex`: real C bubblewraps
//!   ([`versions`]);
//! - `codex`, `srt`: the peer sandboxes `ci/peers` installs ([`crate::peers`]), offered when
//!   installed.
//!
//! Under CI (`CI` set and non-empty, [`under_ci`]) every target is required: CI installs them
//! all, so an unavailable one fails its trials instead of being reported as ignored.

pub mod versions;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::binaries::Binaries;
use crate::peers::Peer;

/// Why this host can't offer a target (its report line says so).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The kernel has no Landlock.
    #[error("the kernel offers no Landlock (landlock_create_ruleset: {0})")]
    NoLandlock(std::io::Error),
    /// The `--argv0`-hiding shim could not be written.
    #[error("{what} {}: {source}", path.display())]
    Shim {
        /// The call (`writing`, `chmod`).
        what: &'static str,
        /// The shim.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Codex's own bwrap is not installed.
    #[error("Codex's bwrap is not installed under {}: run ci/peers (it installs @openai/codex)", .0.display())]
    NoCodexBwrap(PathBuf),
    /// A real C bubblewrap has not been built.
    #[error("{} is not built: run ci/bwrap-versions (it builds {version} from Debian's source)", path.display())]
    NotBuilt {
        /// Where it would be.
        path: PathBuf,
        /// Its version.
        version: &'static str,
    },
    /// A real C bubblewrap reports another version than its name says.
    #[error("{} reports `{reported}`, not `{expected}`", path.display())]
    WrongVersion {
        /// The binary.
        path: PathBuf,
        /// What `--version` printed.
        reported: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// Every target name, in matrix order.
pub const NAMES: [&str; 10] = [
    "bundled",
    "system",
    "old-bwrap",
    "legacy-landlock",
    "bwrap-0.4.1",
    "bwrap-0.8.0",
    "bwrap-0.12.0",
    "bwrap-codex",
    "codex",
    "srt",
];

/// What runs a target's commands.
#[derive(Debug, Clone)]
pub enum Kind {
    /// This project's `sandbox` CLI, with [`Target::sandbox_args`].
    Sandbox,
    /// A peer sandbox, through its adapter.
    Peer(crate::peers::Install),
}

/// One way of running the sandbox.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target's name (one of [`NAMES`]).
    pub name: &'static str,
    /// Options inserted after `sandbox run`.
    pub sandbox_args: Vec<String>,
    /// The bwrap this target uses, if any (`{bwrap}` in cases).
    pub bwrap: Option<PathBuf>,
    /// One line for the report: which binary, which version.
    pub detail: String,
    /// Why this host can't offer the target.
    pub unavailable: Option<String>,
    /// A directory put first on `PATH` for every run (sandboxed and `on_host`), so that the
    /// launcher's own bwrap choice meets this target's bwrap.
    pub path_prefix: Option<PathBuf>,
    /// What the stderr of every sandboxed run must contain on this target (the launcher's
    /// fallback warning).
    pub sandbox_stderr: Vec<String>,
    /// What runs the commands.
    pub kind: Kind,
    /// An unavailable target fails its trials instead of being ignored (under CI).
    pub required: bool,
}

impl Target {
    /// The stem of the target's expectations file (`expectations/<stem>.toml`): peers are
    /// graded per version.
    pub fn expectations(&self) -> Option<String> {
        match &self.kind {
            Kind::Peer(install) => Some(format!("{}-{}", self.name, install.version)),
            Kind::Sandbox => None,
        }
    }

    /// How many times longer than ours a run takes on this target, for scheduling (measured
    /// per `true`: ours ~20 ms, codex ~65 ms, srt ~600 ms on an idle host).
    pub fn slowness(&self) -> u32 {
        match &self.kind {
            Kind::Peer(install) if install.peer == Peer::Srt => 20,
            Kind::Peer(_) => 3,
            Kind::Sandbox => 1,
        }
    }

    /// Which trials this target's may not overlap with ([`crate::gate`]); srt's touch
    /// nothing the others share and run beside both groups.
    pub fn gate_group(&self) -> Option<crate::gate::Group> {
        match &self.kind {
            Kind::Sandbox => Some(crate::gate::Group::Ours),
            Kind::Peer(install) if install.peer == Peer::Codex => Some(crate::gate::Group::Codex),
            Kind::Peer(_) => None,
        }
    }

    /// Whether this is one of the project's own ways of running the sandbox.
    pub fn is_ours(&self) -> bool {
        matches!(self.kind, Kind::Sandbox)
    }
}

fn bwrap_help(path: &Path) -> Option<String> {
    let out = Command::new(path).arg("--help").output().ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text)
}

fn bwrap_version(path: &Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "version unknown".into())
}

fn system_bwrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("bwrap"))
        .find(|p| p.is_file())
}

/// The Landlock ABI version the kernel offers, or why it offers none.
pub fn landlock_abi() -> Result<i64, TargetError> {
    uapi::landlock::abi_version()
        .map(i64::from)
        .map_err(|e| TargetError::NoLandlock(e.into()))
}

fn with_bwrap(name: &'static str, bwrap: &Path, detail: String) -> Target {
    Target {
        name,
        sandbox_args: vec!["--bwrap".into(), bwrap.display().to_string()],
        bwrap: Some(bwrap.to_path_buf()),
        detail,
        unavailable: None,
        path_prefix: None,
        sandbox_stderr: Vec::new(),
        kind: Kind::Sandbox,
        required: false,
    }
}

/// Whether this is a CI run (`CI` set and non-empty), where a missing target is a failure.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

fn unavailable(name: &'static str, reason: String) -> Target {
    Target {
        name,
        sandbox_args: Vec::new(),
        bwrap: None,
        detail: String::new(),
        unavailable: Some(reason),
        path_prefix: None,
        sandbox_stderr: Vec::new(),
        kind: Kind::Sandbox,
        required: under_ci(),
    }
}

/// Writes the `--argv0`-hiding shim into `dir` in front of `real`.
fn argv0_shim(dir: &Path, probe: &Path, real: &Path) -> Result<PathBuf, TargetError> {
    let path = dir.join("bwrap-without-argv0");
    let script = format!(
        "#!/bin/sh\nexec '{}' bwrap-shim --real '{}' --hide --argv0 -- \"$@\"\n",
        probe.display(),
        real.display()
    );
    let failed = |what| {
        let path = path.clone();
        move |source| TargetError::Shim { what, path, source }
    };
    std::fs::write(&path, script).map_err(failed("writing"))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(failed("chmod"))?;
    Ok(path)
}

/// Discovers every target; `shim_dir` holds generated shims for the whole session.
pub fn discover(bins: &Binaries, shim_dir: &Path) -> Vec<Target> {
    let bundled = with_bwrap(
        "bundled",
        &bins.bwrap,
        format!("{} ({})", bins.bwrap.display(), bwrap_version(&bins.bwrap)),
    );
    let system = system_bwrap();
    let system_target = match &system {
        Some(path) => with_bwrap(
            "system",
            path,
            format!("{} ({})", path.display(), bwrap_version(path)),
        ),
        None => unavailable("system", "no bwrap on PATH".into()),
    };
    let old = old_bwrap(bins, system.as_deref(), shim_dir);
    let legacy = match landlock_abi() {
        Ok(abi) => Target {
            name: "legacy-landlock",
            sandbox_args: vec!["--legacy-landlock".into()],
            bwrap: None,
            detail: format!("--legacy-landlock (kernel Landlock ABI {abi})"),
            unavailable: None,
            path_prefix: None,
            sandbox_stderr: Vec::new(),
            kind: Kind::Sandbox,
            required: false,
        },
        Err(reason) => unavailable("legacy-landlock", reason.to_string()),
    };
    let mut all = vec![bundled, system_target, old, legacy];
    all.extend(versions::REAL.iter().map(versions::target));
    let cache = crate::peers::cache_dir();
    all.extend([Peer::Codex, Peer::Srt].map(|p| peer(p, &cache)));
    all
}

/// A peer target: offered when `ci/peers` installed it; required under CI (not under Bazel).
fn peer(peer: Peer, cache: &Path) -> Target {
    let required = under_ci();
    let under_bazel =
        crate::binaries::runfiles_present() && std::env::var_os("CONFORMANCE_PEERS").is_none();
    let located = if under_bazel {
        Err(crate::peers::PeerError::UnderBazel)
    } else {
        peer.locate(cache)
    };
    let target = match located {
        Ok(install) => Target {
            name: peer.name(),
            sandbox_args: Vec::new(),
            bwrap: None,
            detail: format!(
                "{} {} ({})",
                peer.package(),
                install.version,
                install
                    .program
                    .last()
                    .map_or(String::new(), |p| p.display().to_string())
            ),
            unavailable: None,
            path_prefix: None,
            sandbox_stderr: Vec::new(),
            kind: Kind::Peer(install),
            required,
        },
        Err(reason) => unavailable(peer.name(), reason.to_string()),
    };
    Target {
        required: required && !under_bazel,
        ..target
    }
}

fn old_bwrap(bins: &Binaries, system: Option<&Path>, shim_dir: &Path) -> Target {
    let system_help = system.and_then(|p| Some((p, bwrap_help(p)?)));
    if let Some((path, help)) = &system_help
        && !help.contains("--argv0")
    {
        let detail = format!("{} ({}, no --argv0)", path.display(), bwrap_version(path));
        return with_bwrap("old-bwrap", path, detail);
    }
    let real = system.unwrap_or(&bins.bwrap);
    match argv0_shim(shim_dir, &bins.probe, real) {
        Ok(shim) => {
            let detail = format!(
                "shim hiding --argv0 in front of {} ({})",
                real.display(),
                bwrap_version(real)
            );
            with_bwrap("old-bwrap", &shim, detail)
        }
        Err(e) => unavailable("old-bwrap", e.to_string()),
    }
}
