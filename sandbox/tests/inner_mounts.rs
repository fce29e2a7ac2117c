//! The inner stage's mounts: masks are applied inside the sandbox, and a target that
//! changed between the plan and the launch stops the run before the command starts.
//!
//! The change is made by a wrapper given as `--bwrap`: on the real start (the one with
//! `--info-fd`) it waits until the mount list is there to read (the plan is complete: with
//! deny globs bwrap starts while they are still being expanded, see `run::early`), swaps
//! the planned file for another one, then runs the real bwrap.

mod common;

use common::*;

const POLICY: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"**/*.env\" = \"none\"\n";

/// A `--bwrap` wrapper that runs `swap` (a shell snippet) before the real start, once the
/// mount list can be read on its descriptor (6; perl's `select` waits without reading).
fn wrapper(f: &Fixture, t: &Target, swap: &str) -> std::path::PathBuf {
    let path = f.aux().join("bwrap-wrapper");
    let wait = "perl -e 'vec($r, 6, 1) = 1; select($r, undef, undef, undef)'";
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *\" --info-fd \"*) {wait} && {swap} ;; esac\nexec {} \"$@\"\n",
        t.bwrap.display()
    );
    write_executable(&path, &script);
    path
}

fn run_with(t: &Target, f: &Fixture, bwrap: &std::path::Path, script: &str) -> Output {
    let policy = f.aux().join("p.toml");
    let mut c = command_as(t.user, sandbox_bin());
    c.arg("run")
        .arg("--bwrap")
        .arg(bwrap)
        .arg("--policy")
        .arg(&policy)
        .arg("--cwd")
        .arg(f.ws())
        .args(["--", "sh", "-c", script]);
    to_output(c.output().unwrap())
}

#[test]
fn masks_are_applied_by_the_inner_stage() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("d/a.env", "SECRET");
        f.write("keep.txt", "KEEP");
        f.policy("p.toml", POLICY);
        f.give_to(t.user);
        let plain = wrapper(&f, t, "true");
        let out = run_with(t, &f, &plain, "cat d/a.env 2>&1; cat keep.txt; touch ran");
        assert_ok(&out, t);
        assert!(out.stdout.contains("KEEP"), "[{}] {out:?}", t.label);
        assert!(!out.stdout.contains("SECRET"), "[{}] {out:?}", t.label);
        assert!(
            f.ws().join("ran").exists(),
            "[{}] positive control",
            t.label
        );
        let explain = sandbox(
            t,
            "explain",
            &[
                "--policy",
                f.aux().join("p.toml").to_str().unwrap(),
                "--cwd",
                f.ws().to_str().unwrap(),
                "--",
                "true",
            ],
        );
        assert_ok(&explain, t);
        let a_env = f.ws().join("d/a.env").display().to_string();
        assert!(
            !explain.stdout.lines().any(|l| l == a_env),
            "[{}] the mask is not a bwrap argument: {}",
            t.label,
            explain.stdout
        );
        assert!(
            explain
                .stderr
                .contains(&format!("# inner: mask-file {a_env}")),
            "[{}] explain lists the inner mount: {}",
            t.label,
            explain.stderr
        );
    });
}

/// Runs a command reading `d/a.env` with a wrapper that runs `swap(ws)` at the start,
/// and asserts the run was refused naming `d/a.env` and that nothing secret was printed.
fn assert_refused_after(swap: impl Fn(&std::path::Path) -> String) {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("d/a.env", "SECRET");
        f.policy("p.toml", POLICY);
        f.give_to(t.user);
        let swapping = wrapper(&f, t, &swap(&f.ws()));
        let out = run_with(t, &f, &swapping, "cat d/a.env; touch ran");
        let env = f.ws().join("d/a.env").display().to_string();
        let needles = ["changed during launch", env.as_str()];
        assert_refused(&out, t, &needles, &f.ws().join("ran"));
        assert!(!out.stdout.contains("SECRET"), "[{}] {out:?}", t.label);
        assert!(!out.stdout.contains("REPLACED"), "[{}] {out:?}", t.label);
    });
}

#[test]
fn a_target_replaced_during_launch_stops_the_run() {
    assert_refused_after(|ws| {
        let env = ws.join("d/a.env");
        format!("mv {0} {0}.orig && echo REPLACED > {0}", env.display())
    });
}

#[test]
fn a_target_turned_into_a_symlink_during_launch_stops_the_run() {
    assert_refused_after(|ws| {
        let d = ws.join("d");
        format!("mv {0} {0}.orig && ln -s {0}.orig {0}", d.display())
    });
}

/// Many matches: `d<NN>/s<N>.env` secrets and `d<NN>/k<N>.txt` files to keep, in
/// directories that do not match whole (so each secret is a mask of its own).
fn many_matches(f: &Fixture) -> Vec<String> {
    let mut secrets = Vec::new();
    for d in 0..30 {
        for n in 0..4 {
            let rel = format!("d{d:02}/s{n}.env");
            f.write(&rel, &format!("SECRET-{d}-{n}"));
            secrets.push(rel);
            f.write(&format!("d{d:02}/k{n}.txt"), "KEEP");
        }
    }
    secrets
}

#[test]
fn many_masks_are_all_in_place_and_the_rest_stays_readable() {
    for_each_target(|t| {
        let f = Fixture::new();
        many_matches(&f);
        f.policy("p.toml", POLICY);
        f.give_to(t.user);
        let plain = wrapper(&f, t, "true");
        let script = "cat d*/*.env 2>/dev/null; grep -l KEEP d*/k*.txt | wc -l; touch ran";
        let out = run_with(t, &f, &plain, script);
        assert_ok(&out, t);
        assert!(!out.stdout.contains("SECRET"), "[{}] {out:?}", t.label);
        assert_eq!(out.stdout.trim(), "120", "[{}] {out:?}", t.label);
        assert!(
            f.ws().join("ran").exists(),
            "[{}] positive control",
            t.label
        );
        // Under a low descriptor limit they are all mounted the same (the stage holds a
        // few descriptors at a time, not one per mask).
        f.policy("p.toml", &format!("{POLICY}\n[limits]\nopen_files = 48\n"));
        let limited = run_with(t, &f, &plain, "cat d*/*.env 2>/dev/null; touch ran2");
        assert_ok(&limited, t);
        assert!(
            !limited.stdout.contains("SECRET"),
            "[{}] {limited:?}",
            t.label
        );
        assert!(
            f.ws().join("ran2").exists(),
            "[{}] positive control",
            t.label
        );
    });
}

#[test]
fn a_target_replaced_among_many_stops_the_run() {
    for_each_target(|t| {
        let f = Fixture::new();
        let secrets = many_matches(&f);
        f.policy("p.toml", POLICY);
        f.give_to(t.user);
        // Late in the list: 97 masks are in place when the swapped target is reached.
        let victim = f.ws().join(&secrets[97]);
        let swap = format!("mv {0} {0}.orig && echo REPLACED > {0}", victim.display());
        let swapping = wrapper(&f, t, &swap);
        let out = run_with(t, &f, &swapping, "cat d*/*.env; touch ran");
        let victim = victim.display().to_string();
        let needles = ["changed during launch", victim.as_str()];
        assert_refused(&out, t, &needles, &f.ws().join("ran"));
        assert!(!out.stdout.contains("SECRET"), "[{}] {out:?}", t.label);
        assert!(!out.stdout.contains("REPLACED"), "[{}] {out:?}", t.label);
    });
}

#[test]
fn the_callers_umask_reaches_the_command() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("d/a.env", "SECRET");
        f.policy("p.toml", POLICY);
        f.give_to(t.user);
        let policy = f.aux().join("p.toml");
        let mut c = command_as(t.user, "sh");
        c.args(["-c", "umask 027 && exec \"$@\"", "sh", sandbox_bin(), "run"])
            .arg("--bwrap")
            .arg(&t.bwrap)
            .arg("--policy")
            .arg(&policy)
            .arg("--cwd")
            .arg(f.ws())
            .args([
                "--",
                "sh",
                "-c",
                "cat d/a.env 2>/dev/null; umask; touch made",
            ]);
        let out = to_output(c.output().unwrap());
        assert_ok(&out, t);
        assert!(!out.stdout.contains("SECRET"), "[{}] {out:?}", t.label);
        assert_eq!(out.stdout.trim(), "0027", "[{}] {out:?}", t.label);
        let mode = std::fs::metadata(f.ws().join("made"))
            .unwrap()
            .permissions();
        let mode = std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777;
        assert_eq!(mode, 0o640, "[{}] {out:?}", t.label);
    });
}
