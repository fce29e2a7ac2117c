//! Filesystem guarantees: read-only except writable roots; narrower entries win in both
//! directions, for directories and files.

mod common;

use common::*;

#[test]
fn filesystem_is_read_only_except_writable_roots() {
    for_each_target(|t| {
        let f = Fixture::new();
        // Outside every writable root: not the workspace, not /tmp (writable by default).
        let host = tempfile::Builder::new()
            .prefix("sbx-outside-")
            .tempdir_in("/var/tmp")
            .unwrap();
        std::fs::set_permissions(
            host.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        let outside = host.path().join("outside");
        let script = format!(
            "echo x > inside && echo WS_WRITE; \
             echo x > {o} 2>/dev/null && echo OUTSIDE_WRITE; \
             touch /usr/sbx-probe 2>/dev/null && echo USR_WRITE; \
             head -c1 /etc/passwd >/dev/null && echo ROOT_READ",
            o = outside.display()
        );
        let out = run_sh(t, &f, None, &script);
        assert_ok(&out, t);
        assert!(
            out.stdout.contains("WS_WRITE") && out.stdout.contains("ROOT_READ"),
            "[{}] {out:?}",
            t.label
        );
        assert!(
            !out.stdout.contains("OUTSIDE_WRITE") && !out.stdout.contains("USR_WRITE"),
            "[{}] {out:?}",
            t.label
        );
        assert!(f.ws().join("inside").exists());
        assert!(!outside.exists());
        assert!(!std::path::Path::new("/usr/sbx-probe").exists());
    });
}

#[test]
fn nested_write_none_write_carveouts_win_for_dirs_and_files() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("repo/x", "x");
        f.write("repo/a/secret", "SECRET_A");
        f.write("repo/a/b/y", "y");
        f.write("repo/a/w.txt", "w");
        f.write("repo/f.txt", "SECRET_F");
        let policy = f.policy(
            "p.toml",
            r#"
[filesystem]
":root" = "read"
"repo" = "write"
"repo/a" = "none"
"repo/a/b" = "write"
"repo/a/w.txt" = "write"
"repo/f.txt" = "none"
"#,
        );
        let script = "\
            echo n > repo/new && echo REPO_WRITE; \
            cat repo/a/secret 2>/dev/null; ls repo/a 2>/dev/null | grep -q secret && echo A_LISTED; \
            echo n > repo/a/new 2>/dev/null && echo A_WRITE; \
            echo n > repo/a/b/new && echo B_WRITE; cat repo/a/b/y && echo; \
            echo more >> repo/a/w.txt && echo WFILE_WRITE; \
            cat repo/f.txt 2>/dev/null; echo n > repo/f.txt 2>/dev/null && echo F_WRITE; \
            echo n > top 2>/dev/null && echo WS_WRITE; true";
        let out = run_sh(t, &f, Some(&policy), script);
        assert_ok(&out, t);
        let s = &out.stdout;
        for want in ["REPO_WRITE", "B_WRITE", "WFILE_WRITE"] {
            assert!(s.contains(want), "[{}] missing {want}: {out:?}", t.label);
        }
        for bad in [
            "SECRET_A", "A_LISTED", "A_WRITE", "SECRET_F", "F_WRITE", "WS_WRITE",
        ] {
            assert!(!s.contains(bad), "[{}] unexpected {bad}: {out:?}", t.label);
        }
        assert!(
            s.contains('y'),
            "[{}] repo/a/b stays readable: {out:?}",
            t.label
        );
        assert_eq!(
            std::fs::read_to_string(f.ws().join("repo/a/w.txt")).unwrap(),
            "wmore\n"
        );
        assert!(f.ws().join("repo/a/b/new").exists());
        assert!(!f.ws().join("repo/a/new").exists());
    });
}

#[test]
fn paths_not_covered_by_any_entry_are_denied() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("data.txt", "DATA_VISIBLE");
        let secret = f.aux().join("secret.txt");
        std::fs::write(&secret, "SECRET_OUTSIDE").unwrap();
        let policy = f.policy(
            "p.toml",
            "[filesystem]\n\":minimal\" = \"read\"\n\":workspace_roots\" = \"read\"\n",
        );
        let script = format!(
            "cat data.txt; cat {} 2>/dev/null; ls /home 2>/dev/null && echo HOME_VISIBLE; true",
            secret.display()
        );
        let out = run_sh(t, &f, Some(&policy), &script);
        assert_ok(&out, t);
        assert!(out.stdout.contains("DATA_VISIBLE"), "[{}] {out:?}", t.label);
        assert!(
            !out.stdout.contains("SECRET_OUTSIDE") && !out.stdout.contains("HOME_VISIBLE"),
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn root_write_policy_runs_and_protects_metadata_only_where_creatable() {
    for_each_target(|t| {
        let f = Fixture::new();
        let policy = f.policy("p.toml", "[filesystem]\n\":root\" = \"write\"\n");
        let out = run_sh(
            t,
            &f,
            Some(&policy),
            "echo x > inside && echo WROTE; mkdir /.git 2>/dev/null && echo GIT_CREATED; true",
        );
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "WROTE", "[{}] {out:?}", t.label);
        for name in sandbox::plan::PROTECTED_NAMES {
            assert!(
                !std::path::Path::new("/").join(name).exists(),
                "[{}] /{name} left behind",
                t.label
            );
        }
    });
}
