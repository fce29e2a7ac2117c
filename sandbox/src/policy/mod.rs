//! The sandbox policy: what the command may read, write and reach.
//!
//! A policy is written as TOML (or the same structure as JSON):
//!
//! ```toml
//! glob_scan_max_depth = 4
//! [filesystem]
//! ":root" = "read"
//! ":workspace_roots" = "write"
//! "**/*.env" = "none"
//! [network]
//! mode = "restricted"
//! ```
//!
//! [`Policy::parse`] checks it completely before anything runs, and [`Policy::resolve`]
//! turns the special names and relative paths into absolute paths for one workspace.
//!
//! ```
//! use sandbox::policy::{Access, Policy};
//! let policy = Policy::parse("[filesystem]\n\":root\" = \"read\"\n", "inline.toml").unwrap();
//! let resolved = policy.resolve(std::path::Path::new("/work/repo"), None).unwrap();
//! assert_eq!(resolved.access_for(std::path::Path::new("/etc/passwd")), Access::Read);
//! assert_eq!(resolved.access_for(std::path::Path::new("/work/repo")), Access::Read);
//! ```

mod environment;
mod error;
mod limits;
mod model;
mod parse;
mod resolve;

pub use environment::{CORE, CREDENTIALS, EnvPolicy, Inherit};
pub use error::PolicyError;
pub use limits::{LimitError, Limits};
pub use model::{Access, Entry, NetworkMode, PathSpec, Policy, Special};
pub use resolve::{MINIMAL_DIRS, Resolved, ResolvedEntry, ResolvedGlob, depth};
