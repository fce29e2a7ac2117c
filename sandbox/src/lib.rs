//! The reference Linux sandbox for AI coding agents.
//!
//! Data flow: a [`policy::Policy`] is parsed from TOML or JSON, resolved against the
//! workspace into a [`plan::Plan`] (the ordered bwrap arguments), and handed to a bwrap
//! chosen by the [`launcher`]. Inside the namespaces, the [`inner`] stage sets
//! `no_new_privs`, installs the seccomp filter and runs the command as a reaped child.

pub mod host;
pub mod inner;
pub mod launcher;
pub mod legacy;
pub mod plan;
pub mod policy;
