//! Protected metadata (`.git` and its `gitdir:` target, `.codex`, `.agents`, `.aws`) under writable
//! roots is read-only and uncreatable; policy paths crossing a writable symlink fail closed.

mod common;

use common::*;

#[test]
fn protected_metadata_is_read_only_and_uncreatable() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write(".git/config", "[core]\n");
        f.write(".aws/credentials", "[default]\n");
        let script = "\
            echo evil >> .git/config 2>/dev/null && echo GIT_WRITE; \
            mkdir .git/hooks2 2>/dev/null && echo GIT_MKDIR; \
            mkdir .codex/x 2>/dev/null && echo CODEX_MKDIR; \
            touch .codex/config.toml 2>/dev/null && echo CODEX_WRITE; \
            touch .agents/a 2>/dev/null && echo AGENTS_WRITE; \
            echo k >> .aws/credentials 2>/dev/null && echo AWS_WRITE; \
            mkdir .aws/sso 2>/dev/null && echo AWS_MKDIR; \
            mv .aws .aws-moved 2>/dev/null && echo AWS_MOVED; \
            rmdir .codex 2>/dev/null && echo CODEX_RMDIR; \
            mv .git .git-moved 2>/dev/null && echo GIT_MOVED; \
            echo ok > file && echo FILE_WRITE";
        let out = run_sh(t, &f, None, script);
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "FILE_WRITE", "[{}] {out:?}", t.label);
        let ws = f.ws();
        assert_eq!(
            std::fs::read_to_string(ws.join(".git/config")).unwrap(),
            "[core]\n"
        );
        assert_eq!(
            std::fs::read_to_string(ws.join(".aws/credentials")).unwrap(),
            "[default]\n"
        );
        assert!(
            !ws.join(".codex").exists() && !ws.join(".agents").exists(),
            "[{}] placeholders left",
            t.label
        );
    });
}

#[test]
fn gitdir_target_of_a_git_file_is_read_only() {
    for_each_target(|t| {
        let f = Fixture::new();
        let store = f.aux().join("store");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        f.write(".git", &format!("gitdir: {}\n", store.display()));
        let policy = f.policy(
            "p.toml",
            &format!(
                "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"{}\" = \"write\"\n",
                f.aux().display()
            ),
        );
        let script = format!(
            "echo x > {aux}/other && echo AUX_WRITE; echo evil > {store}/HEAD 2>/dev/null && echo STORE_WRITE; \
             echo 'gitdir: /tmp' > .git 2>/dev/null && echo GITFILE_WRITE; true",
            aux = f.aux().display(),
            store = store.display()
        );
        let out = run_sh(t, &f, Some(&policy), &script);
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "AUX_WRITE", "[{}] {out:?}", t.label);
        assert_eq!(
            std::fs::read_to_string(store.join("HEAD")).unwrap(),
            "ref: refs/heads/main\n"
        );
    });
}

#[test]
fn symlinked_metadata_fails_closed_naming_the_link() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.mkdir("decoy");
        let link = f.symlink("decoy", ".codex");
        let out = run_sh(t, &f, None, "touch RAN");
        assert_refused(&out, t, &[&link.display().to_string()], &f.ws().join("RAN"));
    });
}

#[test]
fn deny_path_crossing_a_writable_symlink_fails_closed() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("real/secret", "S");
        let link = f.symlink("real", "link");
        let policy = f.policy(
            "p.toml",
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"link/secret\" = \"none\"\n",
        );
        let out = run_sh(t, &f, Some(&policy), "touch RAN");
        assert_refused(&out, t, &[&link.display().to_string()], &f.ws().join("RAN"));
    });
}

#[test]
fn symlinks_outside_writable_roots_are_followed() {
    for_each_target(|t| {
        let f = Fixture::new();
        let real = f.aux().join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("secret"), "SECRET_VIA_LINK").unwrap();
        std::os::unix::fs::symlink(&real, f.aux().join("link")).unwrap();
        let policy = f.policy(
            "p.toml",
            &format!(
                "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"{}/link/secret\" = \"none\"\n",
                f.aux().display()
            ),
        );
        let script = format!(
            "cat {}/secret 2>/dev/null; cat {}/link/secret 2>/dev/null; true",
            real.display(),
            f.aux().display()
        );
        let out = run_sh(t, &f, Some(&policy), &script);
        assert_ok(&out, t);
        assert!(
            !out.stdout.contains("SECRET_VIA_LINK"),
            "[{}] {out:?}",
            t.label
        );
    });
}
