//! The options that queue a setup operation, in argv order.

use super::error::ArgError;
use super::parse::{Call, Halt, Parser};
use super::value::parse_mode;
use super::{BindKind, Op, OverlayKind};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

impl Parser<'_> {
    fn push(&mut self, op: Op) -> Result<(), Halt> {
        self.cfg.ops.push(op);
        Ok(())
    }

    /// An op whose only value is its destination.
    pub(super) fn dest_op(&mut self, call: &Call, op: fn(OsString) -> Op) -> Result<(), Halt> {
        self.push(op(call.values[0].clone()))
    }

    /// `--bind SRC DEST` and its read-only, device and `-try` forms.
    pub(super) fn bind(&mut self, call: &Call, kind: BindKind, optional: bool) -> Result<(), Halt> {
        let (src, dest) = (call.values[0].clone(), call.values[1].clone());
        self.push(Op::Bind {
            src,
            dest,
            kind,
            optional,
        })
    }

    /// `--bind-fd`/`--ro-bind-fd FD DEST`.
    pub(super) fn bind_fd(&mut self, call: &Call, read_only: bool) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        self.push(Op::BindFd {
            fd,
            dest: call.values[1].clone(),
            read_only,
            resolved: OsString::new(),
        })
    }

    /// `--tmpfs DEST`, with the pending `--perms` and `--size`.
    pub(super) fn tmpfs(&mut self, call: &Call) -> Result<(), Halt> {
        let (perms, size) = (self.perms.take(), self.size.take());
        let dest = call.values[0].clone();
        self.push(Op::Tmpfs { dest, perms, size })
    }

    /// `--dir DEST`, with the pending `--perms`.
    pub(super) fn dir(&mut self, call: &Call) -> Result<(), Halt> {
        let perms = self.perms.take();
        let dest = call.values[0].clone();
        self.push(Op::Dir { dest, perms })
    }

    /// `--file FD DEST`, with the pending `--perms`.
    pub(super) fn file(&mut self, call: &Call) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        let perms = self.perms.take();
        let dest = call.values[1].clone();
        self.push(Op::File { fd, dest, perms })
    }

    /// `--bind-data`/`--ro-bind-data FD DEST`, with the pending `--perms`.
    pub(super) fn bind_data(&mut self, call: &Call, read_only: bool) -> Result<(), Halt> {
        let fd = call.fd(0)?;
        let perms = self.perms.take();
        self.push(Op::BindData {
            fd,
            dest: call.values[1].clone(),
            perms,
            read_only,
        })
    }

    /// `--symlink TARGET DEST`.
    pub(super) fn symlink(&mut self, call: &Call) -> Result<(), Halt> {
        let (target, dest) = (call.values[0].clone(), call.values[1].clone());
        self.push(Op::Symlink { target, dest })
    }

    /// `--chmod OCTAL PATH`.
    pub(super) fn chmod(&mut self, call: &Call) -> Result<(), Halt> {
        let mode = parse_mode(call.values[0].as_bytes()).ok_or(ArgError::InvalidChmod)?;
        let dest = call.values[1].clone();
        self.push(Op::Chmod { dest, mode })
    }

    /// The overlay ops, which consume the pending `--overlay-src` layers (the destination is
    /// their last value).
    pub(super) fn overlay(&mut self, call: &Call, kind: OverlayKind) -> Result<(), Halt> {
        let needed = if kind == OverlayKind::ReadOnly { 2 } else { 1 };
        if self.overlay_sources.len() < needed {
            let option = call.name;
            return Err(ArgError::TooFewLayers { option, needed }.into());
        }
        let sources = std::mem::take(&mut self.overlay_sources);
        let dest = call.values[call.values.len() - 1].clone();
        self.push(Op::Overlay {
            sources,
            kind,
            dest,
        })
    }
}
