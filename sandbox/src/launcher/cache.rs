//! Probe answers remembered between runs, so that a run starts one bwrap, not four.
//!
//! Each answer is a file `probe-<name>` in the user's state directory ([`crate::run::state`]) (a directory
//! only that user can write, hidden from the command), holding the key it was computed
//! for on its first line and the answer after it. The key ([`key`]) names everything a
//! probe's answer depends on: the boot, the user and its user namespace, and the bwrap
//! binary (path, device, inode, size, mtime and ctime, which no one can set back), plus
//! what the caller adds (the network mode, the user-namespace sysctls). An answer whose
//! key differs is ignored and probed again.
//!
//! Only answers under which the sandbox is never weaker than without the cache are kept:
//! a forged or stale "this bwrap has every option" or "user namespaces work" makes bwrap
//! fail at the real start (closed), and a "/proc cannot be mounted" only hides `/proc`.
//! After a failed start the caller drops every answer ([`ProbeCache::forget`]).

use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The prefix of every answer's file name.
const PREFIX: &str = "probe-";

/// A directory of remembered probe answers.
#[derive(Debug, Clone)]
pub struct ProbeCache {
    dir: PathBuf,
}

impl ProbeCache {
    /// The answers kept in `dir`, which must be writable by this user only.
    pub fn new(dir: &Path) -> Self {
        ProbeCache {
            dir: dir.to_path_buf(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{PREFIX}{name}"))
    }

    /// The answer stored as `name` for exactly `key`.
    pub fn get(&self, name: &str, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.file(name)).ok()?;
        let (stored, answer) = text.split_once('\n')?;
        (stored == key).then(|| answer.to_owned())
    }

    /// Stores `answer` as `name` for `key` (a single line). Best effort: an answer that
    /// cannot be written is probed again by the next run.
    pub fn put(&self, name: &str, key: &str, answer: &str) {
        let file = self.file(name);
        let temp = file.with_extension(std::process::id().to_string());
        if std::fs::write(&temp, format!("{key}\n{answer}")).is_ok()
            && std::fs::rename(&temp, &file).is_err()
        {
            let _ = std::fs::remove_file(&temp);
        }
    }

    /// Whether an answer is stored as `name`, whatever its key.
    pub fn has(&self, name: &str) -> bool {
        self.file(name).exists()
    }

    /// Drops every stored answer (after a run failed to start).
    pub fn forget(&self) {
        let Ok(list) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in list.flatten() {
            if entry.file_name().as_bytes().starts_with(PREFIX.as_bytes()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The answer to the probe `name`: the one `cache` holds for `key` if `decode` accepts
/// it, else `probe()`'s, which is stored when `encode` gives it a text (only answers that
/// cannot weaken the sandbox should). Without a cache or a key, always `probe()`.
pub fn remembered<T>(
    cache: Option<&ProbeCache>,
    name: &str,
    key: Option<String>,
    decode: impl Fn(&str) -> Option<T>,
    probe: impl FnOnce() -> T,
    encode: impl Fn(&T) -> Option<String>,
) -> T {
    let (Some(cache), Some(key)) = (cache, key) else {
        return probe();
    };
    if let Some(answer) = cache.get(name, &key).as_deref().and_then(&decode) {
        return answer;
    }
    let answer = probe();
    if let Some(text) = encode(&answer) {
        cache.put(name, &key, &text);
    }
    answer
}

/// The key of an answer about the bwrap at `path` (`meta` is its metadata, from the
/// descriptor that is executed when there is one) on this boot, for this user in its user
/// namespace, with `extra` appended. `None` when one of them cannot be read: the probe
/// then runs and its answer is not stored.
pub fn key(path: &Path, meta: &Metadata, extra: &str) -> Option<String> {
    let boot = boot_id()?;
    let userns = std::fs::metadata("/proc/self/ns/user").ok()?;
    let path = path.to_str().filter(|p| !p.contains('\n'))?;
    Some(format!(
        "boot {boot} uid {} userns {}:{} bwrap {path} {}:{} {} {}.{} {}.{} {extra}",
        nix::unistd::geteuid(),
        userns.dev(),
        userns.ino(),
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    ))
}

/// This boot's id, read once per process (a run computes several keys; a process never
/// outlives its boot).
fn boot_id() -> Option<&'static str> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|id| id.trim().to_owned())
    })
    .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some_key(dir: &Path, extra: &str) -> String {
        let bin = dir.join("bwrap");
        if !bin.exists() {
            std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        }
        key(&bin, &std::fs::metadata(&bin).unwrap(), extra).unwrap()
    }

    #[test]
    fn an_answer_is_returned_only_for_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ProbeCache::new(dir.path());
        let key = some_key(dir.path(), "restricted");
        assert_eq!(cache.get("userns", &key), None);
        cache.put("userns", &key, "ok");
        assert_eq!(cache.get("userns", &key).as_deref(), Some("ok"));
        assert_eq!(cache.get("userns", &some_key(dir.path(), "enabled")), None);
        assert_eq!(cache.get("help", &key), None);
        cache.forget();
        assert!(!cache.has("userns"));
        assert_eq!(cache.get("userns", &key), None);
        assert!(
            dir.path().join("bwrap").exists(),
            "only answers are forgotten"
        );
    }

    #[test]
    fn only_encodable_answers_are_stored_and_probed_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ProbeCache::new(dir.path());
        let key = || Some(some_key(dir.path(), ""));
        let decode = |s: &str| s.parse::<u32>().ok();
        let even = |n: &u32| n.is_multiple_of(2).then(|| n.to_string());
        let mut runs = 0;
        let mut ask = |answer: u32| {
            remembered(
                Some(&cache),
                "help",
                key(),
                decode,
                || {
                    runs += 1;
                    answer
                },
                even,
            )
        };
        assert_eq!(ask(3), 3);
        assert!(!cache.has("help"), "an odd answer is not kept");
        assert_eq!(ask(4), 4);
        assert_eq!(ask(5), 4, "the kept answer is used without probing");
        assert_eq!(runs, 2);
        assert_eq!(remembered(None, "help", key(), decode, || 7, even), 7);
    }

    #[test]
    fn replacing_the_binary_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let before = some_key(dir.path(), "");
        // Same path, same size and the mtime set back: the ctime, which only the kernel
        // sets, still differs (after more than one clock tick).
        let bin = dir.path().join("bwrap");
        let mtime = std::fs::metadata(&bin).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::remove_file(&bin).unwrap();
        std::fs::write(&bin, "#!/bin/ash\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&bin)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_ne!(before, some_key(dir.path(), ""));
    }
}
