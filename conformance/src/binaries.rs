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

/// Why a binary under test could not be found or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BinaryError {
    /// Under Bazel, `CARGO_BIN_EXE_<name>` is not set.
    #[error("{0} is not set: the Bazel test target must set it (see conformance/README.md)")]
    Unset(String),
    /// Under Bazel, `CARGO_BIN_EXE_<name>` names no file.
    #[error("{var}={value}: not found as an absolute path nor in the runfiles")]
    NotInRunfiles {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
    },
    /// A binary's path could not be canonicalized.
    #[error("{}: {source}", path.display())]
    Canonicalize {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The running executable's path is unknown.
    #[error("current_exe: {0}")]
    CurrentExe(std::io::Error),
    /// The running executable's path has no parent directory.
    #[error("current_exe has no parent")]
    NoParent,
    /// `cargo` could not be started.
    #[error("running {} build: {source}", cargo.display())]
    CargoSpawn {
        /// The `cargo` program.
        cargo: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `cargo build` failed.
    #[error(
        "`cargo build -p sandbox -p bwrap -p conformance --bins` failed ({0}); fix the build and rerun"
    )]
    CargoFailed(std::process::ExitStatus),
    /// A binary is not in the profile directory.
    #[error(
        "{} is missing: run `cargo build -p sandbox -p bwrap -p conformance --bins` first",
        .0.display()
    )]
    Missing(PathBuf),
}

impl Binaries {
    /// Locates (building under Cargo if needed) the three binaries.
    pub fn locate() -> Result<Self, BinaryError> {
        let paths = if runfiles_present() {
            let [sandbox, bwrap, probe] = NAMES.map(from_bazel_env);
            [sandbox?, bwrap?, probe?]
        } else {
            from_cargo_target_dir()?
        };
        // Canonical paths: a runfiles symlink's directory is not where the binary is, and a
        // policy granting `{probe_dir}` must grant the real one.
        let [sandbox, bwrap, probe] = paths.map(|path| {
            std::fs::canonicalize(&path)
                .map_err(|source| BinaryError::Canonicalize { path, source })
        });
        Ok(Self {
            sandbox: sandbox?,
            bwrap: bwrap?,
            probe: probe?,
        })
    }
}

/// Whether the process runs under Bazel (a runfiles environment is present).
pub fn runfiles_present() -> bool {
    ["RUNFILES_DIR", "TEST_SRCDIR", "RUNFILES_MANIFEST_FILE"]
        .iter()
        .any(|v| env::var_os(v).is_some())
}

fn from_bazel_env(name: &str) -> Result<PathBuf, BinaryError> {
    let var = format!("CARGO_BIN_EXE_{name}");
    let Ok(value) = env::var(&var) else {
        return Err(BinaryError::Unset(var));
    };
    rlocation(&value).ok_or(BinaryError::NotInRunfiles { var, value })
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
fn profile_dir() -> Result<PathBuf, BinaryError> {
    let exe = env::current_exe().map_err(BinaryError::CurrentExe)?;
    let dir = exe.parent().ok_or(BinaryError::NoParent)?;
    Ok(if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    })
}

fn from_cargo_target_dir() -> Result<[PathBuf; 3], BinaryError> {
    let dir = profile_dir()?;
    let paths = NAMES.map(|n| dir.join(n));
    let writable = nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok();
    if let (Some(cargo), true) = (env::var_os("CARGO"), writable) {
        cargo_build(Path::new(&cargo), &dir)?;
    }
    match paths.iter().find(|p| !p.is_file()) {
        None => Ok(paths),
        Some(missing) => Err(BinaryError::Missing(missing.clone())),
    }
}

fn cargo_build(cargo: &Path, profile_dir: &Path) -> Result<(), BinaryError> {
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
    let status = cmd.status().map_err(|source| BinaryError::CargoSpawn {
        cargo: cargo.to_path_buf(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BinaryError::CargoFailed(status))
    }
}
