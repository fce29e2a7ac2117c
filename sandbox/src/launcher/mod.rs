//! Choosing the bwrap binary that runs the plan, and starting it.
//!
//! Minimal first version: `--bwrap PATH` if given, else the first `bwrap` on `PATH`.
//! The full order (trusted PATH, probe, bundled binary verified by SHA-256 and exec'd
//! through `/proc/self/fd`) replaces the body of [`select`] without changing this API.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the chosen bwrap came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Given with `--bwrap PATH`.
    Explicit,
    /// Found on a trusted `PATH`.
    SystemPath,
    /// Shipped next to the `sandbox` executable and verified by digest.
    Bundled,
}

/// What [`select`] needs to know.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// `--bwrap PATH`, taken as is.
    pub explicit: Option<PathBuf>,
    /// The command's working directory: a `bwrap` inside it is never trusted.
    pub cwd: PathBuf,
}

/// Why no usable bwrap could be chosen.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LaunchError {
    /// Human-readable cause and fix.
    pub message: String,
}

/// A bwrap binary chosen for this run, with the features the plan may use.
#[derive(Debug)]
pub struct Bwrap {
    path: PathBuf,
    source: Source,
    supports_argv0: bool,
}

impl Bwrap {
    /// A `Command` that runs this bwrap; the caller appends arguments.
    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }

    /// Whether this bwrap accepts `--argv0` (bubblewrap 0.9 and later).
    pub fn supports_argv0(&self) -> bool {
        self.supports_argv0
    }

    /// Where this bwrap came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The path the binary was found at, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Chooses the bwrap for this run.
pub fn select(opts: &LaunchOptions) -> Result<Bwrap, LaunchError> {
    let (path, source) = match &opts.explicit {
        Some(p) => (p.clone(), Source::Explicit),
        None => (
            find_on_path().ok_or_else(|| LaunchError {
                message: "no bwrap found on PATH; install bubblewrap or pass --bwrap PATH".into(),
            })?,
            Source::SystemPath,
        ),
    };
    let help = Command::new(&path)
        .arg("--help")
        .output()
        .map_err(|e| LaunchError {
            message: format!("cannot run {} --help: {e}", path.display()),
        })?;
    let supports_argv0 = String::from_utf8_lossy(&help.stdout).contains("--argv0");
    Ok(Bwrap {
        path,
        source,
        supports_argv0,
    })
}

fn find_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(OsStr::new("bwrap")))
        .find(|candidate| candidate.is_file())
}
