//! The targets every case runs against, and whether this host offers each.
//!
//! - `bundled`: `sandbox run --bwrap <workspace bwrap>` (explicit, so the run can't silently
//!   use another bwrap);
//! - `system`: `sandbox run --bwrap <first bwrap on PATH>` (its version is reported);
//! - `old-bwrap`: a bwrap without `--argv0`: the host's when it lacks it (Debian 12's 0.8.0),
//!   else a shim in front of it (or of the bundled one) that hides and rejects `--argv0`;
//! - `legacy-landlock`: `sandbox run --legacy-landlock`, offered when the kernel has Landlock;
//! - `bwrap-0.4.1`, `bwrap-0.8.0`, `bwrap-0.12.0`, `bwrap-codex`: real C bubblewraps
//!   ([`versions`]).

pub mod versions;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::binaries::Binaries;

/// Every target name, in matrix order.
pub const NAMES: [&str; 8] = [
    "bundled",
    "system",
    "old-bwrap",
    "legacy-landlock",
    "bwrap-0.4.1",
    "bwrap-0.8.0",
    "bwrap-0.12.0",
    "bwrap-codex",
];

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
pub fn landlock_abi() -> Result<i64, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: landlock_create_ruleset with a null attr, size 0 and the VERSION flag only
    // queries the ABI; it reads no memory and returns no descriptor.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if abi < 0 {
        Err(format!(
            "the kernel offers no Landlock (landlock_create_ruleset: {})",
            std::io::Error::last_os_error()
        ))
    } else {
        Ok(abi)
    }
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
    }
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
    }
}

/// Writes the `--argv0`-hiding shim into `dir` in front of `real`.
fn argv0_shim(dir: &Path, probe: &Path, real: &Path) -> Result<PathBuf, String> {
    let path = dir.join("bwrap-without-argv0");
    let script = format!(
        "#!/bin/sh\nexec '{}' bwrap-shim --real '{}' --hide --argv0 -- \"$@\"\n",
        probe.display(),
        real.display()
    );
    std::fs::write(&path, script).map_err(|e| format!("writing {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", path.display()))?;
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
        },
        Err(reason) => unavailable("legacy-landlock", reason),
    };
    let mut targets = vec![bundled, system_target, old, legacy];
    targets.extend(versions::REAL.iter().map(versions::target));
    targets
}

fn old_bwrap(bins: &Binaries, system: Option<&Path>, shim_dir: &Path) -> Target {
    let system_help = system.and_then(|p| Some((p, bwrap_help(p)?)));
    if let Some((path, help)) = &system_help {
        if !help.contains("--argv0") {
            let detail = format!("{} ({}, no --argv0)", path.display(), bwrap_version(path));
            return with_bwrap("old-bwrap", path, detail);
        }
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
        Err(e) => unavailable("old-bwrap", e),
    }
}
