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

    #[test]
    fn every_option_a_plan_emits_is_required_or_argv0() {
        use crate::launcher::probe::{ARGV0_OPTION, REQUIRED_OPTIONS};
        use crate::plan::{PlanOptions, build};
        use crate::policy::Policy;
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join(".git")).unwrap();
        std::fs::create_dir_all(ws.path().join("secret/open")).unwrap();
        std::fs::write(ws.path().join("a.env"), "x").unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", other.path().join("link")).unwrap();
        let policy = Policy::parse(
            &format!(
                "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\
                 \"secret\" = \"none\"\n\"secret/open\" = \"write\"\n\"{}\" = \"write\"\n\
                 \"missing\" = \"none\"\n\"*.env\" = \"none\"\n",
                other.path().join("link").display()
            ),
            "test.toml",
        )
        .unwrap();
        let resolved = policy.resolve(ws.path(), None).unwrap();
        let plan = build(&resolved, &PlanOptions::default()).unwrap();
        let inner = InnerArgs {
            network: resolved.network,
            ..inner()
        };
        let bwrap = Bwrap::assumed(Path::new("/bin/bwrap"), true);
        let args = assemble(&plan, &bwrap, Path::new("/bin/sandbox"), &inner);
        let options: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .take_while(|a| a != "--")
            .filter(|a| a.starts_with("--"))
            .collect();
        assert!(options.len() > 10, "{options:?}");
        for option in options {
            assert!(
                REQUIRED_OPTIONS.contains(&option.as_str()) || option == ARGV0_OPTION,
                "the plan emits {option}, which the --help probe does not require"
            );
        }
    }
}
