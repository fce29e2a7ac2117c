//! Host conditions simulated for real (namespaces, bind mounts, sysctls, seccomp) and what
//! the launcher and `sandbox doctor` make of them.

mod host_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use host_support::*;
use sandbox::cli::doctor::{self, Status};
use sandbox::host::landlock::{self, Landlock};
use sandbox::launcher::bundled::Expected;
use sandbox::launcher::{LaunchOptions, choose};

const WSL1_VERSION: &str = "Linux version 4.4.0-22621-Microsoft (Microsoft@Microsoft.com) \
    (gcc version 5.4.0 (GCC) ) #2506-Microsoft Fri Jan 01 00:00:00 PST 2016\n";
const WSL2_VERSION: &str = "Linux version 5.15.153.1-microsoft-standard-WSL2 \
    (root@1a2b3c) (gcc (GCC) 11.2.0) #1 SMP Fri Mar 29 23:14:13 UTC 2024\n";

/// Runs the doctor with the system bwrap on PATH and a fresh working directory.
fn doctor_with_system_path() -> doctor::Report {
    let root = tempfile::tempdir().unwrap();
    let ctx = context(root.path(), "/usr/bin", Expected::Unchecked);
    let opts = LaunchOptions {
        explicit: None,
        cwd: root.path().to_path_buf(),
    };
    let report = doctor::report(&opts, &ctx);
    eprintln!("{report}");
    report
}

fn status_of(report: &doctor::Report, name: &str) -> Status {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no {name} line"))
        .status
}

/// A world-readable file holding `text`, for binding over `/proc/version`.
fn fake_proc_version(dir: &Path, text: &str) -> String {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("version");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    file.to_str().unwrap().to_owned()
}

/// Wrappers that bind `file` over `/proc/version` in a new mount namespace (as root) or a
/// new user+mount namespace (as an unprivileged user).
fn with_proc_version(file: &str) -> (Vec<String>, Vec<String>) {
    let script = r#"mount --bind "$0" /proc/version && exec "$@""#;
    let root = ["unshare", "-m", "sh", "-c", script, file];
    let user = ["unshare", "-Urm", "sh", "-c", script, file];
    (
        root.map(String::from).to_vec(),
        user.map(String::from).to_vec(),
    )
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn doctor_reports_this_machine() {
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let report = doctor_with_system_path();
    assert_eq!(
        report.check("bwrap").unwrap().detail.split(' ').next(),
        Some("/usr/bin/bwrap")
    );
    assert!(
        report
            .check("bwrap version")
            .unwrap()
            .detail
            .starts_with("bubblewrap ")
    );
    for name in [
        "bwrap",
        "user namespaces",
        "/proc mount",
        "Landlock",
        "seccomp",
    ] {
        assert_eq!(status_of(&report, name), Status::Ok, "{name}");
    }
    assert_eq!(status_of(&report, "WSL"), Status::Info);
    assert!(report.healthy());
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["healthy"], true);
    assert!(json["checks"].as_array().unwrap().len() >= 9);
}

#[test]
fn wsl1_is_refused_before_any_bwrap_runs() {
    if is_rerun() {
        let root = tempfile::tempdir().unwrap();
        let marker = root.path().join("bwrap-ran");
        install_script(
            &root.path().join("path/bwrap"),
            &format!("touch {}; exec {SYSTEM_BWRAP} \"$@\"", marker.display()),
        );
        let ctx = context(
            root.path(),
            root.path().join("path").to_str().unwrap(),
            Expected::Unchecked,
        );
        let workspace = tempfile::tempdir().unwrap();
        let opts = LaunchOptions {
            explicit: None,
            cwd: workspace.path().to_path_buf(),
        };
        let err = choose(&opts, &ctx).unwrap_err();
        assert!(err.to_string().contains("WSL1"), "{err}");
        assert!(err.to_string().contains("WSL2"), "{err}");
        assert!(!marker.exists(), "bwrap was invoked on WSL1");
        let report = doctor::report(&opts, &ctx);
        assert_eq!(status_of(&report, "WSL"), Status::Fail);
        assert!(!marker.exists(), "the doctor invoked bwrap on WSL1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (root, user) = with_proc_version(&fake_proc_version(dir.path(), WSL1_VERSION));
    rerun_as_root_and_user(
        "wsl1_is_refused_before_any_bwrap_runs",
        &refs(&root),
        &refs(&user),
    );
}

#[test]
fn wsl2_takes_the_normal_path() {
    if is_rerun() {
        let report = doctor_with_system_path();
        assert_eq!(status_of(&report, "WSL"), Status::Ok);
        assert_eq!(status_of(&report, "bwrap"), Status::Ok);
        assert_eq!(status_of(&report, "user namespaces"), Status::Ok);
        return;
    }
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    let dir = tempfile::tempdir().unwrap();
    let (root, user) = with_proc_version(&fake_proc_version(dir.path(), WSL2_VERSION));
    rerun_as_root_and_user("wsl2_takes_the_normal_path", &refs(&root), &refs(&user));
}

#[test]
fn user_namespaces_off_warns_with_cause_and_fix() {
    if is_rerun() {
        let root = tempfile::tempdir().unwrap();
        let ctx = context(root.path(), "/usr/bin", Expected::Unchecked);
        let opts = LaunchOptions {
            explicit: None,
            cwd: root.path().to_path_buf(),
        };
        let choice = choose(&opts, &ctx).unwrap();
        let warning = choice
            .warnings
            .iter()
            .find(|w| w.cause.contains("cannot create user namespaces"))
            .expect("a user-namespace warning");
        assert!(warning.fix.contains("max_user_namespaces"), "{warning}");
        let report = doctor::report(&opts, &ctx);
        eprintln!("{report}");
        assert_eq!(status_of(&report, "user namespaces"), Status::Fail);
        assert_eq!(status_of(&report, "/proc mount"), Status::Warn);
        assert!(!report.healthy());
        return;
    }
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    rerun_as_root_and_user(
        "user_namespaces_off_warns_with_cause_and_fix",
        &USERNS_OFF,
        &USERNS_OFF,
    );
}

#[test]
fn masked_proc_is_reported_unmountable_with_fix() {
    if is_rerun() {
        let report = doctor_with_system_path();
        let line = report.check("/proc mount").unwrap();
        assert_eq!(line.status, Status::Fail);
        assert!(line.detail.contains("Can't mount proc"), "{}", line.detail);
        assert!(line.fix.as_deref().unwrap().contains("unmask"));
        return;
    }
    if let Err(why) = system_bwrap() {
        return skip(why);
    }
    // Like Docker: a file of /proc covered by /dev/null makes a new proc mount "too
    // revealing" for a user namespace.
    let script = r#"mount --bind /dev/null /proc/uptime && exec "$@""#;
    rerun_as_root_and_user(
        "masked_proc_is_reported_unmountable_with_fix",
        &["unshare", "-m", "sh", "-c", script, "sh"],
        &["unshare", "-Urm", "sh", "-c", script, "sh"],
    );
}

#[test]
fn landlock_filtered_out_is_reported_unavailable() {
    if is_rerun() {
        assert_eq!(landlock::detect(), Landlock::NotImplemented);
        let report = doctor_with_system_path();
        let line = report.check("Landlock").unwrap();
        assert_eq!(line.status, Status::Warn);
        assert!(line.fix.is_some());
        return;
    }
    rerun_as_root_and_user_with(
        "landlock_filtered_out_is_reported_unavailable",
        &[],
        &[],
        without_landlock,
    );
}
