//! The inner-stage mount list, written for the inner stage into a sealed memfd (or a pipe,
//! see [`super::MountList::Later`]).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};

use crate::SandboxError;
use crate::inner::mounts::Payload;
use crate::plan::mounts::MountOp;

fn io(e: std::io::Error) -> SandboxError {
    SandboxError::io("write", "the inner-stage mount list", e)
}

/// The [`Payload`] for `ops` (with this process's uid and gid), as the inner stage reads it.
pub fn payload(ops: &[MountOp]) -> Result<Vec<u8>, SandboxError> {
    let payload = Payload {
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        ops: ops.to_vec(),
    };
    serde_json::to_vec(&payload).map_err(|e| io(e.into()))
}

/// A memfd holding the [`Payload`] for `ops` (with this process's uid and gid), sealed
/// against every change, read from its start.
pub fn sealed(ops: &[MountOp]) -> Result<OwnedFd, SandboxError> {
    let text = payload(ops)?;
    let fd = memfd_create(
        c"sandbox-mounts",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(|e| io(e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&text).map_err(io)?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(file.as_fd(), FcntlArg::F_ADD_SEALS(seals)).map_err(|e| io(e.into()))?;
    // The inner stage reads from the shared offset: rewind it.
    nix::unistd::lseek(&file, 0, nix::unistd::Whence::SeekSet).map_err(|e| io(e.into()))?;
    Ok(OwnedFd::from(file))
}
