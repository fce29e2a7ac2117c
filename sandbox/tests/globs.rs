//! Deny globs: every match is masked at launch (hidden files, symlink targets, hard
//! links), within the depth cap; too many matches fail closed; a fully matching
//! directory is masked whole. Denied contents never reach the command's output.

mod common;

use common::*;

const ENV_GLOB: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"**/*.env\" = \"none\"\n";

#[test]
fn denied_glob_secret_never_reaches_the_output() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write(".gitignore", ".env\n*.env\n");
        f.write(".env", "SECRET_ROOT");
        f.write("app/.env", "SECRET_APP");
        f.write("app/prod.env", "SECRET_PROD");
        f.write(".hidden/deep/x.env", "SECRET_HIDDEN");
        f.write("notes.txt", "NOTES_VISIBLE");
        let target = f.aux().join("linked-secret.txt");
        std::fs::write(&target, "SECRET_SYMLINK_TARGET").unwrap();
        f.symlink(target.to_str().unwrap(), "app/link.env");
        let h = f.write("h.env", "SECRET_HARDLINK");
        std::fs::hard_link(&h, f.ws().join("innocent.txt")).unwrap();
        let policy = f.policy("p.toml", ENV_GLOB);
        let script = format!(
            "cat .env app/.env app/prod.env .hidden/deep/x.env app/link.env h.env innocent.txt {} 2>&1; \
             grep -r SECRET . 2>&1; cp app/.env copy 2>&1; cat copy 2>&1; \
             echo overwrite > .env 2>&1; cat notes.txt; true",
            target.display()
        );
        let out = run_sh(t, &f, Some(&policy), &script);
        assert_ok(&out, t);
        assert!(
            out.stdout.contains("NOTES_VISIBLE"),
            "[{}] {out:?}",
            t.label
        );
        assert!(
            !out.stdout.contains("SECRET") && !out.stderr.contains("SECRET_"),
            "[{}] {out:?}",
            t.label
        );
        assert_eq!(
            std::fs::read_to_string(f.ws().join(".env")).unwrap(),
            "SECRET_ROOT",
            "masked file was written"
        );
    });
}

#[test]
fn glob_scan_depth_caps_expansion() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write(".env", "SECRET_TOP");
        f.write("a/b/.env", "DEEP_BEYOND_CAP");
        let policy = f.policy("p.toml", &format!("glob_scan_max_depth = 1\n{ENV_GLOB}"));
        let out = run_sh(
            t,
            &f,
            Some(&policy),
            "cat .env 2>/dev/null; cat a/b/.env; true",
        );
        assert_ok(&out, t);
        assert!(!out.stdout.contains("SECRET_TOP"), "[{}] {out:?}", t.label);
        assert!(
            out.stdout.contains("DEEP_BEYOND_CAP"),
            "[{}] the cap is documented: {out:?}",
            t.label
        );
    });
}

#[test]
fn too_many_glob_matches_fail_closed() {
    let f = Fixture::new();
    f.mkdir("many");
    for i in 0..=sandbox::plan::MAX_GLOB_MATCHES {
        std::fs::write(f.ws().join(format!("many/{i}.env")), "").unwrap();
    }
    f.write("many/keep.txt", "k");
    let policy = f.policy("p.toml", ENV_GLOB);
    for_each_target(|t| {
        let out = run_sh(t, &f, Some(&policy), "touch RAN");
        assert_refused(&out, t, &["matched more than"], &f.ws().join("RAN"));
        // bwrap started before the expansion failed: stopped without a word of its own.
        assert!(!out.stderr.contains("inner stage"), "[{}] {out:?}", t.label);
    });
}

#[test]
fn a_glob_that_changes_the_bwrap_line_is_still_masked() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("a/sec/y", "SECRET_DIR");
        f.write("a/sec/pub/x", "PUBLIC");
        let carve_out = f.ws().join("a/sec/pub");
        let policy = f.policy(
            "p.toml",
            &format!(
                "{ENV_GLOB}\"**/sec\" = \"none\"\n\"{}\" = \"read\"\n",
                carve_out.display()
            ),
        );
        let out = run_sh(
            t,
            &f,
            Some(&policy),
            "cat a/sec/y 2>/dev/null; cat a/sec/pub/x; touch a/sec/pub/w 2>/dev/null; true",
        );
        assert_ok(&out, t);
        assert_eq!(out.stdout, "PUBLIC", "[{}] {out:?}", t.label);
        // The start made before the expansion (on a plan that had no mask for a/sec) was
        // stopped silently and the run started again.
        assert_eq!(out.stderr, "", "[{}] {out:?}", t.label);
        assert!(
            !carve_out.join("w").exists(),
            "[{}] read-only carve-out",
            t.label
        );
    });
}

#[test]
fn directory_whose_entries_all_match_is_masked_whole() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("secrets/a.env", "SECRET_A");
        f.write("secrets/b.env", "SECRET_B");
        f.write("mixed/c.env", "SECRET_C");
        f.write("mixed/keep.txt", "KEEP");
        let policy = f.policy("p.toml", ENV_GLOB);
        f.give_to(t.user);
        let ws = f.ws();
        let out = sandbox(
            t,
            "explain",
            &[
                "--json",
                "--policy",
                policy.to_str().unwrap(),
                "--cwd",
                ws.to_str().unwrap(),
                "--",
                "true",
            ],
        );
        assert_ok(&out, t);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let denied: Vec<&str> = json["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["access"] == "none" && r["origin"].as_str().unwrap().starts_with("glob"))
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        let rel = |p: &str| ws.join(p).display().to_string();
        assert!(denied.contains(&rel("secrets").as_str()), "{denied:?}");
        assert!(
            !denied.contains(&rel("secrets/a.env").as_str()),
            "{denied:?}"
        );
        assert!(denied.contains(&rel("mixed/c.env").as_str()), "{denied:?}");
        let run = run_sh(
            t,
            &f,
            Some(&policy),
            "cat secrets/a.env mixed/c.env 2>&1; ls secrets 2>&1; cat mixed/keep.txt; true",
        );
        assert!(
            !run.stdout.contains("SECRET") && run.stdout.contains("KEEP"),
            "[{}] {run:?}",
            t.label
        );
    });
}

#[test]
fn glob_without_a_directory_prefix_is_refused() {
    for_each_target(|t| {
        let f = Fixture::new();
        let policy = f.policy(
            "p.toml",
            "[filesystem]\n\":root\" = \"read\"\n\"/**/*.env\" = \"none\"\n",
        );
        let out = run_sh(t, &f, Some(&policy), "touch RAN");
        assert_refused(&out, t, &["/**/*.env", "fix:"], &f.ws().join("RAN"));
    });
}

#[test]
fn unreadable_directory_in_a_glob_scan_fails_closed() {
    for_each_target(|t| {
        if t.user == User::Root {
            eprintln!(
                "skip [{}]: root reads any directory, so the scan cannot fail",
                t.label
            );
            return;
        }
        let f = Fixture::new();
        f.write("locked/a.env", "SECRET");
        let policy = f.policy("p.toml", ENV_GLOB);
        f.give_to(t.user);
        let locked = f.ws().join("locked");
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
            .unwrap();
        let out = sandbox(
            t,
            "run",
            &[
                "--policy",
                policy.to_str().unwrap(),
                "--cwd",
                f.ws().to_str().unwrap(),
                "--",
                "touch",
                "RAN",
            ],
        );
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        assert_refused(&out, t, &[locked.to_str().unwrap()], &f.ws().join("RAN"));
    });
}
