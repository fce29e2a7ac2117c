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

/// `--ro-bind src dest`.
fn ro(src: &Path, dest: &Path) -> Op {
    Op::RoBind {
        src: src.into(),
        dest: dest.into(),
    }
}

/// `--remount-ro p`.
fn remount(p: &Path) -> Op {
    Op::RemountRo { dest: p.into() }
}

/// `--dir p`.
fn dir(p: &Path) -> Op {
    Op::Dir { dest: p.into() }
}

/// The index of the first occurrence of `run` as contiguous operations.
fn pos(plan: &Plan, run: &[Op]) -> usize {
    let ops = &plan.ops;
    ops.windows(run.len())
        .position(|w| w == run)
        .unwrap_or_else(|| panic!("{run:?} not in {ops:?}"))
}

fn has(plan: &Plan, run: &[Op]) -> bool {
    plan.ops.windows(run.len()).any(|w| w == run)
}

/// The index of the first operation `is` accepts.
fn pos_where(plan: &Plan, is: impl Fn(&Op) -> bool) -> usize {
    let ops = &plan.ops;
    ops.iter()
        .position(is)
        .unwrap_or_else(|| panic!("no such operation in {ops:?}"))
}

/// Whether some operation has a tmpfs (of any mode) on `p`.
fn has_tmpfs(plan: &Plan, p: &Path) -> bool {
    plan.ops
        .iter()
        .any(|op| matches!(op, Op::Tmpfs { dest, .. } if dest == p))
}

/// Whether some operation names `p` as any of its arguments.
fn mentions(op: &Op, p: &Path) -> bool {
    render([op]).iter().any(|token| token == p.as_os_str())
}

fn mentioned(plan: &Plan, p: &Path) -> bool {
    plan.ops.iter().any(|op| mentions(op, p))
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

#[test]
fn write_none_write_reopens_the_child_after_masking_the_parent() {
    let (_d, r) = tree(&["repo/a/b/"]);
    let p = plan(
        &r,
        "[filesystem]\n\":root\" = \"read\"\n\"repo\" = \"write\"\n\"repo/a\" = \"none\"\n\"repo/a/b\" = \"write\"\n",
    );
    let (repo, ra, rab) = (r.join("repo"), r.join("repo/a"), r.join("repo/a/b"));
    let bind_repo = pos(&p, &[Op::bind(&repo)]);
    let mask = pos(&p, &[Op::tmpfs_with_mode(&ra, 0o111)]);
    let dir = pos(&p, &[dir(&rab)]);
    let bind_b = pos(&p, &[Op::bind(&rab)]);
    let remount = pos(&p, &[remount(&ra)]);
    assert!(
        bind_repo < mask && mask < dir && dir < bind_b && bind_b < remount,
        "{:?}",
        p.ops
    );
    // both writable roots get their metadata protected
    assert!(has_tmpfs(&p, &r.join("repo/a/b/.git")), "{:?}", p.ops);
    assert!(has_tmpfs(&p, &r.join("repo/.git")), "{:?}", p.ops);
}

#[test]
fn writable_file_under_a_denied_dir_gets_only_its_parent_created() {
    let (_d, r) = tree(&["repo/a/sub/w.txt"]);
    let p = plan(
        &r,
        "[filesystem]\n\":root\" = \"read\"\n\"repo/a\" = \"none\"\n\"repo/a/sub/w.txt\" = \"write\"\n",
    );
    let w = r.join("repo/a/sub/w.txt");
    assert!(pos(&p, &[dir(&r.join("repo/a/sub"))]) < pos(&p, &[Op::bind(&w)]));
    assert!(!has(&p, &[dir(&w)]), "{:?}", p.ops);
}

#[test]
fn denied_files_and_dirs_are_masked() {
    let (_d, r) = tree(&["ws/f.txt", "ws/d/x"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"f.txt\" = \"none\"\n\"d\" = \"none\"\n",
    );
    let d = ws.join("d");
    assert!(
        has(&p, &[ro(Path::new(EMPTY), &ws.join("f.txt"))]),
        "{:?}",
        p.ops
    );
    assert!(has(&p, &[Op::tmpfs_with_mode(&d, 0o000)]), "{:?}", p.ops);
    assert!(
        pos(&p, &[Op::bind(&ws)])
            < pos_where(&p, |op| matches!(op, Op::Tmpfs { dest, .. } if *dest == d))
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
    for name in PROTECTED_NAMES {
        assert!(
            has(&p, &Op::read_only_empty_dir(&ws.join(name), 0o555)),
            "{:?}",
            p.ops
        );
    }
    assert!(
        has(&p, &Op::read_only_empty_dir(&ws.join("x"), 0o000)),
        "{:?}",
        p.ops
    );
    assert!(
        has(&p, &Op::read_only_empty_dir(&ws.join("ro.txt"), 0o555)),
        "{:?}",
        p.ops
    );
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
    assert!(has(&p, &[Op::tmpfs_with_mode(&ws.join(".codex"), 0o555)]));
}

#[test]
fn existing_metadata_is_rebound_read_only() {
    let (_d, r) = tree(&["ws/.git/config"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n",
    );
    assert!(has(&p, &[Op::ro_bind(&ws.join(".git"))]));
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
    assert!(has(&p, &[Op::tmpfs_with_mode(&area, 0o000)]), "{:?}", p.ops);
    assert!(
        !p.ops
            .iter()
            .any(|op| matches!(op, Op::RoBind { src, .. } if *src == store)),
        "{:?}",
        p.ops
    );
    assert!(has(&p, &[Op::ro_bind(&ws.join(".git"))]), "{:?}", p.ops);
}

#[test]
fn read_only_parent_is_reopened_by_a_writable_child() {
    let (_d, r) = tree(&["ws/docs/public/"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"docs\" = \"read\"\n\"docs/public\" = \"write\"\n",
    );
    assert!(
        pos(&p, &[Op::ro_bind(&ws.join("docs"))]) < pos(&p, &[Op::bind(&ws.join("docs/public"))])
    );
}

#[test]
fn redundant_and_missing_writable_entries_emit_nothing() {
    let (_d, r) = tree(&["ws/sub/"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\"/usr\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"sub\" = \"write\"\n\"gone\" = \"write\"\n",
    );
    assert!(
        !p.ops
            .iter()
            .any(|op| matches!(op, Op::RoBind { src, .. } if src == Path::new("/usr"))),
        "{:?}",
        p.ops
    );
    assert!(!mentioned(&p, &ws.join("gone")), "{:?}", p.ops);
    // `sub` emits no bind of its own; its one bind is the pin that keeps its protected
    // metadata (`sub/.git`, ...) from being renamed away with it.
    let sub = Op::bind(&ws.join("sub"));
    let binds = p.ops.iter().filter(|op| **op == sub).count();
    assert_eq!(binds, 1, "{:?}", p.ops);
}

#[test]
fn base_layer_follows_the_root_access() {
    let (_d, r) = tree(&["ws/"]);
    let ws = r.join("ws");
    let slash = Path::new("/");
    let read = plan(&ws, "[filesystem]\n\":root\" = \"read\"\n");
    assert_eq!(read.ops[2], Op::ro_bind(slash));
    let none = plan(&ws, "[filesystem]\n\":minimal\" = \"read\"\n");
    let empty_root = Op::Tmpfs {
        dest: slash.into(),
        perms: None,
        size: None,
    };
    assert_eq!(none.ops[2], empty_root);
    assert!(
        has(&none, &[Op::ro_bind(Path::new("/usr"))]),
        "{:?}",
        none.ops
    );
    if fs::symlink_metadata("/lib64").is_ok_and(|m| m.file_type().is_symlink()) {
        let link = Op::Symlink {
            target: fs::read_link("/lib64").unwrap(),
            dest: "/lib64".into(),
        };
        assert!(has(&none, &[link]), "{:?}", none.ops);
    }
    assert!(!has(&none, &[Op::ro_bind(slash)]));
}

#[test]
fn namespaces_proc_and_network_flags() {
    let (_d, r) = tree(&["ws/"]);
    let ws = r.join("ws");
    let restricted = plan(&ws, "[filesystem]\n\":root\" = \"read\"\n");
    let namespaces = [
        Namespace::User,
        Namespace::Pid,
        Namespace::Ipc,
        Namespace::Net,
    ];
    for op in namespaces.map(Op::Unshare).into_iter().chain([
        Op::NewSession,
        Op::DieWithParent,
        Op::CapDropAll,
    ]) {
        assert!(restricted.ops.contains(&op), "{op:?}: {:?}", restricted.ops);
    }
    let fresh_proc = Op::Proc {
        dest: "/proc".into(),
    };
    assert!(restricted.ops.contains(&fresh_proc));
    let enabled = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n[network]\nmode = \"enabled\"\n",
    );
    assert!(!enabled.ops.contains(&Op::Unshare(Namespace::Net)));
    let options = PlanOptions {
        proc: ProcMode::Hidden,
        empty_file: EMPTY.into(),
        ..PlanOptions::default()
    };
    let hidden = plan_with(&ws, "[filesystem]\n\":root\" = \"read\"\n", options).unwrap();
    assert!(has(
        &hidden,
        &Op::read_only_empty_dir(Path::new("/proc"), 0o555)
    ));
    assert!(!hidden.ops.contains(&fresh_proc));
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
    assert!(
        err.to_string()
            .contains(&ws.join("link").display().to_string()),
        "{err}"
    );
}

#[test]
fn glob_matches_become_masks() {
    let (_d, r) = tree(&["ws/.env", "ws/app/x.env", "ws/app/keep.txt"]);
    let ws = r.join("ws");
    let p = plan(
        &ws,
        "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"**/*.env\" = \"none\"\n",
    );
    for f in [".env", "app/x.env"] {
        let mask = ro(Path::new(EMPTY), &ws.join(f));
        assert!(has(&p, &[mask]), "{f}: {:?}", p.ops);
    }
    assert!(!mentioned(&p, &ws.join("app/keep.txt")));
}

#[test]
fn parents_of_protected_and_denied_paths_are_pinned_before_them() {
    let (_d, r) = tree(&["ws/meta/repo.git/", "ws/config/creds/key", "ws/x/y.env"]);
    fs::write(r.join("ws/.git"), "gitdir: meta/repo.git\n").unwrap();
    let p = plan(
        &r,
        "[filesystem]\n\":root\" = \"read\"\n\"ws\" = \"write\"\n\"ws/config/creds\" = \"none\"\n\"**/*.env\" = \"none\"\n",
    );
    let pin = pos(&p, &[Op::bind(&r.join("ws/meta"))]);
    let gitdir = Op::ro_bind(&r.join("ws/meta/repo.git"));
    assert!(pin < pos(&p, &[gitdir]), "{:?}", p.ops);
    let creds = r.join("ws/config/creds");
    assert!(pos(&p, &[Op::bind(&r.join("ws/config"))]) < pos_where(&p, |op| mentions(op, &creds)));
    assert!(
        !has(&p, &[Op::bind(&r.join("ws/x"))]),
        "glob matches are not pinned: {:?}",
        p.ops
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
    assert!(!mentioned(&p, &ws.join("app/x.env")), "{:?}", p.ops);
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
        has(&p, &[Op::tmpfs_with_mode(&ws.join("den"), 0o111)]),
        "{:?}",
        p.ops
    );
    assert!(p.ops.contains(&Op::CapAdd("CAP_SYS_ADMIN")), "{:?}", p.ops);
}
