//! The real C bubblewraps users have, as targets: 0.4.1, 0.8.0 and 0.12.0 as Debian 11, 12 and
//! 13 ship them (built from Debian's source packages by `ci/bwrap-versions`), and the one
//! Codex's npm package ships at `codex-resources/bwrap` (installed by `ci/peers`).
//!
//! What the launcher must do with each is data here ([`REAL`]), with the reason: run the plan
//! through it (with `--argv0`, or through the compatibility path without it), or, for a
//! bubblewrap lacking an option every plan needs, fall back to the bundled bwrap with a warning
//! naming the version and the option. A fallback target puts the old binary first on `PATH`
//! (no `--bwrap`) and every sandboxed run of every case must print that warning.

use std::path::{Path, PathBuf};

use super::{Target, TargetError, bwrap_help, bwrap_version, unavailable, with_bwrap};

/// How the launcher must treat one real bubblewrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `--bwrap B` runs the plan; `argv0` says whether B's `--help` lists `--argv0` (else the
    /// inner stage is reached through the basename-dispatch compatibility path).
    Runs {
        /// Whether `--argv0` is used.
        argv0: bool,
    },
    /// B lacks options every plan needs: `--bwrap B` is refused (status 125), and with B first
    /// on `PATH` the launcher uses the bundled bwrap, warning that B lacks `lacks`.
    FallsBack {
        /// The options B's `--help` does not list, as the warning names them.
        lacks: &'static [&'static str],
    },
}

/// One real bubblewrap target.
#[derive(Debug, Clone, Copy)]
pub struct Real {
    /// The target's name.
    pub name: &'static str,
    /// What `--version` must print.
    pub version: &'static str,
    /// What the launcher must do with it.
    pub launch: Launch,
    /// Why, for the report and docs/bwrap-versions.md.
    pub reason: &'static str,
}

/// The real bubblewraps, in matrix order.
pub const REAL: [Real; 4] = [
    Real {
        name: "bwrap-0.4.1",
        version: "bubblewrap 0.4.1",
        launch: Launch::FallsBack {
            lacks: &["--size", "--perms"],
        },
        reason: "Debian 11's bubblewrap predates --perms and --size (0.5.0), which every plan uses",
    },
    Real {
        name: "bwrap-0.8.0",
        version: "bubblewrap 0.8.0",
        launch: Launch::Runs { argv0: false },
        reason: "Debian 12's bubblewrap has every plan option but --argv0 (0.9.0): compatibility path",
    },
    Real {
        name: "bwrap-0.12.0",
        version: "bubblewrap 0.12.0",
        launch: Launch::Runs { argv0: true },
        reason: "Debian 13's bubblewrap has every plan option and --argv0",
    },
    Real {
        name: "bwrap-codex",
        version: "bubblewrap built for Codex",
        launch: Launch::Runs { argv0: true },
        reason: "Codex's own build lists every plan option and --argv0",
    },
];

/// Where `ci/bwrap-versions` puts its builds: `$CONFORMANCE_BWRAP_VERSIONS` (unless `off`),
/// else the root's cache (readable by everyone, so the unprivileged run finds it too).
fn versions_dir() -> PathBuf {
    std::env::var_os("CONFORMANCE_BWRAP_VERSIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/agent-sandbox/bwrap-versions"))
}

/// Where `ci/peers` installs Codex: `$CONFORMANCE_PEERS`, else the root's cache.
fn peers_dir() -> PathBuf {
    std::env::var_os("CONFORMANCE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/agent-sandbox/peers"))
}

/// Codex's bwrap under `peers`: `codex/node_modules/@openai/codex-linux-<arch>/vendor/<triple>/
/// codex-resources/bwrap`, whichever vendor triple is installed.
fn codex_bwrap(peers: &Path) -> Result<PathBuf, TargetError> {
    let base = peers.join("codex/node_modules/@openai");
    let missing = || TargetError::NoCodexBwrap(peers.to_path_buf());
    let packages = std::fs::read_dir(&base).map_err(|_| missing())?;
    packages
        .flatten()
        .filter(|p| p.file_name().to_string_lossy().starts_with("codex-linux-"))
        .filter_map(|p| std::fs::read_dir(p.path().join("vendor")).ok())
        .flat_map(|triples| triples.flatten())
        .map(|t| t.path().join("codex-resources/bwrap"))
        .find(|b| b.is_file())
        .ok_or_else(missing)
}

/// The binary for `real`, checked to be the version it claims.
fn binary(real: &Real) -> Result<PathBuf, TargetError> {
    let path = match real.name.strip_prefix("bwrap-") {
        Some("codex") => codex_bwrap(&peers_dir())?,
        Some(v) => {
            let path = versions_dir().join(v).join("bwrap");
            if !path.is_file() {
                return Err(TargetError::NotBuilt { path, version: v });
            }
            path
        }
        None => unreachable!("every REAL name starts with bwrap-"),
    };
    let version = bwrap_version(&path);
    if version != real.version {
        return Err(TargetError::WrongVersion {
            path,
            reported: version,
            expected: real.version,
        });
    }
    Ok(path)
}

/// The parts of the warning a fallback target's every sandboxed run must print: the binary
/// and its version, each option it lacks, and that the bundled bwrap runs instead.
pub fn fallback_warning(path: &Path, version: &str, lacks: &[&str]) -> Vec<String> {
    let mut parts = vec![format!("{} ({version}) lacks ", path.display())];
    parts.extend(lacks.iter().map(|o| o.to_string()));
    parts.push("using the bundled bwrap instead".into());
    parts
}

/// The target for `real`, or why this host can't offer it. `CONFORMANCE_BWRAP_VERSIONS=off`
/// leaves all of them out (the Bazel test does: `cargo test` runs them, as root and as the
/// test user, and the Bazel run is about the Bazel-built binaries).
pub fn target(real: &Real) -> Target {
    if std::env::var_os("CONFORMANCE_BWRAP_VERSIONS").is_some_and(|v| v == "off") {
        return unavailable(
            real.name,
            "turned off with CONFORMANCE_BWRAP_VERSIONS=off".into(),
        );
    }
    let path = match binary(real) {
        Ok(path) => path,
        Err(reason) => return unavailable(real.name, reason.to_string()),
    };
    let listed = bwrap_help(&path).map(|h| {
        ["--argv0", "--perms", "--size"]
            .into_iter()
            .filter(|o| h.split_whitespace().any(|w| w == *o))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let listed = listed.map(|l| {
        if l.is_empty() {
            "none of --argv0 --perms --size".into()
        } else {
            l
        }
    });
    let detail = format!(
        "{} ({}; --help lists: {}): {}",
        path.display(),
        real.version,
        listed.unwrap_or_else(|| "no --help".into()),
        real.reason
    );
    match real.launch {
        Launch::Runs { .. } => with_bwrap(real.name, &path, detail),
        Launch::FallsBack { lacks } => {
            let mut target = with_bwrap(real.name, &path, detail);
            target.sandbox_args.clear();
            target.path_prefix = path.parent().map(Path::to_path_buf);
            target.sandbox_stderr = fallback_warning(&path, real.version, lacks);
            target
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_real_target_is_a_matrix_name() {
        for real in REAL {
            assert!(super::super::NAMES.contains(&real.name), "{}", real.name);
        }
    }

    #[test]
    fn codex_bwrap_is_found_under_any_vendor_triple() {
        let peers = tempfile::tempdir().unwrap();
        let missing = codex_bwrap(peers.path()).unwrap_err().to_string();
        assert!(missing.contains("ci/peers"), "{missing}");
        let dir = peers
            .path()
            .join("codex/node_modules/@openai/codex-linux-arm64/vendor/aarch64-unknown-linux-musl/codex-resources");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bwrap"), "").unwrap();
        assert_eq!(codex_bwrap(peers.path()).unwrap(), dir.join("bwrap"));
    }
}
