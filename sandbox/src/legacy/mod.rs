//! Legacy Landlock mode (`sandbox run --legacy-landlock`, or `legacy_landlock = true` in the
//! policy): no bwrap, no namespaces. The command runs as a child that starts a session of
//! its own (`setsid`, as bwrap's `--new-session` on the bwrap path), sets `no_new_privs`, drops every capability, restricts itself with Landlock and installs the
//! network seccomp filter of the bwrap path ([`crate::inner::seccomp`]), then execs.
//!
//! Only policies that mean exactly the same under this model are accepted ([`model`]);
//! any other policy is refused before anything runs, naming the entries. When the kernel
//! cannot fully enforce the rules ([`landlock`]), the run is refused too.

pub mod landlock;
pub mod model;

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::{SigmaskHow, kill, pthread_sigmask};
use nix::unistd::Pid;

use crate::policy::Access;
use crate::spawn::SpawnSettings;
use crate::spawn::environ::{self, Enforcer};
use crate::{SandboxError, inner, supervise};
pub use model::{LegacyRules, Unrepresentable, analyse};

/// Why a legacy run was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyError {
    /// The policy means something else under the legacy model.
    #[error(transparent)]
    Unrepresentable(#[from] Unrepresentable),
    /// The kernel cannot enforce the rules with Landlock.
    #[error(transparent)]
    Landlock(#[from] landlock::LandlockError),
    /// The network seccomp filter could not be built.
    #[error(transparent)]
    Seccomp(#[from] inner::seccomp::SeccompError),
    /// The command line is empty.
    #[error("no command to run")]
    NoCommand,
    /// The termination signals could not be blocked before the spawn.
    #[error("sigprocmask failed: {0}")]
    BlockSignals(nix::Error),
    /// Waiting for the command failed.
    #[error("waitpid failed: {0}")]
    Wait(nix::Error),
}

/// Runs `command` under `rules` (from [`analyse`]) in legacy mode and returns its exit
/// status (128 + N if killed by signal N). Refuses before running anything when the kernel
/// cannot enforce the rules.
pub fn status(
    rules: &LegacyRules,
    command: &[OsString],
    spawn: &SpawnSettings,
) -> Result<i32, SandboxError> {
    let ruleset = landlock::prepare(&rules.writable).map_err(LegacyError::from)?;
    let filter = inner::seccomp::program(rules.network).map_err(LegacyError::from)?;
    let (program, args) = command.split_first().ok_or(LegacyError::NoCommand)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&rules.workspace)
        .env_clear()
        .envs(spawn.env.iter().map(|(k, v)| (k, v)));
    // The command's environment: what it is told about its sandbox (spawn::environ).
    let writable = rules.writable.iter().map(|p| (p.as_path(), Access::Write));
    let writable = environ::writable_roots(Access::Read, writable);
    cmd.envs(environ::variables(
        Enforcer::Landlock,
        rules.network,
        &writable,
    ));
    let (pass_fds, limits) = (spawn.pass_fds.clone(), spawn.limits);
    let previous = supervise::block().map_err(LegacyError::BlockSignals)?;
    let supervisor = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure only makes system calls (sigprocmask,
    // prctl, getppid, setsid, close_range, fcntl, setrlimit, landlock_restrict_self,
    // seccomp) on data prepared before the fork; nothing allocates on the success path.
    unsafe {
        cmd.pre_exec(move || {
            pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)?;
            crate::fds::inherit_only(&pass_fds)?;
            limits.apply()?;
            // The command dies with this supervising process, as bwrap's
            // --die-with-parent makes it on the bwrap path.
            supervise::die_with_parent(supervisor)?;
            // A session of its own, without a controlling terminal, as bwrap's --new-session
            // gives it: the command can't push input into the caller's terminal (TIOCSTI).
            // The child of a fork leads no process group, so this fails only if the kernel
            // refuses; the spawn then fails and nothing runs.
            nix::unistd::setsid()?;
            nix::sys::prctl::set_no_new_privs()?;
            inner::caps::drop_all()?;
            ruleset.restrict_self()?;
            seccompiler::apply_filter(&filter).map_err(io::Error::other)
        });
    }
    let spawned = cmd.spawn();
    let outcome = spawned
        .map_err(|e| SandboxError::io("run", &program.to_string_lossy(), e))
        .and_then(|child| {
            let pid = Pid::from_raw(child.id() as i32);
            supervise::wait(pid, false, |signal| {
                let _ = kill(pid, signal);
            })
            .map_err(|e| LegacyError::Wait(e).into())
        });
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    Ok(outcome?.code())
}
