//! The complete bwrap argument list: the plan, the inner-stage dispatch and the command.

use std::ffi::OsString;
use std::path::Path;

use crate::inner::{COMPAT_PATH, INNER_STAGE_NAME, InnerArgs};
use crate::plan::Plan;

/// Where the executable is bound when `--argv0` names the stage.
const ARGV0_PATH: &str = "/dev/.sandbox/sandbox";

/// Builds bwrap's arguments (without bwrap itself). The sandbox executable `exe` is bound
/// read-only into the sandbox's private `/dev`, after every policy mount so none can hide
/// it: with `--argv0` at a neutral path and `argv[0]` set to the stage name, without it at
/// [`COMPAT_PATH`], whose basename selects the stage.
pub fn assemble(plan: &Plan, supports_argv0: bool, exe: &Path, inner: &InnerArgs) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--as-pid-1".into()];
    args.extend(plan.bwrap_args.iter().cloned());
    args.extend([
        OsString::from("--info-fd"),
        super::INFO_FD.to_string().into(),
    ]);
    let program = if supports_argv0 {
        ARGV0_PATH
    } else {
        COMPAT_PATH
    };
    args.extend([OsString::from("--ro-bind"), exe.into(), program.into()]);
    if supports_argv0 {
        args.extend(["--argv0", INNER_STAGE_NAME].map(OsString::from));
    }
    args.push("--".into());
    args.push(program.into());
    args.extend(inner.to_args());
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NetworkMode;

    fn inner() -> InnerArgs {
        InnerArgs {
            network: NetworkMode::Restricted,
            ready_fd: None,
            mounts_fd: None,
            stderr_fd: None,
            proxy_routes: Vec::new(),
            proxy_dir_fd: None,
            pass_fds: Vec::new(),
            command: vec!["/bin/true".into(), "/proc/self/exe".into()],
        }
    }

    fn plan() -> Plan {
        Plan {
            bwrap_args: vec!["--new-session".into()],
            ..Plan::default()
        }
    }

    #[test]
    fn argv0_goes_just_before_the_separator() {
        let args = assemble(&plan(), true, Path::new("/opt/sandbox"), &inner());
        let sep = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(
            args[sep - 2..sep],
            ["--argv0", INNER_STAGE_NAME].map(OsString::from)
        );
        assert_eq!(args[0], "--as-pid-1");
        assert_eq!(args[sep + 1], ARGV0_PATH);
    }

    #[test]
    fn without_argv0_the_program_basename_selects_the_stage() {
        let args = assemble(&plan(), false, Path::new("/opt/sandbox"), &inner());
        assert!(!args.iter().any(|a| a == "--argv0"));
        let sep = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(args[sep + 1], COMPAT_PATH);
        assert!(COMPAT_PATH.ends_with(&format!("/{INNER_STAGE_NAME}")));
        // the command follows the inner stage's own `--`, untouched
        assert_eq!(
            args[args.len() - 2..],
            ["/bin/true", "/proc/self/exe"].map(OsString::from)
        );
    }
}
