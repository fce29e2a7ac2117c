//! Whether bwrap can create user namespaces here, and why not.
//!
//! The probe runs `<bwrap> --unshare-user --unshare-net --ro-bind / / true` with a short
//! deadline. Only failures whose stderr carries a known namespace message produce a
//! warning; a timeout, a spawn error or an unrelated failure produce none (the real run
//! reports those itself).

use std::process::Command;
use std::time::Duration;

use super::Warning;
use super::probe::{Trial, trial};

/// How long the probe may take before it is abandoned without a warning.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// bwrap messages that mean "no user namespace for you".
pub const NAMESPACE_FAILURES: &[&str] = &[
    "loopback: Failed RTM_NEWADDR",
    "loopback: Failed RTM_NEWLINK",
    "setting up uid map: Permission denied",
    "No permissions to create a new namespace",
    "Creating new namespace failed",
];

/// The AppArmor profile shipped with the project, for Ubuntu 24.04 and later.
pub const APPARMOR_PROFILE: &str = "sandbox/apparmor/agent-sandbox-bwrap";

/// Tries `bwrap --unshare-user --unshare-net --ro-bind / / true`.
pub fn check(bwrap: Command) -> Trial {
    trial(
        bwrap,
        &["--unshare-user", "--unshare-net", "--ro-bind", "/", "/"],
        PROBE_TIMEOUT,
    )
}

/// Whether a failed trial's message is a known user-namespace failure.
pub fn is_namespace_failure(message: &str) -> bool {
    NAMESPACE_FAILURES.iter().any(|m| message.contains(m))
}

/// Runs the probe with `bwrap` (a command whose program is set) and returns a warning if
/// it shows that user namespaces are unavailable.
pub fn probe_with(bwrap: Command) -> Option<Warning> {
    warning(&check(bwrap))
}

/// The warning a probe's outcome calls for: only a failure with a known namespace message.
pub fn warning(trial: &Trial) -> Option<Warning> {
    match trial {
        Trial::Failed(message) if is_namespace_failure(message) => Some(Warning::new(
            &format!("bwrap cannot create user namespaces here ({message})"),
            &remedy(),
        )),
        _ => None,
    }
}

/// The sysctls that allow or forbid user namespaces (missing ones as `-`), in one line:
/// a remembered probe answer is only valid while they keep their values.
pub fn sysctls() -> String {
    SYSCTLS
        .iter()
        .map(|p| format!("{}={}", p, sysctl(p).unwrap_or_else(|| "-".to_owned())))
        .collect::<Vec<_>>()
        .join(" ")
}

const MAX_USER_NAMESPACES: &str = "/proc/sys/user/max_user_namespaces";
const UNPRIVILEGED_USERNS_CLONE: &str = "/proc/sys/kernel/unprivileged_userns_clone";
const APPARMOR_RESTRICT: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";
const SYSCTLS: &[&str] = &[
    MAX_USER_NAMESPACES,
    UNPRIVILEGED_USERNS_CLONE,
    APPARMOR_RESTRICT,
];

fn sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The fix for missing user namespaces on this host, from the sysctls that cause it.
pub fn remedy() -> String {
    if sysctl(MAX_USER_NAMESPACES).as_deref() == Some("0") {
        return "user namespaces are disabled (user.max_user_namespaces = 0): \
                `sysctl -w user.max_user_namespaces=15000`, or run outside this container"
            .to_owned();
    }
    if sysctl(UNPRIVILEGED_USERNS_CLONE).as_deref() == Some("0") {
        return "unprivileged user namespaces are disabled: \
                `sysctl -w kernel.unprivileged_userns_clone=1`"
            .to_owned();
    }
    format!(
        "on Ubuntu 24.04 and later AppArmor restricts unprivileged user namespaces \
         (kernel.apparmor_restrict_unprivileged_userns = 1): use the distribution's \
         /usr/bin/bwrap (apt install bubblewrap apparmor-profiles), or install the profile \
         shipped in {APPARMOR_PROFILE} into /etc/apparmor.d/ and load it with \
         `apparmor_parser -r /etc/apparmor.d/agent-sandbox-bwrap`; inside Docker, start the \
         container with `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake bwrap run through `sh`, so the script is never executed while another test
    /// thread's fork might still hold it open for writing.
    fn fake_bwrap(dir: &std::path::Path, body: &str) -> Command {
        let path = dir.join("bwrap");
        std::fs::write(&path, format!("{body}\n")).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg(path);
        cmd
    }

    #[test]
    fn each_known_namespace_message_warns() {
        let dir = tempfile::tempdir().unwrap();
        for message in NAMESPACE_FAILURES {
            let cmd = fake_bwrap(
                dir.path(),
                &format!("echo 'bwrap: {message}: x' >&2; exit 1"),
            );
            let warning = probe_with(cmd).expect(message);
            assert!(warning.cause.contains(message));
            assert!(!warning.fix.is_empty());
        }
    }

    #[test]
    fn unrelated_failures_do_not_warn() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = fake_bwrap(
            dir.path(),
            "echo 'bwrap: Unknown option --argv0' >&2; exit 1",
        );
        assert_eq!(probe_with(cmd), None);
    }

    #[test]
    fn a_hanging_probe_is_abandoned_without_warning() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = fake_bwrap(dir.path(), "exec sleep 5");
        let started = std::time::Instant::now();
        assert_eq!(probe_with(cmd), None);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
