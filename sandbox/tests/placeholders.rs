//! Masks leave no trace: mount points bwrap creates on the host are removed after the run,
//! also when the command or the sandbox is killed; pre-existing files are never removed;
//! concurrent runs on one workspace do not break each other's masks.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::*;

const MISSING_MASKS: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"missing/deep/secret\" = \"none\"\n\"absent.txt\" = \"read\"\n";

fn listing(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn placeholders_are_removed_after_the_run() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("kept.txt", "k");
        let before = listing(&f.ws());
        let policy = f.policy("p.toml", MISSING_MASKS);
        let script = "test -e .git && test -e .codex && test -e .agents && test -e missing && test -e absent.txt && echo MASKED; \
                      mkdir missing/x 2>/dev/null && echo CREATED; echo y > absent.txt 2>/dev/null && echo WROTE; true";
        let out = run_sh(t, &f, Some(&policy), script);
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "MASKED", "[{}] {out:?}", t.label);
        assert_eq!(
            listing(&f.ws()),
            before,
            "[{}] placeholders left behind",
            t.label
        );
    });
}

#[test]
fn placeholders_are_removed_after_the_command_is_killed() {
    for_each_target(|t| {
        let f = Fixture::new();
        let before = listing(&f.ws());
        let out = run_sh(t, &f, None, "kill -KILL $$");
        assert_eq!(out.status, 128 + 9, "[{}] {out:?}", t.label);
        assert_eq!(
            listing(&f.ws()),
            before,
            "[{}] placeholders left behind",
            t.label
        );
    });
}

#[test]
fn placeholders_are_removed_after_the_sandbox_is_terminated() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        let child = spawn_run(t, &ws, &["sh", "-c", "touch started; exec sleep 30"]);
        wait_for(&ws.join("started"));
        let out = terminate(child);
        assert_eq!(out.status, 128 + 15, "[{}] {out:?}", t.label);
        let left = listing(&ws);
        assert_eq!(
            left,
            ["started".to_string()].into(),
            "[{}] placeholders left behind",
            t.label
        );
    });
}

#[test]
fn pre_existing_empty_files_and_dirs_are_never_removed() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.mkdir(".codex");
        f.write("blocked", "");
        f.write(".agents", "");
        let before = listing(&f.ws());
        let policy = f.policy("p.toml", "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"blocked\" = \"none\"\n");
        let out = run_sh(t, &f, Some(&policy), "true");
        assert_ok(&out, t);
        assert_eq!(
            listing(&f.ws()),
            before,
            "[{}] pre-existing entries changed",
            t.label
        );
    });
}

#[test]
fn concurrent_runs_keep_each_others_masks() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        // A: a long run that checks its .codex mask after B has come and gone.
        let a = spawn_run(
            t,
            &ws,
            &[
                "sh",
                "-c",
                "sleep 1.5; mkdir .codex/x 2>/dev/null && echo A_BROKEN; touch .git/y 2>/dev/null && echo A_BROKEN; echo A_DONE",
            ],
        );
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..3 {
            let b = run_sh(
                t,
                &f,
                None,
                "mkdir .codex/z 2>/dev/null && echo B_BROKEN; echo B_DONE",
            );
            assert_eq!(b.stdout.trim(), "B_DONE", "[{}] {b:?}", t.label);
        }
        let a = to_output(a.wait_with_output().unwrap());
        assert_eq!(a.stdout.trim(), "A_DONE", "[{}] {a:?}", t.label);
        assert!(
            listing(&ws).is_empty(),
            "[{}] left behind: {:?}",
            t.label,
            listing(&ws)
        );
    });
}

#[test]
fn a_killed_sandbox_takes_its_command_along_and_leaves_nothing() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        let child = spawn_run(
            t,
            &ws,
            &["sh", "-c", "touch started; sleep 2; touch survived"],
        );
        wait_for(&ws.join("started"));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let _ = child.wait_with_output();
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !ws.join("survived").exists(),
            "[{}] the command outlived its sandbox",
            t.label
        );
        assert_eq!(
            listing(&ws),
            ["started".to_string()].into(),
            "[{}] the janitor of a SIGKILLed sandbox cleans up",
            t.label
        );
        let out = run_sh(t, &f, None, "true");
        assert_ok(&out, t);
        assert_eq!(
            listing(&ws),
            ["started".to_string()].into(),
            "[{}] stale placeholders left",
            t.label
        );
    });
}
