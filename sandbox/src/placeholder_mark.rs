//! How a placeholder directory is recognised on the host: the plan treats one as missing,
//! the run ([`crate::run::placeholders`]) creates and acquires them.

use std::os::unix::fs::MetadataExt;

/// The mode of a placeholder directory: `r-xr-xr-x` with the sticky bit (a mode `mkdir`
/// never gives by default).
pub const PLACEHOLDER_MODE: u32 = 0o1555;

/// Whether a host entry looks like a placeholder (a directory with [`PLACEHOLDER_MODE`]):
/// the plan treats it as missing and this run acquires it like one it creates.
pub fn looks_like_placeholder(meta: &std::fs::Metadata) -> bool {
    meta.is_dir() && meta.mode() & 0o7777 == PLACEHOLDER_MODE
}
