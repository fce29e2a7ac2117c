//! Command line → [`Config`]: global settings plus the ordered queue of setup operations.
//!
//! Parsing follows upstream left to right: setup ops are queued in argv order, the
//! environment options change bwrap's own environment immediately, and most other options
//! are global flags where the last one wins.
//!
//! One table (`table`) names every option once: its values (their count is its arity), its
//! `--help` lines and its handler. Parsing returns `Parsed` or an `ArgError` with
//! upstream's text; the caller prints and exits. What parsing does to the process (warnings,
//! `--level-prefix`, the environment, reading `--args`/`--add-seccomp-fd` descriptors) goes
//! through `Effects`, so tests run the parser in-process. To add an option: an entry in
//! `table.rs`, its handler in `handlers.rs` or `setup_ops.rs`, its refusals in `error.rs`.
//!
//! The modules depend one way: `parse` (the loop and the `Spec` format, given the table as
//! data) ← `table` (the options; their handlers in `handlers` and `setup_ops`) ← `help` (which
//! renders the table); this module joins them.

mod cap_names;
mod check;
mod effects;
mod error;
mod handlers;
mod help;
mod parse;
mod setup_ops;
mod table;
mod value;

#[cfg(test)]
mod tests;

use parse::Halt;
use std::ffi::OsString;
use std::os::fd::RawFd;

pub(crate) use cap_names::last_cap;
pub(crate) use effects::{Effects, Live};
pub(crate) use error::ArgError;
pub(crate) use help::version;

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A sandbox (validated by [`command_line`]).
    Run(Box<Config>),
    /// `--help`: the text for stdout (status 0).
    Help(String),
    /// `--version`: the text for stdout (status 0).
    Version(String),
}

/// Parses `argv` (with `argv[0]`) and validates the result for the caller's real ids: a
/// sandbox to run, a text to print, or upstream's refusal (status 1).
pub(crate) fn command_line(
    argv: &[OsString],
    effects: &mut dyn Effects,
    real_uid: u32,
    real_gid: u32,
) -> Result<Parsed, ArgError> {
    match parse_args(argv, effects)? {
        Parsed::Run(mut cfg) => {
            check::validate(&mut cfg, real_uid, real_gid)?;
            Ok(Parsed::Run(cfg))
        }
        printed => Ok(printed),
    }
}

/// Parses `argv` (with `argv[0]`) with the option table, unvalidated: a configuration, or the
/// text that `--help`/`--version` print, or upstream's refusal.
fn parse_args(argv: &[OsString], effects: &mut dyn Effects) -> Result<Parsed, ArgError> {
    match parse::parse(argv, table::OPTIONS, effects) {
        Ok(cfg) => Ok(Parsed::Run(cfg)),
        Err(Halt::Refused(err)) => Err(err),
        Err(Halt::Help) => Ok(Parsed::Help(help::usage(&parse::invoked_as(argv)))),
        Err(Halt::Version) => Ok(Parsed::Version(help::version())),
    }
}

/// How a host path is bind-mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    /// `--bind`: read-write, nosuid, nodev.
    ReadWrite,
    /// `--ro-bind`: read-only on every submount, nosuid, nodev.
    ReadOnly,
    /// `--dev-bind`: read-write, nosuid, devices allowed.
    Devices,
}

/// Which kind of overlay to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayKind {
    /// `--overlay RWSRC WORKDIR DEST`.
    Writable {
        /// Host directory receiving the writes.
        upper: OsString,
        /// Empty host directory on the same file system as `upper`.
        work: OsString,
    },
    /// `--tmp-overlay DEST`: upper and work dirs on the hidden setup tmpfs (numbered).
    Tmp(usize),
    /// `--ro-overlay DEST`.
    ReadOnly,
}

/// One setup operation, run in argv order inside the new mount namespace.
///
/// Field conventions: `dest` is a path inside the sandbox (never resolved on the host);
/// `src`/`sources` are host paths, made canonical before setup; `fd` is a data fd that the
/// op reads and closes; `perms` comes from a preceding `--perms`; `read_only`/`kind` say
/// which flags the mount gets; `optional` marks the `-try` forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `--bind`, `--ro-bind`, `--dev-bind` and their `-try` forms.
    Bind {
        /// Host path, made canonical before setup.
        src: OsString,
        /// Path inside the sandbox.
        dest: OsString,
        /// How the source is mounted.
        kind: BindKind,
        /// The `-try` form: a missing source is skipped.
        optional: bool,
    },
    /// `--bind-fd` / `--ro-bind-fd`; `resolved` is the fd's host path, filled in before setup.
    BindFd {
        /// Descriptor of the directory to bind.
        fd: RawFd,
        /// Path inside the sandbox.
        dest: OsString,
        /// Mounted read-only.
        read_only: bool,
        /// The fd's host path, filled in before setup.
        resolved: OsString,
    },
    /// `--remount-ro`.
    RemountRo {
        /// Path inside the sandbox.
        dest: OsString,
    },
    /// `--proc`.
    Proc {
        /// Path inside the sandbox.
        dest: OsString,
    },
    /// `--dev`.
    Dev {
        /// Path inside the sandbox.
        dest: OsString,
    },
    /// `--tmpfs` with its `--perms`/`--size` modifiers.
    Tmpfs {
        /// Path inside the sandbox.
        dest: OsString,
        /// Mode from a preceding `--perms`.
        perms: Option<u32>,
        /// Size limit from a preceding `--size`.
        size: Option<u64>,
    },
    /// `--mqueue`.
    Mqueue {
        /// Path inside the sandbox.
        dest: OsString,
    },
    /// `--dir`.
    Dir {
        /// Path inside the sandbox.
        dest: OsString,
        /// Mode from a preceding `--perms`.
        perms: Option<u32>,
    },
    /// `--file FD DEST`.
    File {
        /// Data fd copied into the file, then closed.
        fd: RawFd,
        /// Path inside the sandbox.
        dest: OsString,
        /// Mode from a preceding `--perms`.
        perms: Option<u32>,
    },
    /// `--bind-data` / `--ro-bind-data`.
    BindData {
        /// Data fd copied into the mounted file, then closed.
        fd: RawFd,
        /// Path inside the sandbox.
        dest: OsString,
        /// Mode from a preceding `--perms`.
        perms: Option<u32>,
        /// Mounted read-only.
        read_only: bool,
    },
    /// `--symlink TARGET DEST`.
    Symlink {
        /// What the link points to (not resolved).
        target: OsString,
        /// Path inside the sandbox.
        dest: OsString,
    },
    /// `--chmod OCTAL DEST`.
    Chmod {
        /// Path inside the sandbox.
        dest: OsString,
        /// The new mode.
        mode: u32,
    },
    /// `--hostname NAME` (run at its place in the queue).
    Hostname {
        /// The host name.
        name: OsString,
    },
    /// The overlay ops, with their lower layers in argv order (bottom first).
    Overlay {
        /// Host lower layers, bottom first.
        sources: Vec<OsString>,
        /// Which overlay.
        kind: OverlayKind,
        /// Path inside the sandbox.
        dest: OsString,
    },
}

/// Namespaces to create.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Unshare {
    /// `--unshare-user` (also forced for unprivileged callers).
    pub user: bool,
    /// `--unshare-user-try`.
    pub user_try: bool,
    /// `--unshare-ipc`.
    pub ipc: bool,
    /// `--unshare-pid`.
    pub pid: bool,
    /// `--unshare-net` (undone by a later `--share-net`).
    pub net: bool,
    /// `--unshare-uts`.
    pub uts: bool,
    /// `--unshare-cgroup` (or `-try` when the kernel has cgroup namespaces).
    pub cgroup: bool,
    /// `--unshare-cgroup-try`.
    pub cgroup_try: bool,
}

/// A `--cap-add`/`--cap-drop`, applied in argv order; `None` means ALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapChange {
    /// `--cap-add`.
    Add(Option<u32>),
    /// `--cap-drop`.
    Drop(Option<u32>),
}

/// Everything the command line asked for.
#[derive(Debug, Default)]
pub struct Config {
    /// Setup operations in argv order.
    pub ops: Vec<Op>,
    /// Namespaces to create.
    pub unshare: Unshare,
    /// `--userns FD`: joined before the clone.
    pub userns_fd: Option<RawFd>,
    /// `--userns2 FD`: joined after setup.
    pub userns2_fd: Option<RawFd>,
    /// `--pidns FD`: the sandbox is forked into it.
    pub pidns_fd: Option<RawFd>,
    /// `--disable-userns`.
    pub disable_userns: bool,
    /// `--assert-userns-disabled`.
    pub assert_userns_disabled: bool,
    /// `--uid`: the uid inside the sandbox.
    pub uid: Option<u32>,
    /// `--gid`: the gid inside the sandbox.
    pub gid: Option<u32>,
    /// A `--hostname` op was queued (it needs `--unshare-uts`).
    pub hostname_set: bool,
    /// `--chdir DIR`.
    pub chdir: Option<OsString>,
    /// `--lock-file` paths (inside the sandbox), locked by init.
    pub lock_files: Vec<OsString>,
    /// `--sync-fd`: held open by init.
    pub sync_fd: Option<RawFd>,
    /// `--block-fd`: read before exec.
    pub block_fd: Option<RawFd>,
    /// `--userns-block-fd`: the monitor waits on it; nobody writes the maps.
    pub userns_block_fd: Option<RawFd>,
    /// `--info-fd`.
    pub info_fd: Option<RawFd>,
    /// `--json-status-fd`.
    pub json_status_fd: Option<RawFd>,
    /// `--seccomp FD`: read after setup.
    pub seccomp_fd: Option<RawFd>,
    /// `--add-seccomp-fd` programs, read while parsing, in argv order.
    pub seccomp_programs: Vec<Vec<u8>>,
    /// `--new-session`.
    pub new_session: bool,
    /// `--die-with-parent`.
    pub die_with_parent: bool,
    /// `--as-pid-1`: no init; the command is pid 1.
    pub as_pid_1: bool,
    /// `--not-a-security-boundary`: mount flags that cannot be applied are skipped with a warning.
    pub not_a_security_boundary: bool,
    /// `--debug-opt=force-legacy-mount` (undocumented, for tests): bind with `mount(2)` and
    /// per-submount remounts as on kernels without the new mount API.
    pub force_legacy_mount: bool,
    /// `--cap-add`/`--cap-drop`, in argv order.
    pub cap_changes: Vec<CapChange>,
    /// `--argv0 VALUE`.
    pub argv0: Option<OsString>,
    /// `--dev` was used: devpts needs uid 0 mapped in the first user namespace.
    pub needs_devpts: bool,
    /// `argv[0]` as invoked, for the usage text.
    pub invoked_as: String,
    /// COMMAND and its arguments.
    pub command: Vec<OsString>,
}

impl Config {
    /// Whether a pid-1 init (reaper) process runs between bwrap and the command.
    pub fn needs_init(&self) -> bool {
        !self.as_pid_1
            && (self.unshare.pid || !self.lock_files.is_empty() || self.sync_fd.is_some())
    }

    /// Number of `--tmp-overlay` ops (each needs upper/work dirs on the setup tmpfs).
    pub fn tmp_overlay_count(&self) -> usize {
        self.ops
            .iter()
            .filter(|op| {
                matches!(
                    op,
                    Op::Overlay {
                        kind: OverlayKind::Tmp(_),
                        ..
                    }
                )
            })
            .count()
    }
}
