//! User namespaces and capabilities of the sandbox process, around the mount setup.

use super::caps::{self, CapSet};
use crate::Launch;
use crate::error::{SetupError, failed};
use crate::ns::idmap::{IdMap, write_own_maps, write_sysctl};
use nix::sched::{CloneFlags, unshare};
use std::os::fd::{AsFd, BorrowedFd};

/// The capabilities the command should end up with: root's own (adjusted by
/// `--cap-add/--cap-drop`), or only the added ones for everyone else.
fn requested_caps(launch: &Launch) -> CapSet {
    let base = if launch.real_uid == 0 {
        launch.root_caps
    } else {
        0
    };
    caps::apply_changes(base, &launch.cfg.cap_changes)
}

/// Ids inside the first user namespace: uid/gid 0 when devpts needs them, else the sandbox's.
fn first_level_ids(launch: &Launch) -> (u32, u32) {
    if launch.cfg.needs_devpts {
        (0, 0)
    } else {
        (launch.sandbox_uid(), launch.sandbox_gid())
    }
}

/// Before setup: switch ids in a joined userns, write our own maps in a new one, and
/// shrink the bounding set to the requested capabilities. Returns those capabilities.
pub(crate) fn enter_first_userns(launch: &Launch) -> Result<CapSet, SetupError> {
    let cfg = &launch.cfg;
    if cfg.userns_fd.is_some() {
        switch_ids_in_joined_userns(launch)?;
    }
    if cfg.unshare.user && cfg.userns_block_fd.is_none() {
        let (uid, gid) = first_level_ids(launch);
        let map = IdMap {
            inside_uid: uid,
            outside_uid: launch.real_uid,
            inside_gid: gid,
            outside_gid: launch.real_gid,
        };
        write_own_maps(launch.host.proc_fd.as_fd(), &map, true)?;
    }
    let requested = requested_caps(launch);
    caps::limit_bounding_set(requested)?;
    Ok(requested)
}

fn switch_ids_in_joined_userns(launch: &Launch) -> Result<(), SetupError> {
    let (uid, gid) = (launch.cfg.uid, launch.cfg.gid);
    if uid.is_none() && gid.is_none() {
        return Ok(());
    }
    let _ = nix::sys::prctl::set_keepcaps(true);
    let permitted = caps::current()?.1;
    if let Some(gid) = gid {
        nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))
            .map_err(|e| SetupError::sys(format!("unable to switch to gid {gid}"), e))?;
    }
    if let Some(uid) = uid {
        nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
            .map_err(|e| SetupError::sys(format!("unable to switch to uid {uid}"), e))?;
    }
    caps::set(permitted, 0)
}

/// Whether a nested user namespace is needed to present the requested ids.
fn needs_nested_userns(launch: &Launch) -> bool {
    let cfg = &launch.cfg;
    let (uid, gid) = first_level_ids(launch);
    cfg.unshare.user
        && cfg.userns_block_fd.is_none()
        && (uid != launch.sandbox_uid() || gid != launch.sandbox_gid() || cfg.disable_userns)
}

/// After the pivot: `--userns2`, the nested user namespace, the `--disable-userns`
/// limit and check, then dropping to the requested capabilities.
pub(crate) fn after_pivot(launch: &Launch, requested: CapSet) -> Result<(), SetupError> {
    let cfg = &launch.cfg;
    let proc_fd = launch.host.proc_fd.as_fd();
    if let Some(fd) = cfg.userns2_fd {
        // SAFETY: `fd` is a descriptor number from the command line, handed to bwrap to join
        // and close; no Rust object of this process owns it, and it stays open until the
        // close below (a number that is not open makes setns fail with EBADF).
        let userns2 = unsafe { BorrowedFd::borrow_raw(fd) };
        crate::ns::join(userns2, CloneFlags::CLONE_NEWUSER, "Setting userns2 failed")?;
        let _ = nix::unistd::close(fd);
    }
    if needs_nested_userns(launch) {
        if cfg.disable_userns {
            write_sysctl(proc_fd, "user/max_user_namespaces", "1")
                .map_err(failed("sysctl user.max_user_namespaces = 1"))?;
        }
        unshare(CloneFlags::CLONE_NEWUSER).map_err(failed("unshare user ns"))?;
        caps::limit_bounding_set(requested)?;
        let (uid, gid) = first_level_ids(launch);
        let map = IdMap {
            inside_uid: launch.sandbox_uid(),
            outside_uid: uid,
            inside_gid: launch.sandbox_gid(),
            outside_gid: gid,
        };
        write_own_maps(proc_fd, &map, false)?;
    }
    if (cfg.disable_userns || cfg.assert_userns_disabled)
        && unshare(CloneFlags::CLONE_NEWUSER).is_ok()
    {
        return Err(SetupError::msg(
            "creation of new user namespaces was not disabled as requested",
        ));
    }
    drop_to(launch, requested)
}

fn drop_to(launch: &Launch, requested: CapSet) -> Result<(), SetupError> {
    if launch.real_uid != 0 || !launch.cfg.cap_changes.is_empty() {
        match caps::try_set(requested, requested) {
            Ok(()) => {}
            // Root asked for capabilities it does not hold (e.g. --cap-add ALL where the
            // host withholds some): like upstream, it keeps its own set (the bounding set
            // already excludes the dropped ones).
            Err(nix::errno::Errno::EPERM) if launch.real_uid == 0 => {}
            Err(e) => return Err(SetupError::sys("capset failed", e)),
        }
    }
    let _ = nix::sys::prctl::set_dumpable(true);
    Ok(())
}
