//! The library API: a `std::process::Command`-like builder for sandboxed commands.

use std::ffi::OsString;
use std::fmt;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use crate::SandboxError;
use crate::host::Warning;
use crate::inner::InnerArgs;
use crate::launcher::{self, Bwrap, LaunchOptions};
use crate::legacy;
use crate::plan::{self, PlanOptions, ProcMode};
use crate::policy::{NetworkMode, Policy, Resolved};
use crate::proxy::{self, ProxyRoutes, host::HostBridges};
use crate::run::placeholders::Placeholders;
use crate::run::preflight::{self, ProcSupport};
use crate::run::state::StateDir;
use crate::run::{self, Early, MOUNTS_FD, PROXY_DIR_FD, Prepared, READY_FD};
use crate::spawn::SpawnSettings;
use crate::spawn::environ::{self, Enforcer};

/// A command to run under a [`Policy`], built like `std::process::Command`.
///
/// The executable that provides the inner stage (by default the current one) must call
/// [`crate::dispatch_inner_stage`] first thing in `main`, as the `sandbox` CLI does.
/// The command gets this process's environment filtered by the policy's `[environment]`
/// section, descriptors 0, 1 and 2 plus those named by [`pass_fd`](Self::pass_fd), and
/// the policy's `[limits]`. Under network mode `proxy`, the proxy variables are read from
/// that filtered environment (see [`crate::proxy`]); without a usable one, `status` and
/// `explain` refuse. Neither prints: what the caller should show (warnings about the host,
/// the plan under [`verbose`](Self::verbose)) is handed to its `notice` callback as
/// [`Notice`]s, each when it happens, before the command starts.
///
/// ```no_run
/// use sandbox::{Policy, SandboxCommand};
/// let policy = Policy::parse(r#"
///     [filesystem]
///     ":root" = "read"
///     ":workspace_roots" = "write"
///     "**/*.env" = "none"
/// "#, "agent.toml")?;
/// let status = SandboxCommand::new("cargo")
///     .args(["test", "--offline"])
///     .policy(policy)
///     .cwd("/work/repo")
///     .status(|notice| eprintln!("{notice}"))?;
/// println!("exit status {status}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`explain`](Self::explain) returns the exact bwrap command line without running it:
///
/// ```no_run
/// # use sandbox::SandboxCommand;
/// let prepared = SandboxCommand::new("true").cwd("/work/repo").explain(|_| {})?;
/// for arg in &prepared.args {
///     println!("{}", arg.to_string_lossy());
/// }
/// # Ok::<(), sandbox::SandboxError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SandboxCommand {
    command: Vec<OsString>,
    policy: Policy,
    cwd: Option<PathBuf>,
    no_proc: bool,
    bwrap: Option<PathBuf>,
    inner_exe: Option<PathBuf>,
    legacy_landlock: bool,
    pass_fds: Vec<RawFd>,
    verbose: bool,
}

impl SandboxCommand {
    /// A command running `program` under the built-in workspace-write policy.
    pub fn new(program: impl Into<OsString>) -> Self {
        SandboxCommand {
            command: vec![program.into()],
            policy: Policy::default(),
            cwd: None,
            no_proc: false,
            bwrap: None,
            inner_exe: None,
            legacy_landlock: false,
            pass_fds: Vec::new(),
            verbose: false,
        }
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.command.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(&mut self, args: I) -> &mut Self {
        self.command.extend(args.into_iter().map(Into::into));
        self
    }

    /// The policy to enforce.
    pub fn policy(&mut self, policy: Policy) -> &mut Self {
        self.policy = policy;
        self
    }

    /// The workspace root and working directory (default: the current directory).
    pub fn cwd(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Hide `/proc` entirely instead of mounting a fresh one.
    pub fn no_proc(&mut self, no_proc: bool) -> &mut Self {
        self.no_proc = no_proc;
        self
    }

    /// Use this bwrap binary (`--bwrap PATH`).
    pub fn bwrap(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.bwrap = Some(path.as_ref().to_path_buf());
        self
    }

    /// Enforce with Landlock in-process instead of bwrap (`--legacy-landlock`); see
    /// [`crate::legacy`]. The policy's `legacy_landlock = true` does the same.
    pub fn legacy_landlock(&mut self, legacy: bool) -> &mut Self {
        self.legacy_landlock = legacy;
        self
    }

    /// Passes this process's descriptor `fd` on to the command under the same number
    /// (`--pass-fd`). Without it the command gets only 0, 1 and 2.
    pub fn pass_fd(&mut self, fd: RawFd) -> &mut Self {
        self.pass_fds.push(fd);
        self
    }

    /// Before running, report the plan in plain words ([`Notice::Plan`],
    /// `run::describe`).
    pub fn verbose(&mut self, verbose: bool) -> &mut Self {
        self.verbose = verbose;
        self
    }

    /// The executable that provides the inner stage (default: the current executable).
    pub fn inner_stage_exe(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.inner_exe = Some(path.as_ref().to_path_buf());
        self
    }

    /// The policy resolved for this command's workspace.
    pub fn resolve(&self) -> Result<Resolved, SandboxError> {
        let cwd = match &self.cwd {
            Some(dir) => dir.clone(),
            None => std::env::current_dir()
                .map_err(|e| SandboxError::io("read", "the current directory", e))?,
        };
        let workspace = std::fs::canonicalize(&cwd)
            .map_err(|e| SandboxError::io("resolve", &cwd.display().to_string(), e))?;
        if !workspace.is_dir() {
            return Err(SandboxError::NotADirectory(cwd));
        }
        let tmpdir = std::env::var_os("TMPDIR").map(PathBuf::from);
        Ok(self.policy.resolve(&workspace, tmpdir.as_deref())?)
    }

    /// In network mode `proxy`, the routes from this process's proxy variables (refusing
    /// the run when there is no usable one); `None` in the other modes.
    fn proxy_routes(&self, resolved: &Resolved) -> Result<Option<ProxyRoutes>, SandboxError> {
        if resolved.network != NetworkMode::Proxy {
            return Ok(None);
        }
        ProxyRoutes::from_vars(self.environment())
            .map(Some)
            .map_err(|source| SandboxError::ProxyVariables {
                origin: self.policy.origin.clone(),
                source,
            })
    }

    /// The command's environment: this process's, filtered by the policy's
    /// `[environment]` section.
    fn environment(&self) -> Vec<(OsString, OsString)> {
        self.policy.environment.apply(std::env::vars_os())
    }

    /// Refuses `--pass-fd`s that are not open or are `reserved`, and limits this process
    /// cannot set.
    fn check_spawn(&self, reserved: &[RawFd]) -> Result<(), SandboxError> {
        crate::fds::check_passed(&self.pass_fds, reserved)?;
        Ok(self.policy.limits.check(&self.policy.origin)?)
    }

    /// The environment, passed descriptors and limits the command starts with. Sandbox
    /// indicator variables belong in `env` here, after the policy's filter.
    fn spawn_settings(&self) -> SpawnSettings {
        SpawnSettings {
            env: self.environment(),
            pass_fds: self.pass_fds.clone(),
            limits: self.policy.limits,
        }
    }

    /// Resolves the policy, checks the descriptors and limits, reads the proxy routes it
    /// needs and chooses the bwrap (the launcher's warnings go to `notice`).
    fn groundwork(&self, notice: &mut dyn FnMut(Notice)) -> Result<Groundwork, SandboxError> {
        let resolved = self.resolve()?;
        self.check_spawn(&run::RESERVED_FDS)?;
        let routes = self.proxy_routes(&resolved)?;
        // Probe answers live in the state directory; when it cannot be opened (the run is
        // refused right after the launcher's warnings), every probe runs.
        let state = StateDir::open();
        let cache = state.as_ref().ok().map(StateDir::probe_cache);
        let ctx = launcher::Context::current()?;
        let choice =
            launcher::choose_cached(&self.launch_options(&resolved), &ctx, cache.as_ref())?;
        choice
            .warnings
            .into_iter()
            .for_each(|w| notice(Notice::Warning(w)));
        let bwrap = choice.bwrap;
        Ok(Groundwork {
            resolved,
            routes,
            bwrap,
            state: state?,
        })
    }

    /// Builds the exact bwrap command line without running anything (`/proc` assumed
    /// mountable unless [`no_proc`](Self::no_proc)); the launcher's warnings go to `notice`.
    pub fn explain(&self, mut notice: impl FnMut(Notice)) -> Result<Prepared, SandboxError> {
        let proc = if self.no_proc {
            ProcMode::Hidden
        } else {
            ProcMode::Fresh
        };
        let Groundwork {
            resolved,
            routes,
            bwrap,
            state,
        } = self.groundwork(&mut notice)?;
        let proxy = routes.as_ref().map(|r| (r, proxy::host::planned_dir()));
        self.prepare(resolved, bwrap, proc, &state, proxy)
    }

    /// Runs the command and returns its exit status (128 + N if killed by signal N). What
    /// the caller should show goes to `notice` as it happens (the CLI prints each on
    /// stderr), the last one possibly after a failed start, before the error returns.
    pub fn status(&self, mut notice: impl FnMut(Notice)) -> Result<i32, SandboxError> {
        if self.legacy_landlock || self.policy.legacy_landlock {
            self.check_spawn(&[])?;
            let spawn = self.spawn_settings();
            let rules = legacy::analyse(&self.resolve()?, self.policy.legacy_unprotected_metadata)
                .map_err(legacy::LegacyError::from)?;
            if !rules.unprotected.is_empty() {
                notice(Notice::UnprotectedMetadata(rules.unprotected.clone()));
            }
            return legacy::status(&rules, &self.command, &spawn);
        }
        let Groundwork {
            resolved,
            routes,
            bwrap,
            state,
        } = self.groundwork(&mut notice)?;
        let cache = state.probe_cache();
        let proc = if self.no_proc {
            ProcMode::Hidden
        } else {
            match preflight::check_cached(&bwrap, resolved.network, Some(&cache))? {
                ProcSupport::Mountable => ProcMode::Fresh,
                ProcSupport::Refused(why) => {
                    notice(Notice::ProcHidden(why));
                    ProcMode::Hidden
                }
            }
        };
        // Dropped (bridges killed, sockets removed) when this function returns.
        let bridges = match &routes {
            Some(routes) => Some(HostBridges::start(routes, &self.exe()?)?),
            None => None,
        };
        let proxy = routes
            .as_ref()
            .zip(bridges.as_ref().map(|b| b.dir().to_path_buf()));
        let proxy_dir = bridges.as_ref().map(HostBridges::handle);
        // With deny globs, bwrap starts on the plan without them while they are expanded
        // (`run::early`); it is used only if the complete plan gives bwrap the same line.
        let (early, bwrap) = match resolved.globs.is_empty() || proc != ProcMode::Fresh {
            true => (None, bwrap),
            false => {
                let mut guess = resolved.clone();
                guess.globs.clear();
                let guess = self.prepare(guess, bwrap, proc, &state, proxy.clone())?;
                Early::start(guess, proxy_dir)?
            }
        };
        let mut prepared = match self.prepare(resolved, bwrap, proc, &state, proxy) {
            Ok(prepared) => prepared,
            Err(e) => {
                if let Some(early) = early {
                    early.abandon();
                }
                return Err(e);
            }
        };
        let status = match early.and_then(|early| early.confirm(&prepared)) {
            Some((mut started, placeholders)) => {
                placeholders.fill_identities(&mut prepared.plan.inner_mounts);
                self.describe(&prepared, &mut notice);
                match started.send_mounts(&prepared.plan.inner_mounts) {
                    Ok(()) => started.finish(&prepared, placeholders),
                    Err(e) => {
                        started.abandon();
                        placeholders.release();
                        Err(e)
                    }
                }
            }
            None => {
                let placeholders = Placeholders::acquire(&prepared.plan.placeholders)?;
                placeholders.fill_identities(&mut prepared.plan.inner_mounts);
                self.describe(&prepared, &mut notice);
                run::execute(&prepared, placeholders, proxy_dir)
            }
        };
        if status.is_err()
            && let Some(warning) = launcher::after_failed_start(&prepared.bwrap, &cache)
        {
            notice(Notice::Warning(warning));
        }
        status
    }

    /// With [`verbose`](Self::verbose), the plan in plain words to `notice`.
    fn describe(&self, prepared: &Prepared, notice: &mut impl FnMut(Notice)) {
        if self.verbose {
            notice(Notice::Plan(run::describe(prepared)));
        }
    }

    fn launch_options(&self, resolved: &Resolved) -> LaunchOptions {
        LaunchOptions {
            explicit: self.bwrap.clone(),
            cwd: resolved.workspace.clone(),
        }
    }

    /// The executable providing the inner stage and the host proxy bridges.
    fn exe(&self) -> Result<PathBuf, SandboxError> {
        match &self.inner_exe {
            Some(exe) => Ok(exe.clone()),
            None => std::env::current_exe()
                .map_err(|e| SandboxError::io("find", "the sandbox executable", e)),
        }
    }

    fn prepare(
        &self,
        resolved: Resolved,
        bwrap: Bwrap,
        proc: ProcMode,
        state: &StateDir,
        proxy: Option<(&ProxyRoutes, PathBuf)>,
    ) -> Result<Prepared, SandboxError> {
        // The bridge directory is never mounted; masked in case a writable root shows it.
        let hidden = std::iter::once((state.dir().to_path_buf(), "sandbox state directory"))
            .chain(
                proxy
                    .as_ref()
                    .map(|(_, dir)| (dir.clone(), "proxy bridges' socket directory")),
            )
            .collect();
        let options = PlanOptions {
            proc,
            hidden,
            empty_file: state.empty_file()?,
            // Writing the uid map of the command's user namespace needs `/proc`.
            inner_mounts: proc == ProcMode::Fresh,
        };
        let mut plan = plan::build(&resolved, &options)?;
        // The command's environment: what it is told about its sandbox (spawn::environ).
        let writable = environ::writable_roots(resolved.root, environ::rule_access(&plan.rules));
        let vars = environ::variables(Enforcer::Bwrap, resolved.network, &writable);
        plan.ops.extend(environ::setenv_ops(&vars));
        let inner = InnerArgs {
            network: resolved.network,
            ready_fd: Some(READY_FD),
            mounts_fd: (!plan.inner_mounts.is_empty()).then_some(MOUNTS_FD),
            stderr_fd: Some(run::STDERR_FD),
            proxy_routes: proxy
                .as_ref()
                .map(|(r, _)| r.inner_routes())
                .unwrap_or_default(),
            proxy_dir_fd: proxy.as_ref().map(|_| PROXY_DIR_FD),
            pass_fds: self.pass_fds.clone(),
            command: self.command.clone(),
        };
        let args = run::assemble(&plan, &bwrap, &self.exe()?, &inner);
        Ok(Prepared {
            bwrap,
            args,
            plan,
            cwd: resolved.workspace.clone(),
            resolved,
            spawn: self.spawn_settings(),
        })
    }
}

/// What [`SandboxCommand::explain`] and [`SandboxCommand::status`] start from: the
/// resolved policy, its proxy routes, the chosen bwrap and the state directory.
struct Groundwork {
    resolved: Resolved,
    routes: Option<ProxyRoutes>,
    bwrap: Bwrap,
    state: StateDir,
}

/// What a run tells its caller on the way, in the order it happens; its `Display` is the
/// line(s) the `sandbox` CLI prints on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A host problem with its fix (the bwrap choice, user namespaces).
    Warning(Warning),
    /// The host refuses a fresh `/proc` (bwrap's message): the run hides `/proc` instead.
    ProcHidden(String),
    /// Legacy mode with `legacy_unprotected_metadata`: these protected paths are writable.
    UnprotectedMetadata(Vec<PathBuf>),
    /// [`SandboxCommand::verbose`]: the plan in plain words (`run::describe`).
    Plan(String),
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Warning(warning) => write!(f, "{warning}"),
            Notice::ProcHidden(why) => write!(
                f,
                "sandbox: this host refuses a fresh /proc ({why}); running with /proc hidden"
            ),
            Notice::UnprotectedMetadata(paths) => {
                let paths: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "sandbox: warning: legacy Landlock mode with {}: protected metadata is \
                     writable by the command: {}",
                    legacy::model::UNPROTECTED_SWITCH,
                    paths.join(", ")
                )
            }
            Notice::Plan(text) => {
                let lines: Vec<_> = text
                    .lines()
                    .map(|l| format!("sandbox: plan: {l}"))
                    .collect();
                write!(f, "{}", lines.join("\n"))
            }
        }
    }
}
