//! `--drop-inner ACTION[:TEXT]`: removes entries from the sandbox's inner-stage mount list,
//! the JSON payload (`{"uid", "gid", "ops": [{"action", "path", "identity"}]}`) that the
//! launcher passes through the descriptor named by the inner stage's `--mounts-fd N`. The
//! shim reads that descriptor, writes the list without the chosen entries into a new memfd
//! and puts it on descriptor N, so the inner stage reads a valid list that silently lacks
//! them. ACTION is the operation as `sandbox explain` prints it (`mask-file`, `mask-dir`,
//! `read-only`); TEXT, when given, must occur in the entry's path.

use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

use serde_json::Value;

use crate::{Failure, Usage, fail};

/// An inner-stage mount to remove: its action and an optional text its path must contain.
pub struct InnerDrop<'a> {
    action: &'a str,
    containing: Option<&'a str>,
}

impl<'a> InnerDrop<'a> {
    /// Parses `ACTION[:TEXT]`.
    pub fn parse(spec: &'a str) -> Result<Self, Usage> {
        let (action, containing) = match spec.split_once(':') {
            Some((a, t)) => (a, Some(t)),
            None => (spec, None),
        };
        if !["mask-file", "mask-dir", "read-only"].contains(&action) {
            return Err(Usage(format!(
                "bwrap-shim: --drop-inner {spec}: want mask-file|mask-dir|read-only[:TEXT]"
            )));
        }
        Ok(Self { action, containing })
    }

    /// Whether the mount list entry `op` is one to remove.
    fn matches(&self, op: &Value) -> bool {
        // Unit variants serialize as "mask_file", the others as {"mask_dir": {...}}.
        let action = match &op["action"] {
            Value::String(name) => Some(name.as_str()),
            Value::Object(fields) => fields.keys().next().map(String::as_str),
            _ => None,
        };
        let path = op["path"].as_str().unwrap_or_default();
        action.is_some_and(|a| a.replace('_', "-") == self.action)
            && self.containing.is_none_or(|t| path.contains(t))
    }
}

/// The descriptor the inner stage reads its mount list from: the value of `--mounts-fd`
/// in the command after `--`, if any.
pub fn mounts_fd(args: &[&str]) -> Option<RawFd> {
    let command = &args[args.iter().position(|a| *a == "--")? + 1..];
    let at = command.iter().position(|a| *a == "--mounts-fd")?;
    command.get(at + 1)?.parse().ok()
}

/// `payload` (the mount list's JSON) without the entries any of `drops` matches.
fn filtered(payload: &[u8], drops: &[InnerDrop<'_>]) -> Result<Vec<u8>, Failure> {
    let mut list: Value =
        serde_json::from_slice(payload).map_err(|e| fail("bwrap-shim", "mount list", e))?;
    let ops = list["ops"]
        .as_array_mut()
        .ok_or_else(|| Failure::Unexpected("bwrap-shim mount list: no ops array".to_owned()))?;
    ops.retain(|op| !drops.iter().any(|d| d.matches(op)));
    serde_json::to_vec(&list).map_err(|e| fail("bwrap-shim", "mount list", e))
}

/// Replaces the mount list on descriptor `fd` with one without the entries `drops` match.
pub fn rewrite(fd: RawFd, drops: &[InnerDrop<'_>]) -> Result<(), Failure> {
    let what = "the --mounts-fd descriptor";
    // SAFETY: the launcher passed this descriptor to bwrap for the inner stage's mount list
    // only; ManuallyDrop keeps it open, as the descriptor is replaced below, not closed.
    let mut old = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let mut payload = Vec::new();
    old.read_to_end(&mut payload)
        .map_err(|e| fail("bwrap-shim", what, e))?;
    let text = filtered(&payload, drops)?;
    let new = nix::sys::memfd::memfd_create(c"shim-mounts", nix::sys::memfd::MFdFlags::empty())
        .map_err(|e| fail("bwrap-shim", "memfd_create", e))?;
    let mut new = std::fs::File::from(new);
    new.write_all(&text)
        .and_then(|()| new.rewind())
        .map_err(|e| fail("bwrap-shim", "the new mount list", e))?;
    // SAFETY: dup2 onto a descriptor this process owns (the old list, closed by it); the
    // copy has no close-on-exec flag, so bwrap and the inner stage inherit it.
    if unsafe { libc::dup2(new.as_raw_fd(), fd) } < 0 {
        return Err(fail("bwrap-shim", "dup2", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_the_chosen_entries_and_keeps_the_list_valid() {
        let list = br#"{"uid":0,"gid":0,"ops":[
            {"action":"mask_file","path":"/w/a.env","identity":null},
            {"action":{"mask_dir":{"mode":365}},"path":"/w/.codex","identity":null},
            {"action":"read_only","path":"/w/.git","identity":null},
            {"action":"read_only","path":"/w/docs","identity":null}]}"#;
        let drops = [
            InnerDrop::parse("mask-file:.env").unwrap(),
            InnerDrop::parse("read-only:/.git").unwrap(),
        ];
        let out: Value = serde_json::from_slice(&filtered(list, &drops).unwrap()).unwrap();
        let paths: Vec<_> = out["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["/w/.codex", "/w/docs"]);
        assert_eq!(out["uid"], 0);
        assert!(
            InnerDrop::parse("mask-dir")
                .unwrap()
                .matches(&out["ops"][0])
        );
        assert!(InnerDrop::parse("bind").is_err());
    }

    #[test]
    fn finds_the_mounts_fd_in_the_command_only() {
        let args = [
            "--mounts-fd",
            "9",
            "--",
            "inner",
            "--mounts-fd",
            "6",
            "--",
            "cmd",
        ];
        assert_eq!(mounts_fd(&args), Some(6));
        assert_eq!(mounts_fd(&["--", "cmd"]), None);
    }
}
