//! Finding the binaries under test: `sandbox`, the bundled `bwrap` and `probe`.
//!
//! Under Bazel (a runfiles environment is present), each comes from an environment variable
//! `CARGO_BIN_EXE_<name>` holding an absolute path or an rlocation path resolved through
//! `RUNFILES_DIR`, `TEST_SRCDIR` or `RUNFILES_MANIFEST_FILE`. Under Cargo they are the files
//! next to the running executable's profile directory (`target/<profile>/`, the parent of
//! `deps/` for test executables); when `$CARGO` is set and the directory is writable,
//! `$CARGO build -p sandbox -p bwrap -p conformance --bins` is run once first so they are
//! present and fresh. The paths are canonicalized (Bazel's runfiles are symlinks).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of the binaries under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The `sandbox` CLI.
    pub sandbox: PathBuf,
    /// The workspace's own `bwrap` (the `bundled` target).
    pub bwrap: PathBuf,
    /// The `probe` helper that cases run inside the sandbox.
    pub probe: PathBuf,
}

const NAMES: [&str; 3] = ["sandbox", "bwrap", "probe"];

impl Binaries {
    /// Locates (building under Cargo if needed) the three binaries.
    pub fn locate() -> Result<Self, String> {
        let paths = if runfiles_present() {
            NAMES
                .iter()
                .map(|name| from_bazel_env(name))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            from_cargo_target_dir()?
        };
        // Canonical paths: a runfiles symlink's directory is not where the binary is, and a
        // policy granting `{probe_dir}` must grant the real one.
        let paths = paths
            .into_iter()
            .map(|p| std::fs::canonicalize(&p).map_err(|e| format!("{}: {e}", p.display())))
            .collect::<Result<Vec<_>, _>>()?;
        let [sandbox, bwrap, probe] = <[PathBuf; 3]>::try_from(paths)
            .map_err(|_| "internal: expected three binaries".to_owned())?;
        Ok(Self {
            sandbox,
            bwrap,
            probe,
        })
    }
}

/// Whether the process runs under Bazel (a runfiles environment is present).
pub fn runfiles_present() -> bool {
    ["RUNFILES_DIR", "TEST_SRCDIR", "RUNFILES_MANIFEST_FILE"]
        .iter()
        .any(|v| env::var_os(v).is_some())
}

fn from_bazel_env(name: &str) -> Result<PathBuf, String> {
    let var = format!("CARGO_BIN_EXE_{name}");
    let value = env::var(&var).map_err(|_| {
        format!("{var} is not set: the Bazel test target must set it (see conformance/README.md)")
    })?;
    let path = rlocation(&value).ok_or_else(|| {
        format!("{var}={value}: not found as an absolute path nor in the runfiles")
    })?;
    Ok(path)
}

/// Resolves an absolute path or an rlocation path (`workspace/pkg/file`).
fn rlocation(value: &str) -> Option<PathBuf> {
    let direct = Path::new(value);
    if direct.is_absolute() {
        return direct.exists().then(|| direct.to_path_buf());
    }
    for var in ["RUNFILES_DIR", "TEST_SRCDIR"] {
        if let Some(dir) = env::var_os(var) {
            let candidate = Path::new(&dir).join(value);
            if candidate.exists() {
                return Some(candidate);
            }
        }
    }
    let manifest = std::fs::read_to_string(env::var_os("RUNFILES_MANIFEST_FILE")?).ok()?;
    manifest.lines().find_map(|line| {
        let (key, path) = line.split_once(' ')?;
        (key == value).then(|| PathBuf::from(path))
    })
}

/// `target/<profile>` for the running executable (tests live in `target/<profile>/deps`).
fn profile_dir() -> Result<PathBuf, String> {
    let exe = env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = exe.parent().ok_or("current_exe has no parent")?;
    Ok(if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    })
}

fn from_cargo_target_dir() -> Result<Vec<PathBuf>, String> {
    let dir = profile_dir()?;
    let paths: Vec<PathBuf> = NAMES.iter().map(|n| dir.join(n)).collect();
    let writable = nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok();
    if let (Some(cargo), true) = (env::var_os("CARGO"), writable) {
        cargo_build(Path::new(&cargo), &dir)?;
    }
    match paths.iter().find(|p| !p.is_file()) {
        None => Ok(paths),
        Some(missing) => Err(format!(
            "{} is missing: run `cargo build -p sandbox -p bwrap -p conformance --bins` first",
            missing.display()
        )),
    }
}

fn cargo_build(cargo: &Path, profile_dir: &Path) -> Result<(), String> {
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "sandbox",
        "-p",
        "bwrap",
        "-p",
        "conformance",
        "--bins",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if let Some(target_dir) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target_dir);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running {} build: {e}", cargo.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo build -p sandbox -p bwrap -p conformance --bins` failed ({status}); fix the build and rerun"
        ))
    }
}
