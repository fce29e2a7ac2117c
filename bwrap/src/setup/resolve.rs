//! Resolving host-side sources with `realpath`, before the pivot and with the caller's
//! view of the file system.

use crate::args::{Op, OverlayKind};
use crate::diag::show;
use crate::error::SetupError;
use nix::errno::Errno;
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

fn realpath(path: &OsString) -> Result<OsString, Errno> {
    std::fs::canonicalize(path)
        .map(|p| p.into_os_string())
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

fn not_found(path: &OsString, errno: Errno) -> SetupError {
    SetupError::sys(
        format!("Can't find source path {}", show(path.as_bytes())),
        errno,
    )
}

fn must_resolve(path: &OsString) -> Result<OsString, SetupError> {
    realpath(path).map_err(|e| not_found(path, e))
}

/// Returns the op queue with every host path made absolute and canonical; `-try` binds
/// whose source does not exist are dropped. A bind source given many times (the one empty
/// file behind every mask of a sandbox plan) is resolved once.
pub(crate) fn resolve_sources(ops: &[Op]) -> Result<Vec<Op>, SetupError> {
    let mut resolved = Vec::with_capacity(ops.len());
    let mut bind_sources: HashMap<&OsString, Result<OsString, Errno>> = HashMap::new();
    for op in ops {
        let op = match op {
            Op::Bind {
                src,
                dest,
                kind,
                optional,
            } => match bind_sources
                .entry(src)
                .or_insert_with(|| realpath(src))
                .clone()
            {
                Ok(src) => Op::Bind {
                    src,
                    dest: dest.clone(),
                    kind: *kind,
                    optional: *optional,
                },
                Err(Errno::ENOENT) if *optional => continue,
                Err(e) => return Err(not_found(src, e)),
            },
            Op::Overlay {
                sources,
                kind,
                dest,
            } => {
                let kind = match kind {
                    OverlayKind::Writable { upper, work } => OverlayKind::Writable {
                        upper: must_resolve(upper)?,
                        work: must_resolve(work)?,
                    },
                    other => other.clone(),
                };
                let sources = sources.iter().map(must_resolve).collect::<Result<_, _>>()?;
                Op::Overlay {
                    sources,
                    kind,
                    dest: dest.clone(),
                }
            }
            Op::BindFd {
                fd,
                dest,
                read_only,
                ..
            } => {
                let resolved = must_resolve(&OsString::from(format!("/proc/self/fd/{fd}")))?;
                Op::BindFd {
                    fd: *fd,
                    dest: dest.clone(),
                    read_only: *read_only,
                    resolved,
                }
            }
            other => other.clone(),
        };
        resolved.push(op);
    }
    Ok(resolved)
}
