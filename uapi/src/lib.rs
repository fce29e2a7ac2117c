//! The Linux system calls this workspace makes by hand, in one leaf crate: capability sets
//! (`capget`/`capset` and the bounding and ambient sets), bringing up `lo`, the Landlock
//! ABI probe, and starting a process that borrows the caller's memory until it execs.
//! `bwrap`, `sandbox` and `conformance` call these instead of writing the raw calls
//! themselves; what `nix` already wraps (`PR_SET_NO_NEW_PRIVS`, `PR_SET_DUMPABLE`, ...) is
//! called through `nix` directly.
//!
//! Every function returns the kernel's [`Errno`](nix::errno::Errno) untouched, so each caller
//! keeps its own messages (`?` turns it into an [`std::io::Error`] where that is wanted).
//! Nothing here prints, exits or allocates on the success path except where documented.

pub mod caps;
pub mod landlock;
pub mod net;
pub mod vfork;

#[cfg(test)]
mod child;
