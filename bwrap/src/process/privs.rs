//! User namespaces and capabilities of the sandbox process, around the mount setup.

use super::caps::{self, CapSet};
use crate::Launch;
use crate::diag::{die, die_errno};
use crate::ns::idmap::{IdMap, write_own_maps, write_sysctl};
use nix::sched::{CloneFlags, unshare};

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
pub fn enter_first_userns(launch: &Launch) -> CapSet {
    let cfg = &launch.cfg;
    if cfg.userns_fd.is_some() {
        switch_ids_in_joined_userns(launch);
    }
    if cfg.unshare.user && cfg.userns_block_fd.is_none() {
        let (uid, gid) = first_level_ids(launch);
        let map = IdMap {
            inside_uid: uid,
            outside_uid: launch.real_uid,
            inside_gid: gid,
            outside_gid: launch.real_gid,
        };
        write_own_maps(launch.proc_fd, &map, true);
    }
    let requested = requested_caps(launch);
    caps::limit_bounding_set(requested);
    requested
}

fn switch_ids_in_joined_userns(launch: &Launch) {
    let (uid, gid) = (launch.cfg.uid, launch.cfg.gid);
    if uid.is_none() && gid.is_none() {
        return;
    }
    let _ = nix::sys::prctl::set_keepcaps(true);
    let permitted = caps::current().1;
    if let Some(gid) = gid
        && let Err(e) = nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))
    {
        die_errno(&format!("unable to switch to gid {gid}"), e);
    }
    if let Some(uid) = uid
        && let Err(e) = nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
    {
        die_errno(&format!("unable to switch to uid {uid}"), e);
    }
    caps::set(permitted, 0);
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
pub fn after_pivot(launch: &Launch, requested: CapSet) {
    let cfg = &launch.cfg;
    if let Some(fd) = cfg.userns2_fd {
        crate::ns::join(fd, CloneFlags::CLONE_NEWUSER, "Setting userns2 failed");
        let _ = nix::unistd::close(fd);
    }
    if needs_nested_userns(launch) {
        if cfg.disable_userns
            && let Err(e) = write_sysctl(launch.proc_fd, "user/max_user_namespaces", "1")
        {
            die_errno("sysctl user.max_user_namespaces = 1", e);
        }
        if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
            die_errno("unshare user ns", e);
        }
        caps::limit_bounding_set(requested);
        let (uid, gid) = first_level_ids(launch);
        let map = IdMap {
            inside_uid: launch.sandbox_uid(),
            outside_uid: uid,
            inside_gid: launch.sandbox_gid(),
            outside_gid: gid,
        };
        write_own_maps(launch.proc_fd, &map, false);
    }
    if (cfg.disable_userns || cfg.assert_userns_disabled)
        && unshare(CloneFlags::CLONE_NEWUSER).is_ok()
    {
        die("creation of new user namespaces was not disabled as requested");
    }
    drop_to(launch, requested);
}

fn drop_to(launch: &Launch, requested: CapSet) {
    if launch.real_uid != 0 || !launch.cfg.cap_changes.is_empty() {
        match caps::try_set(requested, requested) {
            Ok(()) => {}
            // Root asked for capabilities it does not hold (e.g. --cap-add ALL where the
            // host withholds some): like upstream, it keeps its own set (the bounding set
            // already excludes the dropped ones).
            Err(nix::errno::Errno::EPERM) if launch.real_uid == 0 => {}
            Err(e) => die_errno("capset failed", e),
        }
    }
    let _ = nix::sys::prctl::set_dumpable(true);
}
