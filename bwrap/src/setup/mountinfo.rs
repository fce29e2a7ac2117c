//! `/proc/self/mountinfo` reading, only for the fallback on kernels without the new
//! mount API.

use super::fsutil::OLDROOT;
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::statvfs::{FsFlags, statvfs};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Undoes the octal escapes (`\040` etc.) the kernel uses in mountinfo paths.
fn unescape(field: &[u8]) -> PathBuf {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let Some(d) = octal {
            out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Mount points at or below `root`, in mount table order (parents before children).
pub(crate) fn mounts_below(root: &Path) -> Result<Vec<PathBuf>, Errno> {
    let table = std::fs::read(format!("{OLDROOT}/proc/self/mountinfo"))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    let root_bytes = root.as_os_str().as_bytes();
    let mut found: Vec<PathBuf> = table
        .split(|b| *b == b'\n')
        .filter_map(|line| line.split(|b| *b == b' ').nth(4))
        .map(unescape)
        .filter(|mp| {
            let b = mp.as_os_str().as_bytes();
            b == root_bytes
                || (b.starts_with(root_bytes)
                    && (root_bytes == b"/" || b.get(root_bytes.len()) == Some(&b'/')))
        })
        .collect();
    // The last mount on a path covers earlier ones; remounting by path reaches the top one.
    found.dedup();
    Ok(found)
}

/// The per-mount flags of the mount at `path` that a bind remount must keep.
pub(crate) fn current_flags(path: &Path) -> Result<MsFlags, Errno> {
    let st = statvfs(path)?;
    let pairs = [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ];
    Ok(pairs
        .iter()
        .filter(|(fs, _)| st.flags().contains(*fs))
        .fold(MsFlags::empty(), |acc, (_, ms)| acc | *ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape(br"/a\040b\134c"), PathBuf::from("/a b\\c"));
        assert_eq!(unescape(br"/plain"), PathBuf::from("/plain"));
    }
}
