//! Unit tests of the plan: ordering, masks, placeholders, metadata, globs, symlinks.

use super::*;
use crate::policy::Policy;
use std::fs;
use std::path::Path;

const EMPTY: &str = "/EMPTY";

fn plan_with(root: &Path, toml: &str, options: PlanOptions) -> Result<Plan, PlanError> {
    let policy = Policy::parse(toml, "test.toml").unwrap();
    let resolved = policy.resolve(root, None).unwrap();
    build(&resolved, &options)
}

fn plan(root: &Path, toml: &str) -> Plan {
    let options = PlanOptions {
        empty_file: EMPTY.into(),
        ..PlanOptions::default()
    };
    plan_with(root, toml, options).unwrap()
}

fn args(plan: &Plan) -> Vec<String> {
    plan.bwrap_args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// The index of the first occurrence of `tokens` as a contiguous run.
fn pos(args: &[String], tokens: &[&str]) -> usize {
    args.windows(tokens.len())
        .position(|w| w.iter().zip(tokens).all(|(a, b)| a == b))
        .unwrap_or_else(|| panic!("{tokens:?} not in {args:?}"))
}

fn has(args: &[String], tokens: &[&str]) -> bool {
    args.windows(tokens.len())
        .any(|w| w.iter().zip(tokens).all(|(a, b)| a == b))
}

fn tree(paths: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for p in paths {
        let path = root.join(p);
        if p.ends_with('/') {
            fs::create_dir_all(&path).unwrap();
        } else {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "x").unwrap();
        }
    }
    (dir, root)
}

fn s(p: PathBuf) -> String {
    p.display().to_string()
}

#[test]
fn write_none_write_reopens_the_child_after_masking_the_parent() {
    let (_d, r) = tree(&["repo/a/b/"]);
    let p = plan(
        &r,
        "[filesystem]\n\":root\" = \"read\"\n\"repo\" = \"write\"\n\"repo/a\" = \"none\"\n\"repo/a/b\" = \"write\"\n",
    );
    let a = args(&p);
    let (repo, ra, rab) = (
        s(r.join("repo")),
        s(r.join("repo/a")),
        s(r.join("repo/a/b")),
    );
    let bind_repo = pos(&a, &["--bind", &repo, &repo]);
    let mask = pos(&a, &["--perms", "111", "--tmpfs", &ra]);
    let dir = pos(&a, &["--dir", &rab]);
    let bind_b = pos(&a, &["--bind", &rab, &rab]);
    let remount = pos(&a, &["--remount-ro", &ra]);
    assert!(
        bind_repo < mask && mask < dir && dir < bind_b && bind_b < remount,
        "{a:?}"
    );
    // both writable roots get their metadata protected
    assert!(has(&a, &["--tmpfs", &s(r.join("repo/a/b/.git"))]), "{a:?}");
    assert!(has(&a, &["--tmpfs", &s(r.join("repo/.git"))]), "{a:?}");
}

#[test]
fn writable_file_under_a_denied_dir_gets_only_its_parent_created() {
    let (_d, r) = tree(&["repo/a/sub/w.txt"]);
    let p = plan(
        &r,
        "[filesystem]\n\":root\" = \"read\"\n\"repo/a\" = \"none\"\n\"repo/a/sub/w.txt\" = \"write\"\n",
    );
    let a = args(&p);
    let w = s(r.join("repo/a/sub/w.txt"));
    assert!(pos(&a, &["--dir", &s(r.join("repo/a/sub"))]) < pos(&a, &["--bind", &w, &w]));
    assert!(!has(&a, &["--dir", &w]), "{a:?}");
}

#[test]
fn denied_files_and_dirs_are_masked() {
    let (_d, r) = tree(&["ws/f.txt", "ws/d/x"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"f.txt\" = \"none\"\n\"d\" = \"none\"\n",
    );
    let a = args(&p);
    assert!(
        has(&a, &["--ro-bind", EMPTY, &s(ws.join("f.txt"))]),
        "{a:?}"
    );
    assert!(
        has(&a, &["--perms", "000", "--tmpfs", &s(ws.join("d"))]),
        "{a:?}"
    );
    assert!(
        pos(&a, &["--bind", &s(ws.clone()), &s(ws.clone())])
            < pos(&a, &["--tmpfs", &s(ws.join("d"))])
    );
}

#[test]
fn missing_carveouts_become_placeholders_without_touching_the_host() {
    let (_d, r) = tree(&["ws/"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"x/y/secret\" = \"none\"\n\"ro.txt\" = \"read\"\n",
    );
    let a = args(&p);
    for name in PROTECTED_NAMES {
        let path = s(ws.join(name));
        assert!(
            has(
                &a,
                &["--perms", "555", "--tmpfs", &path, "--remount-ro", &path]
            ),
            "{a:?}"
        );
    }
    let (x, ro) = (s(ws.join("x")), s(ws.join("ro.txt")));
    assert!(
        has(&a, &["--perms", "000", "--tmpfs", &x, "--remount-ro", &x]),
        "{a:?}"
    );
    assert!(has(&a, &["--perms", "555", "--tmpfs", &ro]), "{a:?}");
    let mut got = p.placeholders.clone();
    got.sort();
    let mut want: Vec<PathBuf> = [".agents", ".aws", ".codex", ".git", "ro.txt", "x"]
        .iter()
        .map(|n| ws.join(n))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        fs::read_dir(&ws).unwrap().count(),
        0,
        "planning must not create anything"
    );
}

#[test]
fn placeholders_of_other_runs_are_masked_again() {
    let (_d, r) = tree(&["ws/.codex/"]);
    let ws = r.join("ws");
    fs::set_permissions(
        ws.join(".codex"),
        std::os::unix::fs::PermissionsExt::from_mode(crate::placeholder_mark::PLACEHOLDER_MODE),
    )
    .unwrap();
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n",
    );
    assert!(p.placeholders.contains(&ws.join(".codex")));
    assert!(has(
        &args(&p),
        &["--perms", "555", "--tmpfs", &s(ws.join(".codex"))]
    ));
}

#[test]
fn existing_metadata_is_rebound_read_only() {
    let (_d, r) = tree(&["ws/.git/config"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n",
    );
    let git = s(ws.join(".git"));
    assert!(has(&args(&p), &["--ro-bind", &git, &git]));
    assert!(!p.placeholders.contains(&ws.join(".git")));
}

#[test]
fn metadata_protection_never_opens_a_denied_gitdir() {
    let (_d, r) = tree(&["ws/", "area/store/HEAD"]);
    let (ws, area, store) = (r.join("ws"), r.join("area"), r.join("area/store"));
    fs::write(ws.join(".git"), format!("gitdir: {}\n", store.display())).unwrap();
    let toml = format!(
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"{}\" = \"none\"\n",
        area.display()
    );
    let p = plan(&ws, &toml);
    let a = args(&p);
    assert!(
        has(&a, &["--perms", "000", "--tmpfs", &s(area.clone())]),
        "{a:?}"
    );
    assert!(!has(&a, &["--ro-bind", &s(store.clone())]), "{a:?}");
    let git = s(ws.join(".git"));
    assert!(has(&a, &["--ro-bind", &git, &git]), "{a:?}");
}

#[test]
fn read_only_parent_is_reopened_by_a_writable_child() {
    let (_d, r) = tree(&["ws/docs/public/"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"docs\" = \"read\"\n\"docs/public\" = \"write\"\n",
    );
    let a = args(&p);
    let (docs, public) = (s(ws.join("docs")), s(ws.join("docs/public")));
    assert!(pos(&a, &["--ro-bind", &docs, &docs]) < pos(&a, &["--bind", &public, &public]));
}

#[test]
fn redundant_and_missing_writable_entries_emit_nothing() {
    let (_d, r) = tree(&["ws/sub/"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\"/usr\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"sub\" = \"write\"\n\"gone\" = \"write\"\n",
    );
    let a = args(&p);
    assert!(!has(&a, &["--ro-bind", "/usr"]), "{a:?}");
    assert!(!a.contains(&s(ws.join("gone"))), "{a:?}");
    // `sub` emits no bind of its own; its one bind is the pin that keeps its protected
    // metadata (`sub/.git`, ...) from being renamed away with it.
    let sub = s(ws.join("sub"));
    let binds = a
        .windows(3)
        .filter(|w| w == &["--bind", &sub, &sub])
        .count();
    assert_eq!(binds, 1, "{a:?}");
}

#[test]
fn base_layer_follows_the_root_access() {
    let (_d, r) = tree(&["ws/"]);
    let ws = r.join("ws");
    let read = args(&plan(&ws, "[filesystem]\n\":root\" = \"read\"\n"));
    assert_eq!(read[2..5], ["--ro-bind", "/", "/"]);
    let none = args(&plan(&ws, "[filesystem]\n\":minimal\" = \"read\"\n"));
    assert_eq!(none[2..4], ["--tmpfs", "/"]);
    assert!(has(&none, &["--ro-bind", "/usr", "/usr"]), "{none:?}");
    if fs::symlink_metadata("/lib64").is_ok_and(|m| m.file_type().is_symlink()) {
        let target = fs::read_link("/lib64").unwrap();
        assert!(
            has(&none, &["--symlink", target.to_str().unwrap(), "/lib64"]),
            "{none:?}"
        );
    }
    assert!(!has(&none, &["--ro-bind", "/", "/"]));
}

#[test]
fn namespaces_proc_and_network_flags() {
    let (_d, r) = tree(&["ws/"]);
    let ws = r.join("ws");
    let restricted = args(&plan(&ws, "[filesystem]\n\":root\" = \"read\"\n"));
    for flag in [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-net",
        "--new-session",
        "--die-with-parent",
    ] {
        assert!(
            restricted.iter().any(|a| a == flag),
            "{flag}: {restricted:?}"
        );
    }
    assert!(has(&restricted, &["--cap-drop", "ALL"]));
    assert!(has(&restricted, &["--proc", "/proc"]));
    let enabled = args(&plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n[network]\nmode = \"enabled\"\n",
    ));
    assert!(!enabled.iter().any(|a| a == "--unshare-net"));
    let options = PlanOptions {
        proc: ProcMode::Hidden,
        empty_file: EMPTY.into(),
        ..PlanOptions::default()
    };
    let hidden = args(&plan_with(&ws, "[filesystem]\n\":root\" = \"read\"\n", options).unwrap());
    assert!(has(
        &hidden,
        &[
            "--perms",
            "555",
            "--tmpfs",
            "/proc",
            "--remount-ro",
            "/proc"
        ]
    ));
    assert!(!has(&hidden, &["--proc", "/proc"]));
}

#[test]
fn deny_through_a_writable_symlink_fails_closed_naming_the_link() {
    let (_d, r) = tree(&["ws/real/secret"]);
    let ws = r.join("ws");
    std::os::unix::fs::symlink("real", ws.join("link")).unwrap();
    let options = PlanOptions {
        empty_file: EMPTY.into(),
        ..PlanOptions::default()
    };
    let err = plan_with(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"link/secret\" = \"none\"\n",
        options,
    )
    .unwrap_err();
    assert!(err.to_string().contains(&s(ws.join("link"))), "{err}");
}

#[test]
fn glob_matches_become_masks() {
    let (_d, r) = tree(&["ws/.env", "ws/app/x.env", "ws/app/keep.txt"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"**/*.env\" = \"none\"\n",
    );
    let a = args(&p);
    for f in [".env", "app/x.env"] {
        assert!(has(&a, &["--ro-bind", EMPTY, &s(ws.join(f))]), "{f}: {a:?}");
    }
    assert!(!a.contains(&s(ws.join("app/keep.txt"))));
}

#[test]
fn parents_of_protected_and_denied_paths_are_pinned_before_them() {
    let (_d, r) = tree(&["ws/meta/repo.git/", "ws/config/creds/key", "ws/x/y.env"]);
    fs::write(r.join("ws/.git"), "gitdir: meta/repo.git\n").unwrap();
    let p = plan(
        &r,
        "[filesystem]\n\":root\" = \"read\"\n\"ws\" = \"write\"\n\"ws/config/creds\" = \"none\"\n\"**/*.env\" = \"none\"\n",
    );
    let a = args(&p);
    let (meta, config) = (s(r.join("ws/meta")), s(r.join("ws/config")));
    let gitdir = s(r.join("ws/meta/repo.git"));
    let pin = pos(&a, &["--bind", &meta, &meta]);
    assert!(pin < pos(&a, &["--ro-bind", &gitdir, &gitdir]), "{a:?}");
    assert!(pos(&a, &["--bind", &config, &config]) < pos(&a, &[&s(r.join("ws/config/creds"))]));
    let x = s(r.join("ws/x"));
    assert!(
        !has(&a, &["--bind", &x, &x]),
        "glob matches are not pinned: {a:?}"
    );
}

#[test]
fn with_inner_mounts_leaf_masks_leave_bwrap_and_record_their_inode() {
    use super::mounts::{Action, Identity};
    let (_d, r) = tree(&["ws/app/x.env", "ws/.git/config", "ws/open/", "ws/den/w/"]);
    let ws = r.join("ws");
    let toml = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"**/*.env\" = \"none\"\n\"den\" = \"none\"\n\"den/w\" = \"write\"\n";
    let options = PlanOptions {
        empty_file: EMPTY.into(),
        inner_mounts: true,
        ..PlanOptions::default()
    };
    let p = plan_with(&ws, toml, options).unwrap();
    let a = args(&p);
    let ops: Vec<(Action, PathBuf)> = p
        .inner_mounts
        .iter()
        .map(|op| (op.action, op.path.clone()))
        .collect();
    assert!(
        ops.contains(&(Action::MaskFile, ws.join("app/x.env"))),
        "{ops:?}"
    );
    assert!(
        ops.contains(&(Action::ReadOnly, ws.join(".git"))),
        "{ops:?}"
    );
    assert!(ops.contains(&(Action::MaskDir { mode: 0o555 }, ws.join(".codex"))));
    assert!(!has(&a, &[&s(ws.join("app/x.env"))]), "{a:?}");
    let env = p
        .inner_mounts
        .iter()
        .find(|o| o.path == ws.join("app/x.env"));
    assert_eq!(env.unwrap().identity, Identity::of(&ws.join("app/x.env")));
    let codex = p.inner_mounts.iter().find(|o| o.path == ws.join(".codex"));
    assert_eq!(
        codex.unwrap().identity,
        None,
        "a placeholder's comes at acquire"
    );
    // A denied directory with a writable rule beneath stays with bwrap, in order.
    assert!(
        has(&a, &["--perms", "111", "--tmpfs", &s(ws.join("den"))]),
        "{a:?}"
    );
    assert!(a.iter().any(|t| t == "CAP_SYS_ADMIN"), "{a:?}");
}
