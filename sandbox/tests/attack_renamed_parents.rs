//! Issue 10, break 1: a protected, denied or read-only path must not lose its protection
//! because the command renames one of its ancestors and puts a copy at the protected name.
//! Each test checks the host state afterwards (the guarantee), not the error the rename got.

mod common;

use std::path::Path;
use std::process::Command;

use common::attack::{check_every_target, policy_with};
use common::*;

/// Runs `git ARGS` on the host as the target's user (so that git trusts the repository
/// exactly as that user's own `git status` would).
fn host_git(t: &Target, ws: &Path, args: &[&str]) -> std::process::Output {
    let mut c = command_as(t.user, "git");
    c.arg("-C").arg(ws).args(args);
    c.output().unwrap()
}

/// Runs `script` in a fixture whose repository `prepare` made (its worktree at `repo`, its
/// config at `config`, both relative to the workspace), then checks that the host's config
/// has no fsmonitor and that the host's `git status` in `repo` runs none.
fn assert_no_planted_fsmonitor(
    t: &Target,
    policy: &[(&str, &str)],
    prepare: fn(&Path),
    (repo, config): (&str, &str),
    script: &str,
) {
    let f = Fixture::new();
    let ws = f.ws();
    prepare(&ws);
    let config = ws.join(config);
    assert!(
        config.is_file(),
        "the git config is at {}",
        config.display()
    );
    let policy = (!policy.is_empty()).then(|| policy_with(&f, "p.toml", policy));
    let script = format!("echo RAN; {script} && echo PLANTED; true");
    let out = run_sh(t, &f, policy.as_deref(), &script);
    assert_ok(&out, t);
    assert!(out.stdout.contains("RAN"), "[{}] {out:?}", t.label);
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    assert!(
        !text.contains("fsmonitor"),
        "[{}] the host's git config {} now has an fsmonitor (command said {:?}):\n{text}",
        t.label,
        config.display(),
        out.stdout
    );
    let status = host_git(t, &ws.join(repo), &["status", "--short"]);
    assert!(
        status.status.success(),
        "[{}] host git status: {status:?}",
        t.label
    );
    assert!(
        !ws.join(repo).join("PWNED").exists(),
        "[{}] the host's git status ran the planted fsmonitor",
        t.label
    );
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(ok.success(), "git {args:?} in {}", dir.display());
}

#[test]
fn renaming_the_parent_of_a_gitdir_does_not_plant_a_host_fsmonitor() {
    check_every_target(|t| {
        assert_no_planted_fsmonitor(
            t,
            &[],
            |ws| {
                std::fs::create_dir(ws.join("meta")).unwrap();
                git(ws, &["init", "-q", "--separate-git-dir=meta/repo.git", "."]);
            },
            (".", "meta/repo.git/config"),
            "mv meta meta.orig && mkdir meta && cp -a meta.orig/repo.git meta/ \
             && git --git-dir=meta/repo.git config core.fsmonitor 'touch PWNED'",
        );
    });
}

#[test]
fn renaming_a_nested_writable_root_does_not_plant_a_host_fsmonitor() {
    check_every_target(|t| {
        assert_no_planted_fsmonitor(
            t,
            &[("sub", "write")],
            |ws| {
                std::fs::create_dir(ws.join("sub")).unwrap();
                git(&ws.join("sub"), &["init", "-q"]);
            },
            ("sub", "sub/.git/config"),
            "mv sub sub.orig && mkdir sub && cp -a sub.orig/.git sub/ \
             && git --git-dir=sub/.git config core.fsmonitor 'touch PWNED'",
        );
    });
}

/// Denied paths (a directory, a file) and the secret file each hides, under `config/`.
const DENIED: [(&str, &str); 2] = [
    ("config/creds", "config/creds/key"),
    ("config/creds.key", "config/creds.key"),
];

#[test]
fn renaming_the_parent_of_a_denied_path_does_not_expose_it_to_the_next_run() {
    check_every_target(|t| {
        for (denied, secret) in DENIED {
            let f = Fixture::new();
            f.write(secret, "SECRET-KEY-7f3a");
            let policy = policy_with(&f, "p.toml", &[(denied, "none")]);
            let first = run_sh(
                t,
                &f,
                Some(&policy),
                "echo RAN; mv config config-moved && echo MOVED; true",
            );
            assert_ok(&first, t);
            assert!(first.stdout.contains("RAN"), "[{}] {first:?}", t.label);
            let moved = secret.replacen("config", "config-moved", 1);
            let second = run_sh(
                t,
                &f,
                Some(&policy),
                &format!("echo RAN2; cat {moved} {secret} 2>/dev/null; true"),
            );
            assert!(
                !second.stdout.contains("SECRET-KEY") && !second.stderr.contains("SECRET-KEY"),
                "[{}] denied {denied}: the next run read the secret of {secret} (at {moved} or {secret}) after `mv config config-moved` (first run: {:?}): {second:?}",
                t.label,
                first.stdout
            );
            // The next run either ran (the protection kept) or refused naming the problem.
            match second.status {
                0 => assert!(second.stdout.contains("RAN2"), "[{}] {second:?}", t.label),
                125 => assert!(
                    second.stderr.starts_with("sandbox:"),
                    "[{}] {second:?}",
                    t.label
                ),
                _ => panic!("[{}] unexpected status: {second:?}", t.label),
            }
        }
    });
}

/// Read-only directories and the commands that rename one of their ancestors, put a copy
/// at the protected name and append to the copy's file.
const READ_ONLY_SWAPS: [(&str, &str); 3] = [
    ("a/ro", "mv a a.orig && mkdir a && cp -a a.orig/ro a/"),
    (
        "a/b/ro",
        "mv a a.orig && mkdir -p a/b && cp -a a.orig/b/ro a/b/",
    ),
    (
        "a/b/ro",
        "mv a/b a/b.orig && mkdir a/b && cp -a a/b.orig/ro a/b/",
    ),
];

#[test]
fn renaming_an_ancestor_of_a_read_only_directory_does_not_change_the_host_file() {
    check_every_target(|t| {
        for (dir, swap) in READ_ONLY_SWAPS {
            let f = Fixture::new();
            let file = f.write(&format!("{dir}/file"), "ORIGINAL\n");
            let policy = policy_with(&f, "p.toml", &[(dir, "read")]);
            let script = format!(
                "echo RAN; echo direct >> {dir}/file 2>/dev/null && echo DIRECT_WRITE; \
                 {swap} && echo EVIL >> {dir}/file && echo WROTE; true"
            );
            let out = run_sh(t, &f, Some(&policy), &script);
            assert_ok(&out, t);
            assert!(out.stdout.contains("RAN"), "[{}] {out:?}", t.label);
            assert!(
                !out.stdout.contains("DIRECT_WRITE"),
                "[{}] {out:?}",
                t.label
            );
            assert_eq!(
                std::fs::read_to_string(&file).ok().as_deref(),
                Some("ORIGINAL\n"),
                "[{}] `{swap}` changed the host's {} (command said {:?})",
                t.label,
                file.display(),
                out.stdout
            );
        }
    });
}
