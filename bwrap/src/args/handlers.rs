//! The global options that need more than setting a flag: descriptors, ids, environment,
//! seccomp programs, capabilities and the `--perms`/`--size` modifiers.

use super::cap_names;
use super::effects::env_name_ok;
use super::error::ArgError;
use super::parse::{Call, Halt, Parser};
use super::value::{SizeError, parse_mode, parse_nonneg_int, parse_size};
use super::{CapChange, Config, Op};
use crate::diag::show;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

impl Parser<'_> {
    /// `--argv0 VALUE`, refused when given twice.
    pub(super) fn argv0(&mut self, call: &Call) -> Result<(), Halt> {
        if self.cfg.argv0.is_some() {
            return Err(ArgError::Argv0Twice.into());
        }
        self.cfg.argv0 = Some(call.values[0].clone());
        Ok(())
    }

    /// An option holding one descriptor, where the last one wins.
    pub(super) fn fd_option(
        &mut self,
        call: &Call,
        slot: fn(&mut Config) -> &mut Option<RawFd>,
    ) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        self.last_wins(call.name, fd, slot);
        Ok(())
    }

    /// `--uid`/`--gid` (`what` is `uid` or `gid`).
    pub(super) fn id(
        &mut self,
        call: &Call,
        what: &'static str,
        slot: fn(&mut Config) -> &mut Option<u32>,
    ) -> Result<(), Halt> {
        let value = call.values[0].as_bytes();
        let Some(id) = parse_nonneg_int(value) else {
            let value = show(value);
            return Err(ArgError::InvalidId { what, value }.into());
        };
        self.last_wins(call.name, id, slot);
        Ok(())
    }

    /// `--hostname NAME`: an op run at its place in the queue; the last one wins.
    pub(super) fn hostname(&mut self, call: &Call) -> Result<(), Halt> {
        if self.cfg.hostname_set {
            self.effects
                .warn("Only the last --hostname option will take effect");
        }
        self.cfg.hostname_set = true;
        let name = call.values[0].clone();
        self.cfg.ops.push(Op::Hostname { name });
        Ok(())
    }

    /// `--setenv VAR VALUE`, refused as `setenv(3)` refuses it.
    pub(super) fn setenv(&mut self, call: &Call) -> Result<(), Halt> {
        let (var, value) = (&call.values[0], &call.values[1]);
        if !env_name_ok(var) || value.as_bytes().contains(&0) {
            return Err(ArgError::InvalidEnvName(show(var.as_bytes())).into());
        }
        self.effects.set_env(var, value);
        Ok(())
    }

    /// `--unsetenv VAR`; a name `unsetenv(3)` refuses is ignored, as upstream ignores it.
    pub(super) fn unsetenv(&mut self, call: &Call) -> Result<(), Halt> {
        let var = &call.values[0];
        if env_name_ok(var) {
            self.effects.unset_env(var);
        }
        Ok(())
    }

    /// `--seccomp FD`: read after setup; not with `--add-seccomp-fd`.
    pub(super) fn seccomp(&mut self, call: &Call) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        if !self.cfg.seccomp_programs.is_empty() {
            return Err(ArgError::SeccompAfterAdd.into());
        }
        self.last_wins(call.name, fd, |c| &mut c.seccomp_fd);
        Ok(())
    }

    /// `--add-seccomp-fd FD`: the program is read now, in argv order.
    pub(super) fn add_seccomp(&mut self, call: &Call) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        if self.cfg.seccomp_fd.is_some() {
            return Err(ArgError::AddAfterSeccomp.into());
        }
        let program = self.effects.read_fd(fd).map_err(ArgError::ReadSeccomp)?;
        if !crate::bpf::is_whole(&program) {
            return Err(ArgError::SeccompLength.into());
        }
        self.cfg.seccomp_programs.push(program);
        Ok(())
    }

    /// `--cap-add`/`--cap-drop CAP` (or `ALL`, in any case).
    pub(super) fn cap(
        &mut self,
        call: &Call,
        change: fn(Option<u32>) -> CapChange,
    ) -> Result<(), Halt> {
        let name = call.values[0].as_bytes();
        let cap = if name.eq_ignore_ascii_case(b"ALL") {
            None
        } else {
            match cap_names::from_name(name) {
                Some(cap) => Some(cap),
                None => return Err(ArgError::UnknownCap(show(name)).into()),
            }
        };
        self.cfg.cap_changes.push(change(cap));
        Ok(())
    }

    /// `--perms OCTAL`, for the next option that creates a file.
    pub(super) fn perms(&mut self, call: &Call) -> Result<(), Halt> {
        let mode = parse_mode(call.values[0].as_bytes()).ok_or(ArgError::InvalidPerms)?;
        if self.perms.replace(mode).is_some() {
            return Err(ArgError::PermsTwice.into());
        }
        Ok(())
    }

    /// `--size BYTES`, for the next `--tmpfs`.
    pub(super) fn size(&mut self, call: &Call) -> Result<(), Halt> {
        let size = parse_size(call.values[0].as_bytes()).map_err(|e| match e {
            SizeError::NotPositive => ArgError::SizeNotPositive,
            SizeError::TooLarge(limit) => ArgError::SizeTooLarge(limit),
        })?;
        if self.size.replace(size).is_some() {
            return Err(ArgError::SizeTwice.into());
        }
        Ok(())
    }
}
