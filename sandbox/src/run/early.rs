//! Starting bwrap before the deny globs are expanded.
//!
//! Expanding a glob over a large tree takes milliseconds, and so does bwrap's own start
//! (exec, namespaces, the bind mounts). When every match becomes an inner-stage mask, the
//! matches change nothing on bwrap's command line, only the inner stage's mount list. So
//! the run plans once without the globs (the guess), starts bwrap on that plan with the
//! mount list to come on a pipe ([`MountList::Later`]), expands the globs while bwrap
//! starts, and then compares: the guess is used only if the complete plan renders the
//! very same bwrap arguments and placeholders. Otherwise the launch is called off (the list
//! is closed unwritten, so the inner stage exits before the command) and the run starts
//! again from the complete plan.
//!
//! Why the command never runs under a partial plan: the inner stage reads the mount list
//! to its end before doing anything else, refuses a list that does not parse (an empty
//! or cut one), and starts the command only after every mount in it is in place. The list
//! is written only after the comparison succeeded, by this process alone (the pipe's write
//! end is close-on-exec and never passed on).

use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use super::placeholders::Placeholders;
use super::{MountList, Prepared, Started};
use crate::SandboxError;
use crate::launcher::Bwrap;

/// A bwrap started on the guessed plan, waiting for its mount list.
pub(crate) struct Early {
    started: Started,
    placeholders: Placeholders,
    args: Vec<OsString>,
    placeholder_paths: Vec<PathBuf>,
}

impl Early {
    /// Starts bwrap on `guess` (the plan without the globs) when its inner stage has a
    /// mount list to wait for; gives back the bwrap for the complete plan either way.
    pub(crate) fn start(
        guess: Prepared,
        proxy_dir: Option<BorrowedFd<'_>>,
    ) -> Result<(Option<Early>, Bwrap), SandboxError> {
        if guess.plan.inner_mounts.is_empty() {
            return Ok((None, guess.bwrap));
        }
        let placeholders = Placeholders::acquire(&guess.plan.placeholders)?;
        let started = match super::start(&guess, MountList::Later, proxy_dir) {
            Ok(started) => started,
            Err(e) => {
                placeholders.release();
                return Err(e);
            }
        };
        let early = Early {
            started,
            placeholders,
            args: guess.args,
            placeholder_paths: guess.plan.placeholders,
        };
        Ok((Some(early), guess.bwrap))
    }

    /// The started bwrap and its placeholders, if `complete` needs exactly the bwrap
    /// arguments and placeholders of the guess; otherwise the early launch is called off
    /// before its command started and the placeholders released.
    pub(crate) fn confirm(self, complete: &Prepared) -> Option<(Started, Placeholders)> {
        if complete.args == self.args && complete.plan.placeholders == self.placeholder_paths {
            return Some((self.started, self.placeholders));
        }
        self.abandon();
        None
    }

    /// Calls off the early launch (its command never starts) and releases the placeholders.
    pub(crate) fn abandon(self) {
        self.started.abandon();
        self.placeholders.release();
    }
}
