//! The `sandbox doctor` report: one screen saying what this host gives the sandbox.
//!
//! Every check reads the real host: which bwrap [`crate::launcher::choose`] picks and why,
//! its version, the bundled bwrap and its digest, a trial user namespace and `/proc` mount
//! through the chosen bwrap, Landlock, seccomp, WSL, AppArmor and container hints. Each
//! failed or doubtful line carries its fix.

use std::fmt;

use serde::Serialize;

use crate::host::probe::Trial;
use crate::host::{apparmor, container, landlock, seccomp, userns, wsl};
use crate::launcher::bundled::DigestStatus;
use crate::launcher::{self, Context, LaunchOptions, probe};
use crate::policy::NetworkMode;
use crate::run::preflight::{self, ProcSupport};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Works.
    Ok,
    /// Works, but something is worth knowing or fixing.
    Warn,
    /// The sandbox cannot rely on this.
    Fail,
    /// A fact, neither good nor bad.
    Info,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix a `warn` or `fail` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks, in display order.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether no check failed.
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The check named `name`, if present.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The report as pretty JSON (`{"healthy": ..., "checks": [...]}`).
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({ "healthy": self.healthy(), "checks": self.checks });
        serde_json::to_string_pretty(&value).expect("a report always serialises")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let status = format!("{:?}", c.status).to_lowercase();
            writeln!(f, "{status:<5} {:<16} {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(f, "{:<22} fix: {fix}", "")?;
            }
        }
        Ok(())
    }
}

fn line(name: &'static str, status: Status, detail: String, fix: Option<String>) -> Check {
    Check {
        name,
        status,
        detail,
        fix,
    }
}

/// Builds the report for a run with `opts` in `ctx`.
pub fn report(opts: &LaunchOptions, ctx: &Context) -> Report {
    let mut checks = Vec::new();
    match launcher::choose(opts, ctx) {
        Ok(choice) => {
            let bwrap = &choice.bwrap;
            checks.push(line(
                "bwrap",
                Status::Ok,
                format!("{} ({})", bwrap.path().display(), choice.reason),
                None,
            ));
            checks.extend(choice.warnings.iter().map(|w| {
                line(
                    "launcher",
                    Status::Warn,
                    w.cause.clone(),
                    Some(w.fix.clone()),
                )
            }));
            checks.push(version_line(bwrap));
            let userns = userns::check(bwrap.command());
            let proc_line = match &userns {
                Trial::Failed(_) => line(
                    "/proc mount",
                    Status::Warn,
                    "not checked: needs a user namespace".to_owned(),
                    None,
                ),
                _ => proc_line(bwrap),
            };
            checks.push(trial_line(
                "user namespaces",
                userns,
                "bwrap created user and network namespaces",
                &userns::remedy(),
            ));
            checks.push(proc_line);
        }
        Err(e) => checks.push(line("bwrap", Status::Fail, e.to_string(), None)),
    }
    checks.push(bundled_line(ctx));
    checks.push(tmp_line(std::env::var_os("TMPDIR")));
    let bwrap_failed = checks.iter().any(|c| c.status == Status::Fail);
    checks.extend(kernel_lines(bwrap_failed));
    Report { checks }
}

/// What the built-in default does with the temporary directories.
fn tmp_line(tmpdir: Option<std::ffi::OsString>) -> Check {
    let tmpdir = match tmpdir {
        Some(dir) => format!("$TMPDIR ({})", std::path::Path::new(&dir).display()),
        None => "$TMPDIR (unset)".to_owned(),
    };
    line(
        "temporary dirs",
        Status::Info,
        format!(
            "the default policy makes /tmp and {tmpdir} writable, with {} read-only in \
             them; --no-writable-tmp (or a policy without :slash_tmp/:tmpdir write) turns \
             that off",
            crate::plan::PROTECTED_NAMES.join("/")
        ),
        None,
    )
}

fn version_line(bwrap: &launcher::Bwrap) -> Check {
    let version = probe::probe_version(bwrap.command());
    if bwrap.supports_argv0() {
        line("bwrap version", Status::Ok, version, None)
    } else {
        line(
            "bwrap version",
            Status::Info,
            format!(
                "{version}; lacks {} (bubblewrap < 0.9): the inner stage is reached by \
                 basename dispatch instead",
                probe::ARGV0_OPTION
            ),
            None,
        )
    }
}

/// The fix when a fresh `/proc` cannot be mounted.
const PROC_FIX: &str = "the container masks parts of /proc: run it with \
    `--security-opt unmask=ALL` (Podman) or `--security-opt systempaths=unconfined` (Docker); \
    meanwhile `sandbox run` hides /proc (as with --no-proc)";

/// The `/proc` line, from the same preflight `sandbox run` uses.
fn proc_line(bwrap: &launcher::Bwrap) -> Check {
    match preflight::check(bwrap, NetworkMode::Restricted) {
        Ok(ProcSupport::Mountable) => line(
            "/proc mount",
            Status::Ok,
            "a fresh /proc mounts in a new PID namespace".to_owned(),
            None,
        ),
        Ok(ProcSupport::Refused(message)) => line(
            "/proc mount",
            Status::Fail,
            message,
            Some(PROC_FIX.to_owned()),
        ),
        Err(e) => line("/proc mount", Status::Fail, e.to_string(), None),
    }
}

fn trial_line(name: &'static str, trial: Trial, ok: &str, fix: &str) -> Check {
    match trial {
        Trial::Succeeded => line(name, Status::Ok, ok.to_owned(), None),
        Trial::Failed(message) => line(name, Status::Fail, message, Some(fix.to_owned())),
        Trial::Inconclusive(why) => line(name, Status::Warn, why, None),
    }
}

fn bundled_line(ctx: &Context) -> Check {
    let path = match launcher::find_bundled(ctx) {
        Ok(path) => path,
        Err(tried) => {
            let list: Vec<_> = tried.iter().map(|p| p.display().to_string()).collect();
            return line(
                "bundled bwrap",
                Status::Info,
                format!("none at {}", list.join(", ")),
                None,
            );
        }
    };
    let shown = path.display();
    match launcher::open_and_check(&path, ctx.expected) {
        Ok((_, DigestStatus::Verified { actual })) => line(
            "bundled bwrap",
            Status::Ok,
            format!("{shown}: sha256 {actual} matches the compiled-in digest"),
            None,
        ),
        Ok((_, DigestStatus::Unchecked { actual })) => line(
            "bundled bwrap",
            Status::Info,
            format!("{shown}: sha256 {actual}, not checked (development build)"),
            None,
        ),
        Ok((_, DigestStatus::Mismatch { expected, actual })) => line(
            "bundled bwrap",
            Status::Fail,
            format!("{shown}: sha256 {actual}, expected {expected}"),
            Some("reinstall sandbox together with its bundled bwrap".to_owned()),
        ),
        Err(e) => line("bundled bwrap", Status::Fail, e.to_string(), None),
    }
}

fn kernel_lines(bwrap_failed: bool) -> Vec<Check> {
    let (detail, fix) = landlock::detect().describe();
    let landlock_status = if fix.is_some() {
        Status::Warn
    } else {
        Status::Ok
    };
    let seccomp = seccomp::detect();
    let inherited = seccomp
        .inherited_filters
        .map_or("unknown".to_owned(), |n| n.to_string());
    vec![
        line(
            "Landlock",
            landlock_status,
            detail,
            fix.map(|f| format!("{f} (only --legacy-landlock needs it)")),
        ),
        if seccomp.filters_available {
            line(
                "seccomp",
                Status::Ok,
                format!("filters available; {inherited} inherited"),
                None,
            )
        } else {
            line(
                "seccomp",
                Status::Fail,
                "the kernel refuses seccomp filters".to_owned(),
                Some("use a kernel with CONFIG_SECCOMP_FILTER".to_owned()),
            )
        },
        wsl_line(),
        apparmor_line(),
        container_line(bwrap_failed),
    ]
}

fn wsl_line() -> Check {
    match wsl::detect() {
        wsl::Wsl::None => line("WSL", Status::Info, "not WSL".to_owned(), None),
        wsl::Wsl::Wsl2OrLater => line("WSL", Status::Ok, "WSL2 (normal path)".to_owned(), None),
        wsl::Wsl::Wsl1 => line(
            "WSL",
            Status::Fail,
            "WSL1: no user namespaces, bwrap cannot run".to_owned(),
            Some("convert the distribution to WSL2: `wsl --set-version <distro> 2`".to_owned()),
        ),
    }
}

fn apparmor_line() -> Check {
    let a = apparmor::detect();
    if !a.restricts_userns {
        let detail = if a.enabled {
            "enabled, does not restrict user namespaces"
        } else {
            "not active"
        };
        return line("AppArmor", Status::Ok, detail.to_owned(), None);
    }
    let profiles = if a.bwrap_profiles.is_empty() {
        "no bwrap profile visible".to_owned()
    } else {
        a.bwrap_profiles.join(", ")
    };
    line(
        "AppArmor",
        Status::Warn,
        format!("restricts unprivileged user namespaces; {profiles}"),
        Some(format!(
            "bwrap needs a profile granting `userns`: the distribution's /usr/bin/bwrap has \
             one; for the bundled bwrap install {}",
            userns::APPARMOR_PROFILE
        )),
    )
}

/// Container facts; the container fix is shown only when a bwrap check failed.
fn container_line(bwrap_failed: bool) -> Check {
    let c = container::detect();
    let mut facts = vec![match &c.runtime {
        Some(runtime) => format!("in a {runtime} container"),
        None => "no container detected".to_owned(),
    }];
    if c.in_user_namespace {
        facts.push("in a nested user namespace".to_owned());
    }
    if let Ok(max) = std::fs::read_to_string("/proc/sys/user/max_user_namespaces") {
        facts.push(format!("max_user_namespaces {}", max.trim()));
    }
    facts.push(format!(
        "cgroup {} {}",
        c.cgroup,
        c.cgroup_path.as_deref().unwrap_or("")
    ));
    let fix = c.runtime.as_ref().filter(|_| bwrap_failed).map(|_| {
        "if bwrap fails here, start the container with `--security-opt seccomp=unconfined \
         --security-opt apparmor=unconfined`"
            .to_owned()
    });
    line("container", Status::Info, facts.join("; "), fix)
}
