//! `--help` and `--version` texts. The option column matches upstream's layout so that
//! launchers can detect features with `bwrap --help | grep -- '--argv0 '`.

/// Upstream release whose command-line contract this implementation follows.
pub const UPSTREAM_VERSION: &str = "0.12.0";

/// Every option, with its argument names and a one-line description, in upstream's order.
const OPTIONS: &[(&str, &str)] = &[
    ("--help", "Print this help"),
    ("--version", "Print version"),
    ("--args FD", "Parse NUL-separated args from FD"),
    ("--argv0 VALUE", "Run COMMAND with argv[0] set to VALUE"),
    (
        "--level-prefix",
        "Prefix diagnostics with their syslog level, e.g. <3>",
    ),
    (
        "--unshare-all",
        "Unshare every namespace supported by default",
    ),
    (
        "--share-net",
        "Keep the network namespace (after --unshare-all)",
    ),
    (
        "--unshare-user",
        "Create a new user namespace (implied when not root)",
    ),
    (
        "--unshare-user-try",
        "Create a new user namespace if possible, else skip it",
    ),
    ("--unshare-ipc", "Create a new ipc namespace"),
    ("--unshare-pid", "Create a new pid namespace"),
    ("--unshare-net", "Create a new network namespace"),
    ("--unshare-uts", "Create a new uts namespace"),
    ("--unshare-cgroup", "Create a new cgroup namespace"),
    (
        "--unshare-cgroup-try",
        "Create a new cgroup namespace if possible, else skip it",
    ),
    (
        "--userns FD",
        "Use this user namespace (not with --unshare-user)",
    ),
    (
        "--userns2 FD",
        "Switch to this user namespace after setup (with --userns)",
    ),
    (
        "--disable-userns",
        "Forbid creating further user namespaces in the sandbox",
    ),
    (
        "--assert-userns-disabled",
        "Fail unless creating user namespaces is already forbidden",
    ),
    (
        "--pidns FD",
        "Use this pid namespace (as parent with --unshare-pid)",
    ),
    (
        "--uid UID",
        "Uid inside the sandbox (needs --unshare-user or --userns)",
    ),
    (
        "--gid GID",
        "Gid inside the sandbox (needs --unshare-user or --userns)",
    ),
    (
        "--hostname NAME",
        "Hostname inside the sandbox (needs --unshare-uts)",
    ),
    ("--chdir DIR", "Change directory to DIR"),
    ("--clearenv", "Unset every environment variable"),
    ("--setenv VAR VALUE", "Set an environment variable"),
    ("--unsetenv VAR", "Unset an environment variable"),
    (
        "--lock-file DEST",
        "Hold a read lock on DEST while the sandbox runs",
    ),
    ("--sync-fd FD", "Keep FD open while the sandbox runs"),
    ("--bind SRC DEST", "Bind mount host path SRC on DEST"),
    (
        "--bind-try SRC DEST",
        "Like --bind, skipped when SRC does not exist",
    ),
    (
        "--dev-bind SRC DEST",
        "Bind mount host path SRC on DEST, devices allowed",
    ),
    (
        "--dev-bind-try SRC DEST",
        "Like --dev-bind, skipped when SRC does not exist",
    ),
    (
        "--ro-bind SRC DEST",
        "Bind mount host path SRC read-only on DEST",
    ),
    (
        "--ro-bind-try SRC DEST",
        "Like --ro-bind, skipped when SRC does not exist",
    ),
    (
        "--bind-fd FD DEST",
        "Bind the directory or path open as FD on DEST",
    ),
    (
        "--ro-bind-fd FD DEST",
        "Bind the directory or path open as FD read-only on DEST",
    ),
    (
        "--remount-ro DEST",
        "Remount DEST read-only (not recursive)",
    ),
    (
        "--overlay-src SRC",
        "Add SRC as a lower layer of the next overlay",
    ),
    (
        "--overlay RWSRC WORKDIR DEST",
        "Mount overlayfs on DEST, writes going to host dir RWSRC",
    ),
    (
        "",
        "(WORKDIR: an empty dir on the same filesystem as RWSRC)",
    ),
    (
        "--tmp-overlay DEST",
        "Mount overlayfs on DEST, writes going to a hidden tmpfs",
    ),
    ("--ro-overlay DEST", "Mount read-only overlayfs on DEST"),
    (
        "--exec-label LABEL",
        "SELinux exec label (not supported by this build)",
    ),
    (
        "--file-label LABEL",
        "SELinux file label (not supported by this build)",
    ),
    ("--proc DEST", "Mount a procfs on DEST"),
    ("--dev DEST", "Mount a minimal new /dev on DEST"),
    ("--tmpfs DEST", "Mount a new tmpfs on DEST"),
    ("--mqueue DEST", "Mount a new mqueue on DEST"),
    ("--dir DEST", "Create directory DEST"),
    ("--file FD DEST", "Create file DEST with the contents of FD"),
    (
        "--bind-data FD DEST",
        "Bind a file holding the contents of FD on DEST",
    ),
    (
        "--ro-bind-data FD DEST",
        "Bind a file holding the contents of FD read-only on DEST",
    ),
    (
        "--symlink SRC DEST",
        "Create a symlink at DEST pointing to SRC",
    ),
    (
        "--seccomp FD",
        "Load a seccomp program from FD (not repeatable)",
    ),
    (
        "--add-seccomp-fd FD",
        "Load a seccomp program from FD (repeatable)",
    ),
    (
        "--block-fd FD",
        "Wait for data on FD before running COMMAND",
    ),
    (
        "--userns-block-fd FD",
        "Wait for data on FD once the user namespace exists",
    ),
    ("--info-fd FD", "Write sandbox information as JSON to FD"),
    (
        "--json-status-fd FD",
        "Write sandbox status to FD as JSON documents",
    ),
    ("--new-session", "Run COMMAND in a new terminal session"),
    (
        "--die-with-parent",
        "SIGKILL COMMAND when bwrap or its parent dies",
    ),
    ("--as-pid-1", "Run COMMAND as pid 1, without a reaper"),
    ("--cap-add CAP", "Add capability CAP (or ALL)"),
    ("--cap-drop CAP", "Drop capability CAP (or ALL)"),
    ("--perms OCTAL", "Mode of the next file-creating option"),
    ("--size BYTES", "Size of the next --tmpfs"),
    ("--chmod OCTAL PATH", "Change the mode of existing PATH"),
    (
        "--not-a-security-boundary",
        "Tolerate failures of some setup steps (e.g. submount flags);",
    ),
    ("", "only for sandboxes that are not a security boundary"),
];

/// The usage text; `argv0` is printed exactly as the program was invoked.
pub fn usage(argv0: &str) -> String {
    let mut text = format!("usage: {argv0} [OPTIONS...] [--] COMMAND [ARGS...]\n\n");
    for (synopsis, description) in OPTIONS {
        text.push_str(&format!("    {synopsis:<29}{description}\n"));
    }
    text
}

/// The `--version` line: upstream's format, then which implementation answers.
pub fn version() -> String {
    format!(
        "bubblewrap {UPSTREAM_VERSION} (bwrap-rs {}, a Rust implementation)\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_lists_every_option_once_with_column_layout() {
        let text = usage("/x/bwrap");
        assert!(text.starts_with("usage: /x/bwrap [OPTIONS...] [--] COMMAND [ARGS...]\n\n"));
        let lines: Vec<_> = text.lines().filter(|l| l.starts_with("    --")).collect();
        assert_eq!(lines.len(), 68);
        assert!(
            lines
                .iter()
                .all(|l| l.as_bytes()[33] != b' ' || l.len() == 33)
        );
    }
}
