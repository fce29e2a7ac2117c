//! The overlay ops: `--overlay`, `--tmp-overlay`, `--ro-overlay`.

use super::fsutil::OLDROOT;
use crate::args::OverlayKind;
use crate::error::SetupError;
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Upper dir of the `n`th `--tmp-overlay`, on the setup tmpfs.
pub(crate) fn tmp_upper(n: usize) -> String {
    format!("/tmp-overlay-upper-{n}")
}

/// Work dir of the `n`th `--tmp-overlay`, on the setup tmpfs.
pub(crate) fn tmp_work(n: usize) -> String {
    format!("/tmp-overlay-work-{n}")
}

/// `/oldroot` + `path`, with `\\`, `,` and `:` escaped for an overlayfs option value.
fn host(path: &OsString) -> Vec<u8> {
    let mut out = OLDROOT.as_bytes().to_vec();
    for c in path.as_bytes() {
        if matches!(c, b'\\' | b',' | b':') {
            out.push(b'\\');
        }
        out.push(*c);
    }
    out
}

/// overlayfs options: upper/work dirs if any, then lower dirs top first, then `userxattr`.
pub(crate) fn options(sources: &[OsString], kind: &OverlayKind) -> Vec<u8> {
    let (upper, work) = match kind {
        OverlayKind::Writable { upper, work } => (host(upper), host(work)),
        OverlayKind::Tmp(n) => (tmp_upper(*n).into_bytes(), tmp_work(*n).into_bytes()),
        OverlayKind::ReadOnly => (Vec::new(), Vec::new()),
    };
    let mut opts = Vec::new();
    if !upper.is_empty() {
        opts.extend_from_slice(&[b"upperdir=", &upper[..], b",workdir=", &work[..], b","].concat());
    }
    let lower: Vec<Vec<u8>> = sources.iter().rev().map(host).collect();
    opts.extend_from_slice(&[b"lowerdir=", &lower.join(&b':')[..], b",userxattr"].concat());
    opts
}

/// Mounts the overlay on `target`.
pub(crate) fn mount_overlay(
    sources: &[OsString],
    kind: &OverlayKind,
    target: &super::dest::Dest,
) -> Result<(), SetupError> {
    let opts = options(sources, kind);
    let shown = format!(
        "Can't make overlay mount on {} with options {}",
        target.shown(),
        String::from_utf8_lossy(&opts)
    );
    match mount(
        Some("overlay"),
        &target.at,
        Some("overlay"),
        MsFlags::MS_MGC_VAL,
        Some(&opts[..]),
    ) {
        Ok(()) => Ok(()),
        Err(Errno::ELOOP) => Err(SetupError::msg(format!(
            "{shown}: Overlay directories may not overlap"
        ))),
        Err(e) => Err(SetupError::mount(shown, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_dirs_are_reversed_and_escaped() {
        let sources = vec![OsString::from("/a"), OsString::from("/b,c:d\\e")];
        let kind = OverlayKind::Writable {
            upper: "/u".into(),
            work: "/w".into(),
        };
        assert_eq!(
            String::from_utf8(options(&sources, &kind)).unwrap(),
            "upperdir=/oldroot/u,workdir=/oldroot/w,lowerdir=/oldroot/b\\,c\\:d\\\\e:/oldroot/a,userxattr"
        );
        assert_eq!(
            String::from_utf8(options(&sources[..1], &OverlayKind::Tmp(0))).unwrap(),
            "upperdir=/tmp-overlay-upper-0,workdir=/tmp-overlay-work-0,lowerdir=/oldroot/a,userxattr"
        );
    }
}
