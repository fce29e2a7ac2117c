//! The `/proc` preflight: can bwrap mount a fresh procfs on this host?
//!
//! Some hosts (containers with a masked `/proc`, restrictive LSM profiles) refuse the
//! mount. A throw-away sandbox with only the system directories and `--proc /proc` tells
//! before the real run. If only the proc mount fails, the run continues with `/proc`
//! hidden (never the host's); any other failure means bwrap cannot build a sandbox here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use crate::launcher::Bwrap;
use crate::launcher::cache::{self, ProbeCache};
use crate::policy::{MINIMAL_DIRS, NetworkMode};

/// What the preflight found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcSupport {
    /// A fresh `/proc` can be mounted.
    Mountable,
    /// bwrap works but the host refuses the proc mount (its message).
    Refused(String),
}

/// The preflight's bwrap arguments: system directories only, never the whole filesystem.
pub fn args(network: NetworkMode) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--unshare-user", "--unshare-pid", "--unshare-ipc"]
        .map(OsString::from)
        .to_vec();
    if network != NetworkMode::Enabled {
        args.push("--unshare-net".into());
    }
    args.extend(["--tmpfs", "/", "--dev", "/dev"].map(OsString::from));
    for dir in MINIMAL_DIRS.iter().filter(|d| Path::new(d).exists()) {
        args.extend(["--ro-bind", dir, dir].map(OsString::from));
    }
    args.extend(["--proc", "/proc", "--"].map(OsString::from));
    args.push(crate::host::probe::true_program().into());
    args
}

/// Why the preflight says bwrap cannot build any sandbox on this host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// bwrap could not be started.
    #[error("cannot run {}: {source}", .bwrap.display())]
    Spawn {
        /// The bwrap binary.
        bwrap: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// bwrap failed for a reason other than the proc mount.
    #[error("{} cannot create a sandbox on this host ({status}): {stderr}", .bwrap.display())]
    NoSandbox {
        /// The bwrap binary.
        bwrap: PathBuf,
        /// How it exited.
        status: ExitStatus,
        /// Its message.
        stderr: String,
    },
}

/// Runs the preflight. `Err` carries bwrap's message when it cannot build any sandbox.
pub fn check(bwrap: &Bwrap, network: NetworkMode) -> Result<ProcSupport, PreflightError> {
    let output = bwrap
        .command()
        .args(args(network))
        .output()
        .map_err(|source| PreflightError::Spawn {
            bwrap: bwrap.path().to_path_buf(),
            source,
        })?;
    if output.status.success() {
        return Ok(ProcSupport::Mountable);
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if is_proc_mount_failure(&stderr) {
        Ok(ProcSupport::Refused(stderr))
    } else {
        Err(PreflightError::NoSandbox {
            bwrap: bwrap.path().to_path_buf(),
            status: output.status,
            stderr,
        })
    }
}

/// [`check`], remembered in `cache` for this boot, user namespace, bwrap binary and
/// network mode. Remembering is safe both ways: a stale "mountable" makes the real run
/// fail (closed), after which the caller drops the answers
/// ([`crate::launcher::after_failed_start`]); a stale "refused" only hides `/proc`.
pub fn check_cached(
    bwrap: &Bwrap,
    network: NetworkMode,
    cache: Option<&ProbeCache>,
) -> Result<ProcSupport, PreflightError> {
    let key = cache.and_then(|_| bwrap.cache_key(network.as_str()));
    cache::remembered(
        cache,
        &format!("proc-{}", network.as_str()),
        key,
        |answer| match answer.split_once('\n') {
            Some(("mountable", "")) => Some(Ok(ProcSupport::Mountable)),
            Some(("refused", why)) => Some(Ok(ProcSupport::Refused(why.to_owned()))),
            _ => None,
        },
        || check(bwrap, network),
        |result| match result {
            Ok(ProcSupport::Mountable) => Some("mountable\n".to_owned()),
            Ok(ProcSupport::Refused(why)) => Some(format!("refused\n{why}")),
            Err(_) => None,
        },
    )
}

/// Whether bwrap's message is about mounting proc being refused (bubblewrap's wordings
/// "Can't mount proc on /newroot/proc" and "Can't mount proc on /proc" included).
pub fn is_proc_mount_failure(stderr: &str) -> bool {
    let lower = stderr.to_ascii_lowercase();
    lower.contains("mount proc")
        && [
            "invalid argument",
            "operation not permitted",
            "permission denied",
        ]
        .iter()
        .any(|m| lower.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_proc_mount_refusals_only() {
        assert!(is_proc_mount_failure(
            "bwrap: Can't mount proc on /newroot/proc: Operation not permitted"
        ));
        assert!(is_proc_mount_failure(
            "bwrap: Can't mount proc on /proc: Permission denied"
        ));
        assert!(!is_proc_mount_failure(
            "bwrap: Creating new namespace failed: Operation not permitted"
        ));
    }

    #[test]
    fn the_result_is_cached_per_bwrap_and_forgotten_on_request() {
        let options = crate::launcher::LaunchOptions {
            explicit: Some("/usr/bin/bwrap".into()),
            cwd: "/".into(),
        };
        let choice = crate::launcher::Context::current()
            .and_then(|ctx| crate::launcher::choose(&options, &ctx));
        let Ok(bwrap) = choice.map(|c| c.bwrap) else {
            return crate::testing::skip("/usr/bin/bwrap is not usable here");
        };
        let dir = tempfile::tempdir().unwrap();
        let cache = ProbeCache::new(dir.path());
        let file = dir.path().join("probe-proc-restricted");
        let first = check_cached(&bwrap, NetworkMode::Restricted, Some(&cache)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("/usr/bin/bwrap") && text.ends_with("\nmountable\n"),
            "{text}"
        );
        // A cached answer is used as is, without running bwrap.
        let key = text.strip_suffix("mountable\n").unwrap();
        std::fs::write(&file, format!("{key}refused\nfrom the cache")).unwrap();
        let cached = check_cached(&bwrap, NetworkMode::Restricted, Some(&cache)).unwrap();
        assert_eq!(cached, ProcSupport::Refused("from the cache".into()));
        assert_eq!(first, ProcSupport::Mountable);
        // The other network mode has its own answer.
        assert!(!dir.path().join("probe-proc-enabled").exists());
        cache.forget();
        assert!(!file.exists());
    }

    #[test]
    fn preflight_never_binds_the_whole_filesystem() {
        let args = args(NetworkMode::Restricted);
        let pos = args.iter().position(|a| a == "--tmpfs").unwrap();
        assert_eq!(args[pos + 1], "/");
        assert!(!args.windows(3).any(|w| w[1] == "/" && w[2] == "/"));
    }
}
