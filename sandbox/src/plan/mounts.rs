//! The inner-stage mount operations: the masks and read-only carve-outs the plan leaves to
//! the inner stage instead of bwrap, so that bwrap gets a handful of operations whatever
//! the policy's globs match (C bwrap re-reads the mount table for every one of its own).
//!
//! Each operation names its target by host path and by the `(st_dev, st_ino)` the planner
//! (or the placeholder step) saw; bind mounts keep both, so the inner stage can verify that
//! the path it opens without following any symlink is the very inode planned, and refuses
//! the run otherwise. The list travels to the inner stage as JSON in a sealed memfd.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What to mount on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An empty, mode-000 file, read-only (a denied file).
    MaskFile,
    /// An empty directory with this mode, read-only (a denied directory: 000; a
    /// placeholder for protected metadata or a missing read-only path: 555).
    MaskDir {
        /// The directory's permission bits.
        mode: u32,
    },
    /// The target itself, recursively read-only (a read-only carve-out).
    ReadOnly,
}

/// The identity of a target: bind mounts and renames keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// Whether the target is a directory.
    pub dir: bool,
}

impl Identity {
    /// The identity of `path` itself (not following a final symlink).
    pub fn of(path: &Path) -> Option<Identity> {
        Some(Identity::from_metadata(
            &std::fs::symlink_metadata(path).ok()?,
        ))
    }

    /// The identity `meta` (from `lstat`) describes.
    pub fn from_metadata(meta: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            dir: meta.is_dir(),
        }
    }
}

/// One mount the inner stage applies before the command starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountOp {
    /// What to mount.
    pub action: Action,
    /// The target (the same path inside the sandbox as on the host).
    pub path: PathBuf,
    /// The target's identity; `None` for a placeholder until the launcher has created it
    /// (the inner stage refuses an operation without one).
    pub identity: Option<Identity>,
}

impl MountOp {
    /// The operation as `sandbox explain` prints it: `ACTION PATH`.
    pub fn describe(&self) -> String {
        let action = match self.action {
            Action::MaskFile => "mask-file".to_string(),
            Action::MaskDir { mode } => format!("mask-dir {mode:03o}"),
            Action::ReadOnly => "read-only".to_string(),
        };
        format!("{action} {}", self.path.display())
    }
}
