//! Checks made after parsing, in upstream's order, and the implied namespace choices.

use super::Config;
use super::error::ArgError;
use std::path::Path;

/// Whether the kernel refuses new user namespaces (RHEL 7's switch or a zero limit).
fn userns_disabled_by_sysctl() -> bool {
    let read = |p| std::fs::read_to_string(p).unwrap_or_default();
    read("/sys/module/user_namespace/parameters/enable") == "N\n"
        || read("/proc/sys/user/max_user_namespaces") == "0\n"
}

/// Validates option combinations and settles which namespaces to create.
/// `real_uid`/`real_gid` are the caller's ids.
pub(crate) fn validate(cfg: &mut Config, real_uid: u32, real_gid: u32) -> Result<(), ArgError> {
    let u = &mut cfg.unshare;
    if cfg.userns_block_fd.is_some() && !u.user {
        return Err(ArgError::Combination(
            "--userns-block-fd requires --unshare-user",
        ));
    }
    if cfg.userns_block_fd.is_some() && cfg.info_fd.is_none() {
        return Err(ArgError::Combination(
            "--userns-block-fd requires --info-fd",
        ));
    }
    if cfg.userns_fd.is_some() && u.user {
        return Err(ArgError::Combination(
            "--userns not compatible --unshare-user",
        ));
    }
    if cfg.userns_fd.is_some() && u.user_try {
        return Err(ArgError::Combination(
            "--userns not compatible --unshare-user-try",
        ));
    }
    if cfg.disable_userns && !u.user {
        return Err(ArgError::Combination(
            "--disable-userns requires --unshare-user",
        ));
    }
    if cfg.disable_userns && cfg.userns_block_fd.is_some() {
        return Err(ArgError::Combination(
            "--disable-userns is not compatible with  --userns-block-fd",
        ));
    }
    // Without privileges, every namespace needs a user namespace to own it.
    if real_uid != 0 && cfg.userns_fd.is_none() {
        u.user = true;
    }
    if u.user_try && Path::new("/proc/self/ns/user").exists() && !userns_disabled_by_sysctl() {
        u.user = true;
    }
    if cfg.command.is_empty() {
        return Err(ArgError::MissingCommand(super::help::usage(
            &cfg.invoked_as,
        )));
    }
    let has_userns = u.user || cfg.userns_fd.is_some();
    if cfg.uid.is_some_and(|uid| uid != real_uid) && !has_userns {
        return Err(ArgError::Combination(
            "Specifying --uid requires --unshare-user or --userns",
        ));
    }
    if cfg.gid.is_some_and(|gid| gid != real_gid) && !has_userns {
        return Err(ArgError::Combination(
            "Specifying --gid requires --unshare-user or --userns",
        ));
    }
    if cfg.hostname_set && !u.uts {
        return Err(ArgError::Combination(
            "Specifying --hostname requires --unshare-uts",
        ));
    }
    if cfg.as_pid_1 && !u.pid {
        return Err(ArgError::Combination(
            "Specifying --as-pid-1 requires --unshare-pid",
        ));
    }
    if cfg.as_pid_1 && !cfg.lock_files.is_empty() {
        return Err(ArgError::Combination(
            "Specifying --as-pid-1 and --lock-file is not permitted",
        ));
    }
    let have_cgroupns = Path::new("/proc/self/ns/cgroup").exists();
    if u.cgroup && !have_cgroupns {
        return Err(ArgError::Combination(
            "Cannot create new cgroup namespace because the kernel does not support it",
        ));
    }
    if u.cgroup_try && have_cgroupns {
        u.cgroup = true;
    }
    Ok(())
}
