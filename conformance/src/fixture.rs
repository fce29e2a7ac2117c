//! Building a case's fixture tree on the host, and snapshotting it for postconditions.
//!
//! Layout of a fixture root (world-accessible, so runs as an unprivileged user work too):
//! `ws/` is the default workspace (`{ws}`), `tmp/` is the command's `$TMPDIR` (`{tmp}`),
//! `policy.toml` the expanded policy; every other path comes from the case.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::case::{Fixture, GenerateSpec};
use crate::placeholders::Placeholders;

/// What kind of entry a path is, for before/after comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (fifo, socket, device).
    Other,
}

/// Every path under a fixture root (outside `tmp/`), relative, with its kind.
pub type Snapshot = BTreeMap<String, Kind>;

/// A fixture root on disk, removed on drop.
pub struct FixtureDir {
    dir: tempfile::TempDir,
}

/// Why a fixture root could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// A file system call on a fixture path failed.
    #[error("fixture: {what} {}: {source}", path.display())]
    Io {
        /// The call (`mkdir`, `write`, `chmod`, ...).
        what: &'static str,
        /// The path it was called on.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A mode is not an octal number.
    #[error("fixture: mode {0:?} is not octal")]
    Mode(String),
    /// A path is absolute or has `..`.
    #[error("fixture: path {0:?} must be relative to the fixture root, without `..`")]
    Escapes(String),
    /// A `generate` entry with both `contents` and `hardlink_to`.
    #[error("fixture: generate takes contents or hardlink_to, not both")]
    GenerateBoth,
}

fn with_path(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> FixtureError {
    let path = path.to_path_buf();
    move |source| FixtureError::Io { what, path, source }
}

fn parse_mode(mode: &str) -> Result<u32, FixtureError> {
    u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .map_err(|_| FixtureError::Mode(mode.to_owned()))
}

fn chmod(path: &Path, mode: u32) -> Result<(), FixtureError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(with_path(path, "chmod"))
}

fn make_parent(path: &Path) -> Result<(), FixtureError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(with_path(parent, "mkdir")),
        None => Ok(()),
    }
}

impl FixtureDir {
    /// Creates an empty root under `base` with `ws/` and `tmp/`, all mode 0755.
    pub fn create(base: &Path) -> Result<Self, FixtureError> {
        let dir = tempfile::Builder::new()
            .prefix("conformance-")
            .tempdir_in(base)
            .map_err(with_path(base, "create temp dir in"))?;
        chmod(dir.path(), 0o755)?;
        for sub in ["ws", "tmp"] {
            let path = dir.path().join(sub);
            fs::create_dir(&path).map_err(with_path(&path, "mkdir"))?;
            chmod(&path, 0o755)?;
        }
        Ok(Self { dir })
    }

    /// The root path.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` under the root, refusing paths that would leave it.
    pub fn path(&self, rel: &str) -> Result<PathBuf, FixtureError> {
        let rel_path = Path::new(rel);
        let escapes = rel_path.is_absolute()
            || rel_path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        if escapes {
            return Err(FixtureError::Escapes(rel.to_owned()));
        }
        Ok(self.root().join(rel_path))
    }

    /// Creates everything the fixture lists, then applies directory modes (so read-only
    /// directories get their contents first).
    pub fn populate(&self, fixture: &Fixture, vars: &Placeholders) -> Result<(), FixtureError> {
        for dir in &fixture.dir {
            let path = self.path(&dir.path)?;
            fs::create_dir_all(&path).map_err(with_path(&path, "mkdir"))?;
        }
        for file in &fixture.file {
            let path = self.path(&file.path)?;
            make_parent(&path)?;
            let mode = file.mode.as_deref().map(parse_mode).transpose()?;
            crate::exec::write_file(&path, &vars.expand(&file.contents), mode)
                .map_err(with_path(&path, "write"))?;
        }
        for git in &fixture.git {
            self.make_git(&git.path, git.gitdir.as_deref())?;
        }
        for link in &fixture.symlink {
            let path = self.path(&link.path)?;
            make_parent(&path)?;
            symlink(vars.expand(&link.target), &path).map_err(with_path(&path, "symlink"))?;
        }
        for link in &fixture.hardlink {
            let path = self.path(&link.path)?;
            make_parent(&path)?;
            fs::hard_link(self.path(&link.target)?, &path).map_err(with_path(&path, "link"))?;
        }
        for generated in &fixture.generate {
            self.generate(generated, vars)?;
        }
        for dir in &fixture.dir {
            if let Some(mode) = &dir.mode {
                chmod(&self.path(&dir.path)?, parse_mode(mode)?)?;
            }
        }
        Ok(())
    }

    fn generate(&self, spec: &GenerateSpec, vars: &Placeholders) -> Result<(), FixtureError> {
        let link_target = spec
            .hardlink_to
            .as_deref()
            .map(|t| self.path(t))
            .transpose()?;
        if link_target.is_some() && !spec.contents.is_empty() {
            return Err(FixtureError::GenerateBoth);
        }
        for n in 0..spec.count {
            let n = n.to_string();
            let path = self.path(&spec.path.replace("{n}", &n))?;
            make_parent(&path)?;
            match &link_target {
                Some(target) => fs::hard_link(target, &path).map_err(with_path(&path, "link"))?,
                None => {
                    let contents = vars.expand(&spec.contents.replace("{n}", &n));
                    fs::write(&path, contents).map_err(with_path(&path, "write"))?;
                }
            }
        }
        Ok(())
    }

    fn make_git(&self, worktree: &str, gitdir: Option<&str>) -> Result<(), FixtureError> {
        let worktree = self.path(worktree)?;
        let dot_git = worktree.join(".git");
        let git_dir = match gitdir {
            Some(rel) => {
                let target = self.path(rel)?;
                make_parent(&dot_git)?;
                let text = format!("gitdir: {}\n", target.display());
                fs::write(&dot_git, text).map_err(with_path(&dot_git, "write"))?;
                target
            }
            None => dot_git,
        };
        for sub in ["objects", "refs/heads", "hooks"] {
            let path = git_dir.join(sub);
            fs::create_dir_all(&path).map_err(with_path(&path, "mkdir"))?;
        }
        let head = git_dir.join("HEAD");
        fs::write(&head, "ref: refs/heads/main\n").map_err(with_path(&head, "write"))?;
        let config = git_dir.join("config");
        fs::write(&config, "[core]\n\trepositoryformatversion = 0\n")
            .map_err(with_path(&config, "write"))
    }

    /// Every path under the root except `tmp/`, with its kind.
    pub fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::new();
        let walk = walkdir::WalkDir::new(self.root()).min_depth(1);
        let entries = walk
            .into_iter()
            .filter_entry(|e| e.depth() != 1 || e.file_name() != "tmp")
            .flatten();
        for entry in entries {
            let ft = entry.file_type();
            let kind = if ft.is_symlink() {
                Kind::Symlink
            } else if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            let rel = entry
                .path()
                .strip_prefix(self.root())
                .unwrap_or(entry.path());
            out.insert(rel.to_string_lossy().into_owned(), kind);
        }
        out
    }

    /// Makes every directory writable again so the root can be removed after cases that
    /// made some read-only.
    pub fn unlock(&self) {
        let dirs = walkdir::WalkDir::new(self.root())
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_dir());
        for dir in dirs {
            let _ = chmod(dir.path(), 0o755);
        }
    }
}

impl Drop for FixtureDir {
    fn drop(&mut self) {
        self.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_links_git_metadata_and_modes() {
        let base = tempfile::tempdir().unwrap();
        let fixture = FixtureDir::create(base.path()).unwrap();
        let spec: Fixture = toml::from_str(
            "[[file]]\npath = 'ws/a/f'\ncontents = 'x {ws}'\nmode = '0600'\n\
             [[dir]]\npath = 'ws/ro'\nmode = '0555'\n\
             [[symlink]]\npath = 'ws/l'\ntarget = 'a/f'\n\
             [[hardlink]]\npath = 'ws/h'\ntarget = 'ws/a/f'\n\
             [[git]]\npath = 'wt'\ngitdir = 'wt/.gitdata'\n",
        )
        .unwrap();
        let mut vars = Placeholders::default();
        vars.set("ws", "W");
        fixture.populate(&spec, &vars).unwrap();
        let root = fixture.root();
        assert_eq!(fs::read_to_string(root.join("ws/l")).unwrap(), "x W");
        let meta = fs::metadata(root.join("ws/h")).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::nlink(&meta), 2);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let ro = fs::metadata(root.join("ws/ro")).unwrap();
        assert_eq!(ro.permissions().mode() & 0o777, 0o555);
        let gitfile = fs::read_to_string(root.join("wt/.git")).unwrap();
        assert_eq!(gitfile, format!("gitdir: {}/wt/.gitdata\n", root.display()));
        assert!(root.join("wt/.gitdata/HEAD").is_file());
        let snap = fixture.snapshot();
        assert_eq!(snap.get("ws/l"), Some(&Kind::Symlink));
        assert!(!snap.contains_key("tmp"), "tmp/ is not part of snapshots");
    }

    #[test]
    fn paths_may_not_leave_the_root() {
        let base = tempfile::tempdir().unwrap();
        let fixture = FixtureDir::create(base.path()).unwrap();
        assert!(fixture.path("../x").is_err());
        assert!(fixture.path("/etc/passwd").is_err());
    }
}
