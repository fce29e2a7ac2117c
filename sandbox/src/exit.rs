//! The exit statuses the sandbox uses for its own failures, in one place for the CLI, the
//! inner stage and the proxy bridges.

/// The sandbox itself failed or refused to run the command (as `env` and `chroot` use).
pub const FAILURE: i32 = 125;

/// The bundled bwrap does not match the digest compiled into `sandbox`.
pub const DIGEST_MISMATCH: i32 = 122;
