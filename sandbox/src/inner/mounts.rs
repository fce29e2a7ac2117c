//! Applying the plan's inner-stage mounts ([`crate::plan::mounts`]) and then giving up the
//! power to mount.
//!
//! bwrap starts the stage as uid 0 of the sandbox's user namespace (which owns its mount
//! namespace) with `CAP_SYS_ADMIN` and `CAP_SETPCAP` only (and `CAP_SETFCAP` for a caller other than root, see
//! below). At its first mask the stage makes one detached
//! tmpfs (`fsopen`/`fsmount`) holding an empty mode-000 file and two empty directories
//! (modes 000 and 555), then makes that mount read-only, `nosuid`, `nodev` and `noexec`
//! with `mount_setattr`; every mask is an `open_tree(OPEN_TREE_CLONE)` of one of them
//! (a clone keeps the mount's flags), moved with
//! `move_mount` onto the target, opened without following any symlink (its directory by
//! `openat2(RESOLVE_NO_SYMLINKS)`, held for the next target in it, the name under it by
//! `openat(O_NOFOLLOW)`) and checked against the `(st_dev, st_ino)` the planner recorded.
//! A read-only carve-out is a recursive clone of the target itself, made read-only
//! recursively, moved onto itself. One thread does it all, in the list's order: a second
//! one that opened the targets ahead made the whole run slower (see sandbox/README.md).
//! Any failure stops the run before the command exists. Then the stage enters a new user
//! namespace that maps the caller's uid and gid to its own (the command sees the same ids
//! as without inner mounts), and drops every capability: effective, permitted,
//! inheritable, ambient and bounding.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::fstat;
use serde::{Deserialize, Serialize};

use crate::plan::mounts::{Action, MountOp};

/// Why the inner-stage mounts could not all be applied (the run stops before the command).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MountsError {
    /// The mount list descriptor could not be read.
    #[error("cannot read the mount list: {0}")]
    Read(std::io::Error),
    /// The launcher closed the list without writing it: the launch was called off (see
    /// `run::early`). Not reported: the launcher knows, and starts again or fails itself.
    #[error("the launch was called off")]
    CalledOff,
    /// The mount list is not what the launcher writes.
    #[error("bad mount list: {0}")]
    Parse(serde_json::Error),
    /// The stage's capabilities could not be read.
    #[error("capget failed: {0}")]
    Capabilities(std::io::Error),
    /// bwrap did not pass `CAP_SYS_ADMIN` on to the stage.
    #[error(
        "the bwrap in use did not keep CAP_SYS_ADMIN for the inner stage (--cap-add), so the masks cannot be applied; fix: use a bwrap >= 0.4 that honours --cap-add in a user namespace, or the bundled one (--bwrap)"
    )]
    NoSysAdmin,
    /// A target is not the file or directory that was planned.
    #[error("{path} changed during launch ({why}); run again")]
    Changed {
        /// The target.
        path: PathBuf,
        /// What differs.
        why: Change,
    },
    /// A target is not an absolute, normal path (the planner writes only those).
    #[error("{0}: not an absolute path without `.`, `..` or empty components")]
    NotNormal(PathBuf),
    /// The plan recorded no identity for a target.
    #[error("{0}: no identity recorded for its mask")]
    NoIdentity(PathBuf),
    /// Making the masks' source tmpfs failed.
    #[error(transparent)]
    Source(SysError),
    /// Cloning or attaching a mount on a target failed.
    #[error("cannot mask {path}: {step}: {error}")]
    Mask {
        /// The target.
        path: PathBuf,
        /// The step (`open_tree`, `mount_setattr`, `move_mount`).
        step: &'static str,
        /// The failed call.
        error: SysError,
    },
    /// The command's user namespace could not be made.
    #[error("cannot create the command's user namespace: {0}")]
    UserNamespace(nix::errno::Errno),
    /// An id map of the command's user namespace could not be written.
    #[error("cannot write {file}: {error}")]
    IdMap {
        /// The `/proc/self` file.
        file: &'static str,
        /// Why.
        error: std::io::Error,
    },
    /// The stage's capabilities could not be dropped.
    #[error("cannot drop capabilities: {0}")]
    DropCapabilities(std::io::Error),
}

/// How a target differs from the plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Change {
    /// It could not be opened without following a symlink.
    #[error("{0}")]
    Open(nix::errno::Errno),
    /// It could not be examined.
    #[error("{0}")]
    Stat(nix::errno::Errno),
    /// Another inode is there now.
    #[error("it is not the file that was planned")]
    OtherFile,
    /// A file where a directory was planned, or the other way round.
    #[error("its kind does not fit its mask")]
    Kind,
}

/// A failed mount API call.
#[derive(Debug, thiserror::Error)]
#[error("{call} failed: {error}")]
pub struct SysError {
    /// The call.
    call: &'static str,
    /// Why.
    error: std::io::Error,
}

/// What the launcher sends the inner stage through the mounts descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The caller's effective uid, mapped back for the command.
    pub uid: u32,
    /// The caller's effective gid.
    pub gid: u32,
    /// The mounts, in order.
    pub ops: Vec<MountOp>,
}

/// `CAP_SYS_ADMIN`.
const CAP_SYS_ADMIN: u32 = 21;

/// The flags of every mask: read-only, no setuid, no device nodes, no execution.
const MASK_ATTR: u64 = libc::MOUNT_ATTR_RDONLY
    | libc::MOUNT_ATTR_NOSUID
    | libc::MOUNT_ATTR_NODEV
    | libc::MOUNT_ATTR_NOEXEC;

/// Reads the payload from `fd` (closing it), applies its mounts, maps the caller's ids
/// in a new user namespace and drops every capability.
pub fn apply(fd: RawFd) -> Result<(), MountsError> {
    // SAFETY: the launcher passed this descriptor for this purpose only.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut text = Vec::new();
    file.read_to_end(&mut text).map_err(MountsError::Read)?;
    drop(file);
    if text.is_empty() {
        return Err(MountsError::CalledOff);
    }
    let payload: Payload = serde_json::from_slice(&text).map_err(MountsError::Parse)?;
    let [effective, ..] = super::caps::current().map_err(MountsError::Capabilities)?;
    if effective & (1 << CAP_SYS_ADMIN) == 0 {
        return Err(MountsError::NoSysAdmin);
    }
    let mut mounter = Mounter::default();
    let mut parent = Parent::default();
    for op in &payload.ops {
        let target = parent.open_checked(op)?;
        mounter.mount(op, &target)?;
        parent.mounted_on(&op.path);
    }
    drop(parent);
    drop(mounter);
    if payload.uid != 0 || payload.gid != 0 {
        map_caller(payload.uid, payload.gid)?;
    }
    super::caps::drop_all().map_err(MountsError::DropCapabilities)
}

/// The detached tmpfs the masks are cloned from, and its three entries held open: a mask
/// is a clone of one of them by descriptor, with no name to look up each time.
struct Sources {
    /// The tree itself: closing its descriptor would dissolve it under the entries.
    _tree: OwnedFd,
    file: OwnedFd,
    dir_000: OwnedFd,
    dir_555: OwnedFd,
}

fn check(rc: libc::c_long, call: &'static str) -> Result<libc::c_long, SysError> {
    if rc < 0 {
        Err(SysError {
            call,
            error: std::io::Error::last_os_error(),
        })
    } else {
        Ok(rc)
    }
}

fn owned(rc: libc::c_long) -> OwnedFd {
    // SAFETY: the caller passes a descriptor a system call just returned.
    unsafe { OwnedFd::from_raw_fd(rc as RawFd) }
}

impl Sources {
    fn new() -> Result<Sources, SysError> {
        // SAFETY: the mount API calls below take NUL-terminated strings and descriptors
        // this function owns; each result is checked.
        unsafe {
            let fs = owned(check(
                libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), libc::FSOPEN_CLOEXEC),
                "fsopen(tmpfs)",
            )?);
            for (key, value) in [(c"mode", c"0755"), (c"size", c"64k")] {
                check(
                    libc::syscall(
                        libc::SYS_fsconfig,
                        fs.as_raw_fd(),
                        libc::FSCONFIG_SET_STRING,
                        key.as_ptr(),
                        value.as_ptr(),
                        0,
                    ),
                    "fsconfig",
                )?;
            }
            check(
                libc::syscall(
                    libc::SYS_fsconfig,
                    fs.as_raw_fd(),
                    libc::FSCONFIG_CMD_CREATE,
                    0,
                    0,
                    0,
                ),
                "fsconfig(create)",
            )?;
            let mount = owned(check(
                libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), libc::FSMOUNT_CLOEXEC, 0),
                "fsmount",
            )?);
            let m = mount.as_raw_fd();
            // Modes 0 need no umask; 0555 is set after the umask (which stays the caller's,
            // for the command) had its say.
            let file = libc::openat(
                m,
                c"file".as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC | libc::O_RDONLY,
                0,
            );
            check(file.into(), "creating the mask file")?;
            libc::close(file);
            check(libc::mkdirat(m, c"d000".as_ptr(), 0).into(), "mkdirat")?;
            check(libc::mkdirat(m, c"d555".as_ptr(), 0o555).into(), "mkdirat")?;
            check(
                libc::fchmodat(m, c"d555".as_ptr(), 0o555, 0).into(),
                "fchmodat",
            )?;
            // Set once on the source: every clone inherits the mount's flags.
            set_attr(&mount, MASK_ATTR, false)?;
            let entry = |name: &std::ffi::CStr| {
                check(
                    libc::openat(m, name.as_ptr(), libc::O_PATH | libc::O_CLOEXEC).into(),
                    "opening a mask source",
                )
                .map(owned)
            };
            Ok(Sources {
                file: entry(c"file")?,
                dir_000: entry(c"d000")?,
                dir_555: entry(c"d555")?,
                _tree: mount,
            })
        }
    }
}

/// The directory the last target was opened in, kept for the next target in the same
/// directory (the ops of one glob come grouped by directory): each target is then one
/// single-component lookup instead of a walk from `/`.
#[derive(Default)]
struct Parent {
    open: Option<(PathBuf, OwnedFd)>,
}

impl Parent {
    /// Opens `path` (absolute and normal, see [`is_normal`]; not following any symlink):
    /// through the held parent directory when it is `path`'s parent, otherwise from `/`
    /// (and then holds `path`'s parent). Paths are compared as bytes: thousands of them.
    fn open(&mut self, path: &Path) -> nix::Result<OwnedFd> {
        let bytes = path.as_os_str().as_bytes();
        let slash = bytes.iter().rposition(|&b| b == b'/').unwrap_or(0);
        let (dir, name) = (&bytes[..slash.max(1)], &bytes[slash + 1..]);
        if name.is_empty() {
            return open_target(path, OFlag::empty());
        }
        let dir = Path::new(OsStr::from_bytes(dir));
        if self
            .open
            .as_ref()
            .is_none_or(|(held, _)| held.as_os_str() != dir.as_os_str())
        {
            self.open = None;
            let fd = open_target(dir, OFlag::O_DIRECTORY)?;
            self.open = Some((dir.to_path_buf(), fd));
        }
        let Some((_, fd)) = &self.open else {
            unreachable!("the parent was opened above")
        };
        // One component (a normal path's last: never `.` or `..`), not followed if it is a
        // symlink: a plain `openat` is as strict as `openat2` here, and cheaper.
        nix::fcntl::openat(
            fd,
            OsStr::from_bytes(name),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
    }

    /// A mount was just placed on `path` (normal): a held directory at or below it is now
    /// covered (lookups through the old descriptor would miss the mount), so it is let go.
    fn mounted_on(&mut self, path: &Path) {
        if self
            .open
            .as_ref()
            .is_some_and(|(held, _)| at_or_below(held, path))
        {
            self.open = None;
        }
    }
}

/// Whether `path` is absolute and normal (no empty, `.` or `..` component, no trailing
/// `/`), as the planner writes every target: then comparing bytes is comparing paths.
fn is_normal(path: &Path) -> bool {
    let bytes = path.as_os_str().as_bytes();
    bytes == b"/"
        || bytes.first() == Some(&b'/')
            && bytes[1..]
                .split(|&b| b == b'/')
                .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// Whether the normal path `inner` is `outer` or lies below it.
fn at_or_below(inner: &Path, outer: &Path) -> bool {
    let (inner, outer) = (inner.as_os_str().as_bytes(), outer.as_os_str().as_bytes());
    outer == b"/" || inner.starts_with(outer) && inner.get(outer.len()).is_none_or(|&b| b == b'/')
}

impl Parent {
    /// Opens `op`'s target (see [`Parent::open`]) and checks it is the planned inode, of a
    /// kind its action fits.
    fn open_checked(&mut self, op: &MountOp) -> Result<OwnedFd, MountsError> {
        let changed = |why: Change| MountsError::Changed {
            path: op.path.clone(),
            why,
        };
        if !is_normal(&op.path) {
            return Err(MountsError::NotNormal(op.path.clone()));
        }
        let identity = op
            .identity
            .ok_or_else(|| MountsError::NoIdentity(op.path.clone()))?;
        let target = self.open(&op.path).map_err(|e| changed(Change::Open(e)))?;
        let st = fstat(&target).map_err(|e| changed(Change::Stat(e)))?;
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if st.st_dev != identity.dev || st.st_ino != identity.ino || is_dir != identity.dir {
            return Err(changed(Change::OtherFile));
        }
        match op.action {
            Action::MaskFile if is_dir => Err(changed(Change::Kind)),
            Action::MaskDir { .. } if !is_dir => Err(changed(Change::Kind)),
            _ => Ok(target),
        }
    }
}

/// Mounts what an operation asks for on its target, the mask sources made at the first mask
/// (a run with read-only carve-outs only needs no tmpfs).
#[derive(Default)]
struct Mounter {
    sources: Option<Sources>,
}

impl Mounter {
    /// A detached clone of the mask `op` asks for: a file, or a directory of mode 000 or 555.
    fn mask(&mut self, op: &MountOp) -> Result<OwnedFd, MountsError> {
        let sources = match &mut self.sources {
            Some(sources) => sources,
            none => none.insert(Sources::new().map_err(MountsError::Source)?),
        };
        let source = match op.action {
            Action::MaskFile => &sources.file,
            Action::MaskDir { mode: 0o000 } => &sources.dir_000,
            Action::MaskDir { mode: 0o555 } => &sources.dir_555,
            Action::MaskDir { .. } | Action::ReadOnly => {
                return Err(MountsError::Changed {
                    path: op.path.clone(),
                    why: Change::Kind,
                });
            }
        };
        clone(source.as_raw_fd(), c"", libc::AT_EMPTY_PATH).map_err(|error| MountsError::Mask {
            path: op.path.clone(),
            step: "open_tree",
            error,
        })
    }

    /// Mounts `op` on `target`, opened and checked by [`Parent::open_checked`].
    fn mount(&mut self, op: &MountOp, target: &OwnedFd) -> Result<(), MountsError> {
        let fail = |step: &'static str| {
            move |error: SysError| MountsError::Mask {
                path: op.path.clone(),
                step,
                error,
            }
        };
        let source = match op.action {
            Action::ReadOnly => {
                let tree = clone(
                    target.as_raw_fd(),
                    c"",
                    libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
                )
                .map_err(fail("open_tree"))?;
                set_attr(&tree, libc::MOUNT_ATTR_RDONLY, true).map_err(fail("mount_setattr"))?;
                tree
            }
            Action::MaskFile | Action::MaskDir { .. } => self.mask(op)?,
        };
        // SAFETY: both descriptors are open; empty paths with the EMPTY_PATH flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                source.as_raw_fd(),
                c"".as_ptr(),
                target.as_raw_fd(),
                c"".as_ptr(),
                libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
            )
        };
        check(rc, "move_mount").map_err(fail("move_mount"))?;
        Ok(())
    }
}

/// `openat2` of `path` (absolute, as the plan writes every target) as an `O_PATH`
/// descriptor (plus `extra`), following no symlink on the way, the last component included.
fn open_target(path: &Path, extra: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | extra)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(nix::fcntl::AT_FDCWD, path, how)
}

fn clone(dir: RawFd, name: &std::ffi::CStr, flags: libc::c_int) -> Result<OwnedFd, SysError> {
    // SAFETY: open_tree on an open descriptor and a NUL-terminated name.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dir,
            name.as_ptr(),
            libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | flags as libc::c_uint,
        )
    };
    check(rc, "open_tree").map(owned)
}

fn set_attr(mount: &OwnedFd, attr: u64, recursive: bool) -> Result<(), SysError> {
    let attr = libc::mount_attr {
        attr_set: attr,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr reads `attr`, whose size is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mount.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    check(rc, "mount_setattr").map(|_| ())
}

/// Enters a new user namespace in which the caller's `uid` and `gid` map to this
/// process's ids (0), as bwrap's own second namespace would. Mapping uid 0 of the parent
/// namespace needs `CAP_SETFCAP` there at the time of `unshare` (Linux 5.12 and later).
fn map_caller(uid: u32, gid: u32) -> Result<(), MountsError> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(MountsError::UserNamespace)?;
    for (file, text) in [
        ("/proc/self/setgroups", "deny".to_string()),
        ("/proc/self/uid_map", format!("{uid} 0 1\n")),
        ("/proc/self/gid_map", format!("{gid} 0 1\n")),
    ] {
        std::fs::write(file, text).map_err(|error| MountsError::IdMap { file, error })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{at_or_below, is_normal};
    use std::path::Path;

    #[test]
    fn only_absolute_paths_without_dot_empty_or_parent_components_are_normal() {
        for good in ["/", "/a", "/a/b.env", "/a/.git", "/a/..b"] {
            assert!(is_normal(Path::new(good)), "{good}");
        }
        for bad in [
            "", "a", "a/b", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/a/.", "/..",
        ] {
            assert!(!is_normal(Path::new(bad)), "{bad}");
        }
    }

    #[test]
    fn at_or_below_compares_whole_components() {
        let yes = [
            ("/a/b", "/a"),
            ("/a", "/a"),
            ("/a", "/"),
            ("/", "/"),
            ("/a/b/c", "/a/b"),
        ];
        for (inner, outer) in yes {
            assert!(
                at_or_below(Path::new(inner), Path::new(outer)),
                "{inner} {outer}"
            );
        }
        let no = [("/ab", "/a"), ("/a", "/a/b"), ("/", "/a"), ("/a-b/c", "/a")];
        for (inner, outer) in no {
            assert!(
                !at_or_below(Path::new(inner), Path::new(outer)),
                "{inner} {outer}"
            );
        }
    }
}
