//! File actions: read, write, stat and walk paths.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use crate::{Dispatched, Outcome, args, fail};

/// Runs a file action, or returns `None` if `action` is not one.
pub fn dispatch(action: &str, rest: &[&str]) -> Dispatched {
    let a = action;
    Some(match action {
        "read" => args::<1>(a, rest).map(|[p]| read(p)),
        "write" => args::<2>(a, rest).map(|[p, t]| write(p, t, false)),
        "append" => args::<2>(a, rest).map(|[p, t]| write(p, t, true)),
        "mkdir" => args::<1>(a, rest).map(|[p]| fs::create_dir(p).map_err(|e| fail(a, p, e))),
        "remove" => args::<1>(a, rest).map(|[p]| remove(p)),
        "rename" => args::<2>(a, rest).map(|[f, t]| fs::rename(f, t).map_err(|e| fail(a, f, e))),
        "symlink" => args::<2>(a, rest).map(|[t, l]| symlink(t, l).map_err(|e| fail(a, l, e))),
        "stat" => args::<1>(a, rest).map(|[p]| stat(p)),
        "exists" => args::<1>(a, rest).map(|[p]| {
            fs::symlink_metadata(p)
                .map(|_| println!("exists: {p}"))
                .map_err(|e| fail(a, p, e))
        }),
        "list" => args::<1>(a, rest).map(|[p]| list(p)),
        "statfs" => args::<1>(a, rest).map(|[p]| statfs(p)),
        "read-all" => args::<1>(a, rest).map(|[p]| read_all(p)),
        _ => return None,
    })
}

fn read(path: &str) -> Outcome {
    let bytes = fs::read(path).map_err(|e| fail("read", path, e))?;
    std::io::stdout()
        .write_all(&bytes)
        .map_err(|e| fail("read", "stdout", e))
}

fn write(path: &str, text: &str, append: bool) -> Outcome {
    let action = if append { "append" } else { "write" };
    let mut file = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| fail(action, path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| fail(action, path, e))?;
    println!("wrote: {path}");
    Ok(())
}

fn remove(path: &str) -> Outcome {
    let meta = fs::symlink_metadata(path).map_err(|e| fail("remove", path, e))?;
    let result = if meta.is_dir() {
        fs::remove_dir(path)
    } else {
        fs::remove_file(path)
    };
    result.map_err(|e| fail("remove", path, e))?;
    println!("removed: {path}");
    Ok(())
}

fn stat(path: &str) -> Outcome {
    let meta = fs::symlink_metadata(path).map_err(|e| fail("stat", path, e))?;
    let kind = if meta.file_type().is_symlink() {
        "symlink"
    } else if meta.is_dir() {
        "dir"
    } else if meta.is_file() {
        "file"
    } else {
        "other"
    };
    println!(
        "type: {kind}\nmode: {:04o}\nsize: {}\nuid: {}\nnlink: {}\ndev: {}",
        meta.mode() & 0o7777,
        meta.size(),
        meta.uid(),
        meta.nlink(),
        meta.dev()
    );
    Ok(())
}

/// Prints the filesystem type (tmpfs or its magic number) and its total size in bytes.
fn statfs(path: &str) -> Outcome {
    let st = nix::sys::statfs::statfs(path).map_err(|e| fail("statfs", path, e))?;
    let kind = if st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC {
        "tmpfs".to_owned()
    } else {
        format!("{:#x}", st.filesystem_type().0)
    };
    let size = st.blocks() as u128 * st.block_size() as u128;
    println!("type: {kind}\nsize: {size}");
    Ok(())
}

fn list(path: &str) -> Outcome {
    let mut names: Vec<String> = fs::read_dir(path)
        .map_err(|e| fail("list", path, e))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| fail("list", path, e))?;
    names.sort();
    for name in names {
        println!("{name}");
    }
    Ok(())
}

/// Reads every file below `dir` (following symlinks, like a careless tool would), printing
/// `PATH: CONTENTS`; unreadable entries are reported on stderr and the walk goes on.
fn read_all(dir: &str) -> Outcome {
    fs::read_dir(dir).map_err(|e| fail("read-all", dir, e))?;
    walk(Path::new(dir), 0);
    Ok(())
}

fn walk(dir: &Path, depth: usize) {
    const MAX_DEPTH: usize = 32;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return eprintln!("probe: read-all {}: {e}", dir.display()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() && depth < MAX_DEPTH => walk(&path, depth + 1),
            Ok(m) if m.is_file() => match fs::read(&path) {
                Ok(bytes) => println!("{}: {}", path.display(), String::from_utf8_lossy(&bytes)),
                Err(e) => eprintln!("probe: read-all {}: {e}", path.display()),
            },
            Ok(_) => {}
            Err(e) => eprintln!("probe: read-all {}: {e}", path.display()),
        }
    }
}
