//! The plan's bwrap operations, typed: one variant per option the sandbox gives bwrap, in
//! the order bwrap applies them (modelled on the Rust bwrap's own `args::Op`). They become
//! bwrap's argv once, in [`crate::run::assemble`] through [`super::render()`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A namespace bwrap creates (`--unshare-…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `--unshare-user`.
    User,
    /// `--unshare-pid`.
    Pid,
    /// `--unshare-ipc`.
    Ipc,
    /// `--unshare-net`.
    Net,
}

/// One bwrap operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `--as-pid-1`: the program bwrap runs is the sandbox's pid 1.
    AsPid1,
    /// `--new-session`.
    NewSession,
    /// `--die-with-parent`.
    DieWithParent,
    /// `--bind SRC DEST`: writable.
    Bind {
        /// The host path.
        src: PathBuf,
        /// Where it appears in the sandbox.
        dest: PathBuf,
    },
    /// `--ro-bind SRC DEST`: read-only.
    RoBind {
        /// The host path.
        src: PathBuf,
        /// Where it appears in the sandbox.
        dest: PathBuf,
    },
    /// `--dev DEST`: a private `/dev`.
    Dev {
        /// The mount point.
        dest: PathBuf,
    },
    /// `--proc DEST`: a fresh procfs.
    Proc {
        /// The mount point.
        dest: PathBuf,
    },
    /// `--tmpfs DEST` with its `--perms` and `--size` modifiers.
    Tmpfs {
        /// The mount point.
        dest: PathBuf,
        /// The root directory's mode (`--perms`), bwrap's 0755 without.
        perms: Option<u32>,
        /// The size cap in bytes (`--size`).
        size: Option<u64>,
    },
    /// `--dir DEST`: a directory (a mount point inside an empty tmpfs).
    Dir {
        /// The directory.
        dest: PathBuf,
    },
    /// `--symlink TARGET DEST`.
    Symlink {
        /// What the link says.
        target: PathBuf,
        /// Where the link is.
        dest: PathBuf,
    },
    /// `--remount-ro DEST`.
    RemountRo {
        /// The mount to make read-only.
        dest: PathBuf,
    },
    /// `--unshare-…`.
    Unshare(Namespace),
    /// `--chdir DIR`.
    Chdir(PathBuf),
    /// `--uid UID`: the uid inside the sandbox's user namespace.
    Uid(u32),
    /// `--gid GID`.
    Gid(u32),
    /// `--cap-drop ALL`.
    CapDropAll,
    /// `--cap-add CAP`, a `CAP_…` name.
    CapAdd(&'static str),
    /// `--setenv NAME VALUE`.
    SetEnv {
        /// The variable.
        name: OsString,
        /// Its value.
        value: OsString,
    },
    /// `--info-fd FD`: bwrap writes the sandbox's `child-pid` there.
    InfoFd(i32),
    /// `--argv0 NAME`: the program's `argv[0]` (bubblewrap 0.9 and later).
    Argv0(&'static str),
}

impl Op {
    /// `--bind PATH PATH`: `path` writable at its own place (a writable rule, a pin).
    pub fn bind(path: &Path) -> Op {
        Op::Bind {
            src: path.to_path_buf(),
            dest: path.to_path_buf(),
        }
    }

    /// `--ro-bind PATH PATH`: `path` read-only at its own place.
    pub fn ro_bind(path: &Path) -> Op {
        Op::RoBind {
            src: path.to_path_buf(),
            dest: path.to_path_buf(),
        }
    }

    /// `--perms MODE --tmpfs DEST`: an empty directory with mode `perms` on `dest`.
    pub fn tmpfs_with_mode(dest: &Path, perms: u32) -> Op {
        Op::Tmpfs {
            dest: dest.to_path_buf(),
            perms: Some(perms),
            size: None,
        }
    }

    /// An empty directory with mode `perms` on `dest`, made read-only at once (a
    /// placeholder, the hidden `/proc`).
    pub fn read_only_empty_dir(dest: &Path, perms: u32) -> [Op; 2] {
        [
            Op::tmpfs_with_mode(dest, perms),
            Op::RemountRo {
                dest: dest.to_path_buf(),
            },
        ]
    }
}
