//! Parsing of the setup operations (queued in argv order) and the overlay ops.

use super::parse::{Args, Parser};
use super::{BindKind, Op, OverlayKind};
use crate::diag::die;
use std::ffi::OsString;

impl Parser {
    /// The overlay ops, which consume the pending `--overlay-src` layers.
    pub(super) fn overlay(&mut self, option: &str, a: &Args) -> usize {
        let (kind, dest, used) = match option {
            "--overlay" => {
                let v = a.take(3);
                let kind = OverlayKind::Writable {
                    upper: v[0].clone(),
                    work: v[1].clone(),
                };
                (kind, v[2].clone(), 3)
            }
            "--tmp-overlay" => {
                let dest = a.take(1)[0].clone();
                self.tmp_overlays += 1;
                (OverlayKind::Tmp(self.tmp_overlays - 1), dest, 1)
            }
            _ => (OverlayKind::ReadOnly, a.take(1)[0].clone(), 1),
        };
        let needed = if kind == OverlayKind::ReadOnly { 2 } else { 1 };
        if self.overlay_sources.len() < needed {
            let count = if needed == 2 { "two" } else { "one" };
            die(&format!("{option} requires at least {count} --overlay-src"));
        }
        let sources = std::mem::take(&mut self.overlay_sources);
        self.cfg.ops.push(Op::Overlay {
            sources,
            kind,
            dest,
        });
        used
    }

    /// The remaining setup ops, or an unknown option.
    pub(super) fn setup_op(&mut self, option: &str, a: &Args) -> usize {
        let bind = |kind, optional| {
            let v = a.take(2);
            Op::Bind {
                src: v[0].clone(),
                dest: v[1].clone(),
                kind,
                optional,
            }
        };
        let dest = || a.take(1)[0].clone();
        let (op, used) = match option {
            "--bind" => (bind(BindKind::ReadWrite, false), 2),
            "--bind-try" => (bind(BindKind::ReadWrite, true), 2),
            "--ro-bind" => (bind(BindKind::ReadOnly, false), 2),
            "--ro-bind-try" => (bind(BindKind::ReadOnly, true), 2),
            "--dev-bind" => (bind(BindKind::Devices, false), 2),
            "--dev-bind-try" => (bind(BindKind::Devices, true), 2),
            "--bind-fd" | "--ro-bind-fd" => {
                let fd = a.fd(0, 2);
                let read_only = option == "--ro-bind-fd";
                (
                    Op::BindFd {
                        fd,
                        dest: a.take(2)[1].clone(),
                        read_only,
                        resolved: OsString::new(),
                    },
                    2,
                )
            }
            "--remount-ro" => (Op::RemountRo { dest: dest() }, 1),
            "--proc" => (Op::Proc { dest: dest() }, 1),
            "--dev" => {
                self.cfg.needs_devpts = true;
                (Op::Dev { dest: dest() }, 1)
            }
            "--mqueue" => (Op::Mqueue { dest: dest() }, 1),
            "--tmpfs" => {
                let dest = dest();
                (
                    Op::Tmpfs {
                        dest,
                        perms: self.perms.take(),
                        size: self.size.take(),
                    },
                    1,
                )
            }
            "--dir" => (
                Op::Dir {
                    dest: dest(),
                    perms: self.perms.take(),
                },
                1,
            ),
            "--file" => {
                let fd = a.fd(0, 2);
                (
                    Op::File {
                        fd,
                        dest: a.take(2)[1].clone(),
                        perms: self.perms.take(),
                    },
                    2,
                )
            }
            "--bind-data" | "--ro-bind-data" => {
                let fd = a.fd(0, 2);
                let read_only = option == "--ro-bind-data";
                let dest = a.take(2)[1].clone();
                (
                    Op::BindData {
                        fd,
                        dest,
                        perms: self.perms.take(),
                        read_only,
                    },
                    2,
                )
            }
            "--symlink" => {
                let v = a.take(2);
                (
                    Op::Symlink {
                        target: v[0].clone(),
                        dest: v[1].clone(),
                    },
                    2,
                )
            }
            _ => die(&format!("Unknown option {option}")),
        };
        self.cfg.ops.push(op);
        used
    }
}
