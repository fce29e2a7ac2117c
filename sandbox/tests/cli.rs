//! The command line: bad policy input is refused before anything runs (exit 125, message
//! naming the file, the entry and the fix); JSON policies; `explain`; `--help`/`--version`.

mod common;

use common::*;

/// (policy file name, contents, words the message must contain)
const BAD_POLICIES: &[(&str, &str, &[&str])] = &[
    (
        "unknown-key.toml",
        "colour = \"blue\"\n",
        &["colour", "unknown key", "fix:"],
    ),
    (
        "unknown-access.toml",
        "[filesystem]\n\"/usr\" = \"readwrite\"\n",
        &["filesystem.\"/usr\"", "readwrite", "fix:"],
    ),
    (
        "read-glob.toml",
        "[filesystem]\n\"**/*.env\" = \"read\"\n",
        &["**/*.env", "only deny", "fix:"],
    ),
    (
        "root-glob.toml",
        "[filesystem]\n\"/*.env\" = \"none\"\n",
        &["/*.env", "prefix", "fix:"],
    ),
    (
        "depth-zero.toml",
        "glob_scan_max_depth = 0\n",
        &["glob_scan_max_depth", ">= 1", "fix:"],
    ),
    (
        "malformed.toml",
        "[filesystem\n",
        &["malformed TOML", "fix:"],
    ),
    (
        "malformed.json",
        "{\"filesystem\": ",
        &["malformed JSON", "fix:"],
    ),
    (
        "unknown-special.toml",
        "[filesystem]\n\":home\" = \"read\"\n",
        &[":home", "special", "fix:"],
    ),
    (
        "bad-network.toml",
        "[network]\nmode = \"open\"\n",
        &["network.mode", "fix:"],
    ),
];

#[test]
fn bad_policies_are_refused_before_running() {
    let t = &targets()[0];
    let f = Fixture::new();
    for (name, text, words) in BAD_POLICIES {
        let policy = f.policy(name, text);
        let out = run_sh(t, &f, Some(&policy), "touch RAN");
        let file = policy.display().to_string();
        let needles: Vec<&str> = words.iter().copied().chain([file.as_str()]).collect();
        assert_refused(&out, t, &needles, &f.ws().join("RAN"));
    }
}

#[test]
fn json_policies_are_read_by_extension_or_content() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write("secret.txt", "SECRET_JSON");
        let json = r#"{"filesystem": {":root": "read", ":workspace_roots": "write", "secret.txt": "deny"}, "network": {"mode": "restricted"}}"#;
        for name in ["p.json", "p.policy"] {
            let policy = f.policy(name, json);
            let out = run_sh(
                t,
                &f,
                Some(&policy),
                "cat secret.txt 2>/dev/null; echo ok > w && echo WROTE",
            );
            assert_ok(&out, t);
            assert_eq!(out.stdout.trim(), "WROTE", "[{}] {name}: {out:?}", t.label);
        }
    });
}

#[test]
fn explain_prints_the_exact_argv_without_running() {
    let t = &targets()[0];
    let f = Fixture::new();
    let ws = f.ws();
    let out = sandbox(
        t,
        "explain",
        &["--cwd", ws.to_str().unwrap(), "--", "touch", "RAN"],
    );
    assert_ok(&out, t);
    let argv: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(argv[0], t.bwrap.to_str().unwrap());
    assert_eq!(argv[argv.len() - 2..], ["touch", "RAN"]);
    for flag in [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-net",
        "--new-session",
        "--die-with-parent",
    ] {
        assert!(argv.contains(&flag), "{flag} missing: {argv:?}");
    }
    assert!(!ws.join("RAN").exists());
    let json = sandbox(
        t,
        "explain",
        &[
            "--json",
            "--cwd",
            ws.to_str().unwrap(),
            "--",
            "touch",
            "RAN",
        ],
    );
    assert_ok(&json, t);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let json_argv: Vec<&str> = v["bwrap_argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(json_argv, argv);
    assert_eq!(v["network"], "restricted");
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["access"] == "write" && e["path"] == ws.to_str().unwrap())
    );
}

#[test]
fn help_and_version() {
    let out = to_output(
        std::process::Command::new(sandbox_bin())
            .arg("--help")
            .output()
            .unwrap(),
    );
    assert_eq!(out.status, 0);
    assert!(out.stdout.contains("sandbox run") && out.stdout.contains("sandbox explain"));
    // The defaults and switches of issue 15 are described.
    for needle in [
        "/tmp (\":slash_tmp\")",
        "--no-writable-tmp",
        "--verbose",
        "--plain",
        "--legacy-unprotected-metadata",
        "SANDBOX_WRITABLE_ROOTS",
        "CODEX_SANDBOX_NETWORK_DISABLED=1",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    let doctor = to_output(
        std::process::Command::new(sandbox_bin())
            .args(["doctor", "--json"])
            .output()
            .unwrap(),
    );
    let report: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap();
    let tmp = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "temporary dirs")
        .unwrap_or_else(|| panic!("{report}"));
    let detail = tmp["detail"].as_str().unwrap();
    assert!(
        detail.contains("/tmp") && detail.contains("--no-writable-tmp"),
        "{detail}"
    );
    let out = to_output(
        std::process::Command::new(sandbox_bin())
            .arg("--version")
            .output()
            .unwrap(),
    );
    assert_eq!(out.status, 0);
    assert_eq!(
        out.stdout.trim(),
        format!("sandbox {}", env!("CARGO_PKG_VERSION"))
    );
    let out = to_output(
        std::process::Command::new(sandbox_bin())
            .args(["frobnicate"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.status, 125);
    assert!(out.stderr.starts_with("sandbox:"));
}

#[test]
fn sandbox_failures_exit_125_with_a_message() {
    let t = &targets()[0];
    for args in [
        &["--cwd", "/nonexistent/dir", "--", "true"][..],
        &["--bwrap", "/nonexistent/bwrap", "--", "true"][..],
        &["--bogus", "--", "true"][..],
        &["--"][..],
    ] {
        let out = to_output(
            command_as(t.user, sandbox_bin())
                .arg("run")
                .args(args)
                .output()
                .unwrap(),
        );
        assert_eq!(out.status, 125, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("sandbox:"), "{args:?}: {out:?}");
    }
}
