//! Every option in one table: its name, the values it takes (their names as `--help` shows
//! them, their number its arity), its `--help` lines and what parsing it does. The table is in
//! upstream's `--help` order.

use super::Config;
use super::error::ArgError;
use super::parse::{Call, Halt, Keeps, Parser, Run, Spec};
use super::{BindKind, CapChange, Op, OverlayKind};

/// A flag: no values, sets something in the configuration.
const fn set(name: &'static str, help: &'static [&'static str], set: fn(&mut Config)) -> Spec {
    Spec {
        name,
        values: &[],
        help,
        run: Run::Set(set),
        keeps: Keeps::Nothing,
    }
}

/// An option with values, or with more to do than setting a flag.
const fn call(
    name: &'static str,
    values: &'static [&'static str],
    help: &'static [&'static str],
    call: fn(&mut Parser, &Call) -> Result<(), Halt>,
) -> Spec {
    Spec {
        name,
        values,
        help,
        run: Run::Call(call),
        keeps: Keeps::Nothing,
    }
}

impl Spec {
    const fn keeps(self, keeps: Keeps) -> Spec {
        Spec { keeps, ..self }
    }
}

/// Every option bwrap knows, in `--help` order (the unlisted `--debug-opt=` ones last).
pub(super) static OPTIONS: &[Spec] = &[
    call("--help", &[], &["Print this help"], |_, _| Err(Halt::Help)),
    call("--version", &[], &["Print version"], |_, _| {
        Err(Halt::Version)
    }),
    call(
        "--args",
        &["FD"],
        &["Parse NUL-separated args from FD"],
        |p, c| p.args_file(c),
    ),
    call(
        "--argv0",
        &["VALUE"],
        &["Run COMMAND with argv[0] set to VALUE"],
        |p, c| p.argv0(c),
    ),
    call(
        "--level-prefix",
        &[],
        &["Prefix diagnostics with their syslog level, e.g. <3>"],
        |p, _| {
            p.effects.level_prefix();
            Ok(())
        },
    ),
    set(
        "--unshare-all",
        &["Unshare every namespace supported by default"],
        |c| {
            let u = &mut c.unshare;
            (u.user_try, u.ipc, u.pid, u.net, u.uts, u.cgroup_try) =
                (true, true, true, true, true, true);
        },
    ),
    set(
        "--share-net",
        &["Keep the network namespace (after --unshare-all)"],
        |c| c.unshare.net = false,
    ),
    set(
        "--unshare-user",
        &["Create a new user namespace (implied when not root)"],
        |c| c.unshare.user = true,
    ),
    set(
        "--unshare-user-try",
        &["Create a new user namespace if possible, else skip it"],
        |c| c.unshare.user_try = true,
    ),
    set("--unshare-ipc", &["Create a new ipc namespace"], |c| {
        c.unshare.ipc = true
    }),
    set("--unshare-pid", &["Create a new pid namespace"], |c| {
        c.unshare.pid = true
    }),
    set("--unshare-net", &["Create a new network namespace"], |c| {
        c.unshare.net = true
    }),
    set("--unshare-uts", &["Create a new uts namespace"], |c| {
        c.unshare.uts = true
    }),
    set(
        "--unshare-cgroup",
        &["Create a new cgroup namespace"],
        |c| c.unshare.cgroup = true,
    ),
    set(
        "--unshare-cgroup-try",
        &["Create a new cgroup namespace if possible, else skip it"],
        |c| c.unshare.cgroup_try = true,
    ),
    call(
        "--userns",
        &["FD"],
        &["Use this user namespace (not with --unshare-user)"],
        |p, c| p.fd_option(c, |c| &mut c.userns_fd),
    ),
    call(
        "--userns2",
        &["FD"],
        &["Switch to this user namespace after setup (with --userns)"],
        |p, c| p.fd_option(c, |c| &mut c.userns2_fd),
    ),
    set(
        "--disable-userns",
        &["Forbid creating further user namespaces in the sandbox"],
        |c| c.disable_userns = true,
    ),
    set(
        "--assert-userns-disabled",
        &["Fail unless creating user namespaces is already forbidden"],
        |c| c.assert_userns_disabled = true,
    ),
    call(
        "--pidns",
        &["FD"],
        &["Use this pid namespace (as parent with --unshare-pid)"],
        |p, c| p.fd_option(c, |c| &mut c.pidns_fd),
    ),
    call(
        "--uid",
        &["UID"],
        &["Uid inside the sandbox (needs --unshare-user or --userns)"],
        |p, c| p.id(c, "uid", |c| &mut c.uid),
    ),
    call(
        "--gid",
        &["GID"],
        &["Gid inside the sandbox (needs --unshare-user or --userns)"],
        |p, c| p.id(c, "gid", |c| &mut c.gid),
    ),
    call(
        "--hostname",
        &["NAME"],
        &["Hostname inside the sandbox (needs --unshare-uts)"],
        |p, c| p.hostname(c),
    ),
    call("--chdir", &["DIR"], &["Change directory to DIR"], |p, c| {
        p.last_wins(c.name, c.values[0].clone(), |c| &mut c.chdir);
        Ok(())
    }),
    call(
        "--clearenv",
        &[],
        &["Unset every environment variable"],
        |p, _| {
            p.effects.clear_env();
            Ok(())
        },
    ),
    call(
        "--setenv",
        &["VAR", "VALUE"],
        &["Set an environment variable"],
        |p, c| p.setenv(c),
    ),
    call(
        "--unsetenv",
        &["VAR"],
        &["Unset an environment variable"],
        |p, c| p.unsetenv(c),
    ),
    call(
        "--lock-file",
        &["DEST"],
        &["Hold a read lock on DEST while the sandbox runs"],
        |p, c| {
            p.cfg.lock_files.push(c.values[0].clone());
            Ok(())
        },
    ),
    call(
        "--sync-fd",
        &["FD"],
        &["Keep FD open while the sandbox runs"],
        |p, c| p.fd_option(c, |c| &mut c.sync_fd),
    ),
    call(
        "--bind",
        &["SRC", "DEST"],
        &["Bind mount host path SRC on DEST"],
        |p, c| p.bind(c, BindKind::ReadWrite, false),
    ),
    call(
        "--bind-try",
        &["SRC", "DEST"],
        &["Like --bind, skipped when SRC does not exist"],
        |p, c| p.bind(c, BindKind::ReadWrite, true),
    ),
    call(
        "--dev-bind",
        &["SRC", "DEST"],
        &["Bind mount host path SRC on DEST, devices allowed"],
        |p, c| p.bind(c, BindKind::Devices, false),
    ),
    call(
        "--dev-bind-try",
        &["SRC", "DEST"],
        &["Like --dev-bind, skipped when SRC does not exist"],
        |p, c| p.bind(c, BindKind::Devices, true),
    ),
    call(
        "--ro-bind",
        &["SRC", "DEST"],
        &["Bind mount host path SRC read-only on DEST"],
        |p, c| p.bind(c, BindKind::ReadOnly, false),
    ),
    call(
        "--ro-bind-try",
        &["SRC", "DEST"],
        &["Like --ro-bind, skipped when SRC does not exist"],
        |p, c| p.bind(c, BindKind::ReadOnly, true),
    ),
    call(
        "--bind-fd",
        &["FD", "DEST"],
        &["Bind the directory or path open as FD on DEST"],
        |p, c| p.bind_fd(c, false),
    ),
    call(
        "--ro-bind-fd",
        &["FD", "DEST"],
        &["Bind the directory or path open as FD read-only on DEST"],
        |p, c| p.bind_fd(c, true),
    ),
    call(
        "--remount-ro",
        &["DEST"],
        &["Remount DEST read-only (not recursive)"],
        |p, c| p.dest_op(c, |dest| Op::RemountRo { dest }),
    ),
    call(
        "--overlay-src",
        &["SRC"],
        &["Add SRC as a lower layer of the next overlay"],
        |p, c| {
            p.overlay_sources.push(c.values[0].clone());
            Ok(())
        },
    )
    .keeps(Keeps::Sources),
    call(
        "--overlay",
        &["RWSRC", "WORKDIR", "DEST"],
        &[
            "Mount overlayfs on DEST, writes going to host dir RWSRC",
            "(WORKDIR: an empty dir on the same filesystem as RWSRC)",
        ],
        |p, c| {
            let (upper, work) = (c.values[0].clone(), c.values[1].clone());
            p.overlay(c, OverlayKind::Writable { upper, work })
        },
    ),
    call(
        "--tmp-overlay",
        &["DEST"],
        &["Mount overlayfs on DEST, writes going to a hidden tmpfs"],
        |p, c| {
            p.tmp_overlays += 1;
            p.overlay(c, OverlayKind::Tmp(p.tmp_overlays - 1))
        },
    ),
    call(
        "--ro-overlay",
        &["DEST"],
        &["Mount read-only overlayfs on DEST"],
        |p, c| p.overlay(c, OverlayKind::ReadOnly),
    ),
    call(
        "--exec-label",
        &["LABEL"],
        &["SELinux exec label (not supported by this build)"],
        |_, _| Err(ArgError::Labeling.into()),
    ),
    call(
        "--file-label",
        &["LABEL"],
        &["SELinux file label (not supported by this build)"],
        |_, _| Err(ArgError::Labeling.into()),
    ),
    call("--proc", &["DEST"], &["Mount a procfs on DEST"], |p, c| {
        p.dest_op(c, |dest| Op::Proc { dest })
    }),
    call(
        "--dev",
        &["DEST"],
        &["Mount a minimal new /dev on DEST"],
        |p, c| {
            p.cfg.needs_devpts = true;
            p.dest_op(c, |dest| Op::Dev { dest })
        },
    ),
    call(
        "--tmpfs",
        &["DEST"],
        &["Mount a new tmpfs on DEST"],
        |p, c| p.tmpfs(c),
    ),
    call(
        "--mqueue",
        &["DEST"],
        &["Mount a new mqueue on DEST"],
        |p, c| p.dest_op(c, |dest| Op::Mqueue { dest }),
    ),
    call("--dir", &["DEST"], &["Create directory DEST"], |p, c| {
        p.dir(c)
    }),
    call(
        "--file",
        &["FD", "DEST"],
        &["Create file DEST with the contents of FD"],
        |p, c| p.file(c),
    ),
    call(
        "--bind-data",
        &["FD", "DEST"],
        &["Bind a file holding the contents of FD on DEST"],
        |p, c| p.bind_data(c, false),
    ),
    call(
        "--ro-bind-data",
        &["FD", "DEST"],
        &["Bind a file holding the contents of FD read-only on DEST"],
        |p, c| p.bind_data(c, true),
    ),
    call(
        "--symlink",
        &["SRC", "DEST"],
        &["Create a symlink at DEST pointing to SRC"],
        |p, c| p.symlink(c),
    ),
    call(
        "--seccomp",
        &["FD"],
        &["Load a seccomp program from FD (not repeatable)"],
        |p, c| p.seccomp(c),
    ),
    call(
        "--add-seccomp-fd",
        &["FD"],
        &["Load a seccomp program from FD (repeatable)"],
        |p, c| p.add_seccomp(c),
    ),
    call(
        "--block-fd",
        &["FD"],
        &["Wait for data on FD before running COMMAND"],
        |p, c| p.fd_option(c, |c| &mut c.block_fd),
    ),
    call(
        "--userns-block-fd",
        &["FD"],
        &["Wait for data on FD once the user namespace exists"],
        |p, c| p.fd_option(c, |c| &mut c.userns_block_fd),
    ),
    call(
        "--info-fd",
        &["FD"],
        &["Write sandbox information as JSON to FD"],
        |p, c| p.fd_option(c, |c| &mut c.info_fd),
    ),
    call(
        "--json-status-fd",
        &["FD"],
        &["Write sandbox status to FD as JSON documents"],
        |p, c| p.fd_option(c, |c| &mut c.json_status_fd),
    ),
    set(
        "--new-session",
        &["Run COMMAND in a new terminal session"],
        |c| c.new_session = true,
    ),
    set(
        "--die-with-parent",
        &["SIGKILL COMMAND when bwrap or its parent dies"],
        |c| c.die_with_parent = true,
    ),
    set(
        "--as-pid-1",
        &["Run COMMAND as pid 1, without a reaper"],
        |c| c.as_pid_1 = true,
    ),
    call(
        "--cap-add",
        &["CAP"],
        &["Add capability CAP (or ALL)"],
        |p, c| p.cap(c, CapChange::Add),
    ),
    call(
        "--cap-drop",
        &["CAP"],
        &["Drop capability CAP (or ALL)"],
        |p, c| p.cap(c, CapChange::Drop),
    ),
    call(
        "--perms",
        &["OCTAL"],
        &["Mode of the next file-creating option"],
        |p, c| p.perms(c),
    )
    .keeps(Keeps::All),
    call(
        "--size",
        &["BYTES"],
        &["Size of the next --tmpfs"],
        |p, c| p.size(c),
    )
    .keeps(Keeps::All),
    call(
        "--chmod",
        &["OCTAL", "PATH"],
        &["Change the mode of existing PATH"],
        |p, c| p.chmod(c),
    ),
    set(
        "--not-a-security-boundary",
        &[
            "Tolerate failures of some setup steps (e.g. submount flags);",
            "only for sandboxes that are not a security boundary",
        ],
        |c| c.not_a_security_boundary = true,
    ),
    set("--debug-opt=force-legacy-mount", &[], |c| {
        c.force_legacy_mount = true
    }),
    call("--debug-opt=force-openat-fallback", &[], &[], |_, _| {
        Err(ArgError::NoOpenatFallback.into())
    }),
];
