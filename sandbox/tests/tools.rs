//! Everyday tools under the built-in default policy: temporary files with `$TMPDIR` unset
//! (`mktemp`, `sort` spill files, Node's `os.tmpdir()`), Node's `child_process` helpers
//! (which shut down one end of a socketpair), `DIR/**` policy keys, missing `.aws`, and what
//! still fails by design (Python's forkserver needs `bind`/`connect`).

mod common;

use std::path::Path;

use common::*;

const NODE: &str = "/usr/bin/node";

/// Each target's runs get `TMPDIR` removed (root) or the environment reset (bwraptest),
/// so `/tmp` is the only temporary directory the tools see.
#[test]
fn temporary_files_work_in_slash_tmp_with_tmpdir_unset() {
    for_each_target(|t| {
        let f = Fixture::new();
        let marker = format!("sbx-tools-{}", std::process::id());
        let script = format!(
            "test -z \"$TMPDIR\" || {{ echo TMPDIR set; exit 9; }}; \
             m=$(mktemp) && echo data > \"$m\" && echo MKTEMP_OK && rm \"$m\"; \
             seq 200000 | sort -r -S 64K -T /tmp | tail -1; \
             echo x > /tmp/{marker} && echo SLASH_TMP_WRITE && rm /tmp/{marker}"
        );
        let out = run_sh(t, &f, None, &script);
        assert_ok(&out, t);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines,
            ["MKTEMP_OK", "1", "SLASH_TMP_WRITE"],
            "[{}] {out:?}",
            t.label
        );
        assert!(!Path::new("/tmp").join(&marker).exists());
    });
}

#[test]
fn no_writable_tmp_makes_slash_tmp_read_only_again() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let out = sandbox(
            t,
            "run",
            &[
                "--no-writable-tmp",
                "--cwd",
                f.ws().to_str().unwrap(),
                "--",
                "sh",
                "-c",
                "mktemp 2>&1; echo ws > inside && echo WS_WRITE",
            ],
        );
        assert_ok(&out, t);
        assert!(
            out.stdout.contains("Read-only file system") && out.stdout.contains("WS_WRITE"),
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn node_temp_dirs_and_child_process_helpers_work() {
    if !Path::new(NODE).exists() {
        return skip(format!("{NODE} is not installed"));
    }
    let script = r#"
const cp = require("child_process"), fs = require("fs"), os = require("os"), path = require("path");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-"));
fs.writeFileSync(path.join(dir, "f"), "x");
fs.rmSync(dir, { recursive: true });
console.log("mkdtemp=" + os.tmpdir());
console.log("execSync=" + cp.execSync("echo a").toString().trim());
console.log("execFileSync=" + cp.execFileSync("/bin/echo", ["b"]).toString().trim());
const r = cp.spawnSync("cat", { input: "c" });
console.log("spawnSync=" + r.stdout + " status=" + r.status);
"#;
    for_each_target(|t| {
        let f = Fixture::new();
        let js = f.policy("t.js", script);
        let out = run_sh(t, &f, None, &format!("{NODE} {}", js.display()));
        assert_ok(&out, t);
        assert_eq!(
            out.stdout.lines().collect::<Vec<_>>(),
            [
                "mkdtemp=/tmp",
                "execSync=a",
                "execFileSync=b",
                "spawnSync=c status=0"
            ],
            "[{}] {out:?}",
            t.label
        );
    });
}

/// Documented limit: `bind`/`connect` stay denied in restricted mode, so Python's
/// forkserver (and `multiprocessing.Manager()`) cannot start; `Pool` with fork works.
#[test]
fn python_forkserver_still_fails_and_fork_pool_works() {
    let script = r#"
import multiprocessing as mp, sys
def sq(x): return x * x
if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as p:
        print("fork_pool=" + str(sum(p.map(sq, range(4)))))
    try:
        with mp.get_context("forkserver").Pool(1) as p:
            print("forkserver=" + str(p.map(sq, [3])))
    except OSError as e:
        print("forkserver_errno=" + str(e.errno))
"#;
    for_each_target(|t| {
        let f = Fixture::new();
        let py = f.policy("mp.py", script);
        let out = run_sh(t, &f, None, &format!("python3 {}", py.display()));
        assert_ok(&out, t);
        assert_eq!(
            out.stdout.lines().collect::<Vec<_>>(),
            ["fork_pool=14", "forkserver_errno=1"],
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn trailing_globstar_keys_mean_the_subtree() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("docs/a/readme", "doc\n");
        f.write("out/keep", "");
        let policy = f.policy(
            "p.toml",
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\
             \"docs/**\" = \"read\"\n\"out/**\" = \"write\"\n\
             \".git\" = \"write\"\n\".codex\" = \"write\"\n\".agents\" = \"write\"\n\".aws\" = \"write\"\n",
        );
        let out = run_sh(
            t,
            &f,
            Some(&policy),
            "cat docs/a/readme; echo x > docs/a/new 2>/dev/null && echo DOCS_WRITE; \
             echo x > out/new && echo OUT_WRITE; echo x > top && echo TOP_WRITE",
        );
        assert_ok(&out, t);
        assert_eq!(
            out.stdout.lines().collect::<Vec<_>>(),
            ["doc", "OUT_WRITE", "TOP_WRITE"],
            "[{}] {out:?}",
            t.label
        );
        assert!(!f.ws().join("docs/a/new").exists());
    });
}

#[test]
fn missing_aws_under_a_writable_root_cannot_be_created() {
    for_each_target(|t| {
        let f = Fixture::new();
        let out = run_sh(
            t,
            &f,
            None,
            "mkdir .aws 2>/dev/null && echo AWS_MKDIR; touch .aws/credentials 2>/dev/null \
             && echo AWS_WRITE; echo ok > file && echo FILE_WRITE",
        );
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "FILE_WRITE", "[{}] {out:?}", t.label);
        assert!(!f.ws().join(".aws").exists(), "[{}] .aws left", t.label);
    });
}

#[test]
fn the_command_is_told_it_runs_sandboxed() {
    for_each_target(|t| {
        let f = Fixture::new();
        let enabled = f.policy(
            "enabled.toml",
            "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n[network]\nmode = \"enabled\"\n",
        );
        let show = "echo \"$SANDBOX_ACTIVE $SANDBOX_ENFORCER $SANDBOX_NETWORK \
                    $SANDBOX_WRITABLE_ROOTS ${CODEX_SANDBOX_NETWORK_DISABLED:-unset}\"";
        let ws = f.ws().display().to_string();
        for (policy, want) in [
            // The fixture's workspace is inside /tmp, one writable tree.
            (None, "1 bwrap restricted /tmp 1".to_owned()),
            (
                Some(enabled.as_path()),
                format!("1 bwrap enabled {ws} unset"),
            ),
        ] {
            let out = run_sh(t, &f, policy, show);
            assert_ok(&out, t);
            assert_eq!(out.stdout.trim(), want, "[{}] {out:?}", t.label);
        }
    });
}

/// bwrap failing on a protected-metadata mount point in a workspace owned by another user
/// (the message bwrap gives when it has to create one there and may not: `sandbox` now
/// creates mount points itself, so a wrapper around the real bwrap fails the same way for
/// every run in this workspace). The `sandbox:` line traces bwrap's path to the policy
/// entry and the fix.
#[test]
fn a_bwrap_failure_names_the_policy_element_and_the_fix() {
    for_each_target(|t| {
        if t.user != User::Root {
            return;
        }
        let f = Fixture::new();
        f.give_to(User::Test);
        let ws = f.ws();
        let marker = ws.join("ran");
        let failing = f.aux().join("failing-bwrap");
        std::fs::write(
            &failing,
            format!(
                "#!/bin/sh\ncase \"$*\" in *{ws}*) echo \"bwrap: Can't mkdir {ws}/.agents: Permission denied\" >&2; exit 1;; esac\nexec {real} \"$@\"\n",
                ws = ws.display(),
                real = t.bwrap.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &failing,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let out = sandbox(
            t,
            "run",
            &[
                "--bwrap",
                failing.to_str().unwrap(),
                "--cwd",
                ws.to_str().unwrap(),
                "--",
                "touch",
                marker.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status, 125, "[{}] {out:?}", t.label);
        assert!(!marker.exists(), "[{}] the command ran", t.label);
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("sandbox:"))
            .unwrap_or_default();
        for needle in [
            "is protected metadata of the writable root from policy entry `:workspace_roots`",
            "Permission denied",
            "owned by uid",
            "fix:",
        ] {
            assert!(line.contains(needle), "[{}] {needle}: {out:?}", t.label);
        }
        // bwrap's own message is still shown, and a command's stderr still reaches ours.
        assert!(out.stderr.contains("bwrap: "), "[{}] {out:?}", t.label);
        let ok = run_sh(t, &f, None, "echo to-stderr >&2");
        assert_ok(&ok, t);
        assert_eq!(ok.stderr, "to-stderr\n", "[{}] {ok:?}", t.label);
    });
}

#[test]
fn verbose_and_explain_plain_describe_the_plan_per_entry() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws().display().to_string();
        let plain = sandbox(t, "explain", &["--plain", "--cwd", &ws, "--", "true"]);
        assert_ok(&plain, t);
        let run = sandbox(t, "run", &["--verbose", "--cwd", &ws, "--", "true"]);
        assert_ok(&run, t);
        for needle in [
            ":slash_tmp:\n  /tmp is writable".to_owned(),
            format!(":workspace_roots:\n  {ws} is writable"),
            format!("  {ws}/.aws is read-only as protected metadata (missing"),
            "network restricted:".to_owned(),
            "environment SANDBOX_ACTIVE=1".to_owned(),
        ] {
            assert!(
                plain.stdout.contains(&needle),
                "[{}] {needle}: {plain:?}",
                t.label
            );
            let verbose = needle.replace('\n', "\nsandbox: plan: ");
            assert!(
                run.stderr.contains(&verbose),
                "[{}] {verbose}: {run:?}",
                t.label
            );
        }
    });
}
