//! Issue 10, break 5: removing a run's placeholders after the command ends must act only on
//! the very entries the run created, even when the command replaced one of their parent
//! directories with a symlink to somewhere else.

mod common;

use common::attack::{check_every_target, diff, policy_with, snapshot};
use common::*;

#[test]
fn placeholder_cleanup_does_not_follow_a_parent_swapped_for_a_symlink() {
    check_every_target(|t| {
        let f = Fixture::new();
        f.write("sub/kept.txt", "kept\n");
        // The user's own other directory, with an empty file and an empty directory named
        // like the placeholders.
        let elsewhere = f.aux().join("elsewhere");
        std::fs::create_dir_all(elsewhere.join("cache")).unwrap();
        std::fs::write(elsewhere.join("ghost.txt"), "").unwrap();
        let policy = policy_with(
            &f,
            "p.toml",
            &[("sub/ghost.txt", "none"), ("sub/cache", "none")],
        );
        f.give_to(t.user);
        let before = snapshot(&elsewhere);
        let script = format!(
            "echo RAN; test -e sub/ghost.txt && test -e sub/cache && echo MASKED; \
             mv sub sub.x && ln -s {} sub && echo SWAPPED; true",
            elsewhere.display()
        );
        let out = run_sh(t, &f, Some(&policy), &script);
        assert_ok(&out, t);
        assert!(out.stdout.contains("RAN"), "[{}] {out:?}", t.label);
        let changed = diff(&before, &snapshot(&elsewhere));
        assert!(
            changed.is_empty(),
            "[{}] cleanup changed {} (command said {:?}): {changed:?}",
            t.label,
            elsewhere.display(),
            out.stdout
        );
        let left: Vec<_> = snapshot(&f.ws())
            .into_keys()
            .filter(|p| p.ends_with("ghost.txt") || p.ends_with("cache"))
            .collect();
        assert!(
            left.is_empty(),
            "[{}] placeholders left in the workspace (command said {:?}): {left:?}",
            t.label,
            out.stdout
        );
    });
}
