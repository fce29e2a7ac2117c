//! The complete bwrap argument list: the plan, the inner-stage dispatch and the command,
//! rendered once for the bwrap the run was planned for.

use std::ffi::OsString;
use std::path::Path;

use crate::inner::{COMPAT_PATH, INNER_STAGE_NAME, InnerArgs};
use crate::launcher::Bwrap;
use crate::plan::{Op, Plan, render};

/// Where the executable is bound when `--argv0` names the stage.
const ARGV0_PATH: &str = "/dev/.sandbox/sandbox";

/// Builds `bwrap`'s arguments (without bwrap itself). The sandbox executable `exe` is
/// bound read-only into the sandbox's private `/dev`, after every policy mount so none can
/// hide it: where `bwrap` supports `--argv0` at a neutral path with `argv[0]` set to the
/// stage name, on an older one at [`COMPAT_PATH`], whose basename selects the stage.
pub fn assemble(plan: &Plan, bwrap: &Bwrap, exe: &Path, inner: &InnerArgs) -> Vec<OsString> {
    let argv0 = bwrap.supports_argv0();
    let program = if argv0 { ARGV0_PATH } else { COMPAT_PATH };
    let mut stage = vec![
        Op::InfoFd(super::INFO_FD),
        Op::RoBind {
            src: exe.to_path_buf(),
            dest: program.into(),
        },
    ];
    if argv0 {
        stage.push(Op::Argv0(INNER_STAGE_NAME));
    }
    let mut args = render(std::iter::once(&Op::AsPid1).chain(&plan.ops).chain(&stage));
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
            ops: vec![Op::NewSession],
            ..Plan::default()
        }
    }

    #[test]
    fn argv0_goes_just_before_the_separator() {
        let args = assemble(
            &plan(),
            &Bwrap::assumed(Path::new("/bin/bwrap"), true),
            Path::new("/opt/sandbox"),
            &inner(),
        );
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
        let args = assemble(
            &plan(),
            &Bwrap::assumed(Path::new("/bin/bwrap"), false),
            Path::new("/opt/sandbox"),
            &inner(),
        );
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
