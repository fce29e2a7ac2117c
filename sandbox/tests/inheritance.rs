//! What the command inherits from its caller besides the filesystem view (issue 10):
//! descriptors (only 0, 1, 2 and `--pass-fd`), the session keyring (denied), the
//! environment (`[environment]`) and resource limits (`[limits]`). Real kernel, every
//! target (root and bwraptest, each bwrap).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

const MASKED_ENV: &str =
    "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\".env\" = \"none\"\n";

/// Runs `sandbox run` as the target's user from a shell that first opens descriptor 3 on
/// `ws/.env` and 9 on `dir`, with `extra` options before `--`.
fn run_with_open_fds(t: &Target, f: &Fixture, dir: &Path, extra: &[&str], script: &str) -> Output {
    with_open_fds(t, f, dir, "run", extra, script)
}

/// [`run_with_open_fds`] for `subcommand`.
fn with_open_fds(
    t: &Target,
    f: &Fixture,
    dir: &Path,
    subcommand: &str,
    extra: &[&str],
    script: &str,
) -> Output {
    f.give_to(t.user);
    let policy = f.policy("masked.toml", MASKED_ENV);
    let mut c = command_as(t.user, "sh");
    c.args(["-c", "exec 3<\"$1\" 9<\"$2\"; shift 2; exec \"$@\"", "sh"])
        .arg(f.ws().join(".env"))
        .arg(dir)
        .arg(sandbox_bin())
        .args([subcommand, "--bwrap"])
        .arg(&t.bwrap)
        .arg("--policy")
        .arg(&policy)
        .arg("--cwd")
        .arg(f.ws())
        .args(extra)
        .args(["--", "sh", "-c", script]);
    to_output(c.output().unwrap())
}

/// Issue 10, break 3: `cat <&3; ls /proc/self/fd/9/` with 3 on a masked secret and 9 on a
/// host directory.
#[test]
fn descriptors_the_caller_left_open_do_not_reach_the_command() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write(".env", "TOPSECRET=1\n");
        let outside = f.aux().join("outside");
        std::fs::create_dir_all(outside.join("host-only-entry")).unwrap();
        let script = "echo ran; cat <&3; ls /proc/self/fd/9/; ls /proc/self/fd";
        let out = run_with_open_fds(t, &f, &outside, &[], script);
        assert!(out.stdout.starts_with("ran\n"), "[{}] {out:?}", t.label);
        assert!(
            !out.stdout.contains("TOPSECRET"),
            "[{}] the masked secret leaked through fd 3: {out:?}",
            t.label
        );
        assert!(
            !out.stdout.contains("host-only-entry"),
            "[{}] the host directory leaked through fd 9: {out:?}",
            t.label
        );
        // Only 0, 1, 2 and ls's own directory descriptor (3).
        let fds: Vec<&str> = out.stdout.lines().skip(1).collect();
        assert_eq!(fds, ["0", "1", "2", "3"], "[{}] {out:?}", t.label);
        // The masked file really is masked (so fd 3 was the only way to it).
        let masked = run_with_open_fds(t, &f, &outside, &[], "cat .env; echo ran");
        assert!(
            masked.stdout == "ran\n" && !masked.stdout.contains("TOPSECRET"),
            "[{}] {masked:?}",
            t.label
        );
    });
}

/// The launcher opens `/dev/null` on standard descriptors its caller left closed before it
/// opens anything else, so no file or pipe of its own becomes the command's stdin or stderr
/// (nor takes the launcher's error messages).
#[test]
fn closed_standard_descriptors_become_dev_null() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let mut c = command_as(t.user, "sh");
        c.args([
            "-c",
            "exec 0<&- 2>&-; exec \"$@\"",
            "sh",
            sandbox_bin(),
            "run",
        ])
        .arg("--bwrap")
        .arg(&t.bwrap)
        .arg("--cwd")
        .arg(f.ws())
        .args(["--", "sh", "-c"])
        .arg("stat -L -c '%F %t:%T' /proc/self/fd/0 /proc/self/fd/2; echo ran");
        let out = to_output(c.output().unwrap());
        assert_ok(&out, t);
        let null = "character special file 1:3";
        assert_eq!(
            out.stdout.lines().collect::<Vec<_>>(),
            [null, null, "ran"],
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn pass_fd_hands_over_exactly_the_named_descriptors() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.write(".env", "TOPSECRET=1\n");
        let outside = f.aux().join("outside");
        std::fs::create_dir_all(outside.join("host-only-entry")).unwrap();
        let script = "cat <&3; ls /proc/self/fd/9/; ls /proc/self/fd";
        let both = ["--pass-fd", "3", "--pass-fd=9"];
        let out = run_with_open_fds(t, &f, &outside, &both, script);
        assert_ok(&out, t);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines,
            [
                "TOPSECRET=1",
                "host-only-entry",
                "0",
                "1",
                "2",
                "3",
                "4",
                "9"
            ],
            "[{}] {out:?}",
            t.label
        );
        let json = ["--json", "--pass-fd", "9"];
        let explain = with_open_fds(t, &f, &outside, "explain", &json, "true");
        let explain: serde_json::Value = serde_json::from_str(&explain.stdout)
            .unwrap_or_else(|e| panic!("[{}] {e}: {explain:?}", t.label));
        assert_eq!(explain["pass_fds"], serde_json::json!([9]), "[{}]", t.label);
        let argv = explain["bwrap_argv"].as_array().unwrap();
        let at = argv.iter().position(|a| a == "--pass-fd").unwrap();
        assert_eq!(argv[at + 1], "9", "[{}] {argv:?}", t.label);
        let only9 = run_with_open_fds(t, &f, &outside, &["--pass-fd", "9"], "ls /proc/self/fd");
        assert_eq!(only9.stdout, "0\n1\n2\n3\n9\n", "[{}] {only9:?}", t.label);
        for (fd, needle) in [
            ("57", "not open"),
            ("4", "uses descriptors"),
            ("x", "number"),
        ] {
            let out = run_with_open_fds(t, &f, &outside, &["--pass-fd", fd], "touch RAN");
            assert_refused(&out, t, &["--pass-fd", needle], &f.ws().join("RAN"));
        }
    });
}

/// Adds a key to the caller's session keyring, runs the sandbox (argv[1:]) whose command
/// probes the keyring, then reports what the host sees. Raw syscalls: no keyutils needed.
const KEYRING_HOST: &str = r#"
import ctypes, os, subprocess, sys
nr = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}[os.uname().machine]
ADD_KEY, REQUEST_KEY, KEYCTL = nr
libc = ctypes.CDLL(None, use_errno=True)
SESSION, SEARCH, READ = -3, 10, 11
tag = sys.argv[1]
def call(n, *args):
    ctypes.set_errno(0)
    r = libc.syscall(n, *args)
    return r, ctypes.get_errno()
if os.environ.get("SBX_KEYRING_INNER"):
    r, e = call(KEYCTL, SEARCH, SESSION, b"user", f"sbx-host-{tag}".encode(), 0)
    print(f"inner_search={r},{e}")
    r, e = call(ADD_KEY, b"user", f"sbx-inner-{tag}".encode(), b"planted", 7, SESSION)
    print(f"inner_add={r},{e}")
    r, e = call(REQUEST_KEY, b"user", f"sbx-host-{tag}".encode(), None, 0)
    print(f"inner_request={r},{e}")
    sys.exit(0)
key, e = call(ADD_KEY, b"user", f"sbx-host-{tag}".encode(), b"hostsecret", 10, SESSION)
assert key > 0, f"add_key on the host failed: errno {e}"
found, _ = call(KEYCTL, SEARCH, SESSION, b"user", f"sbx-host-{tag}".encode(), 0)
print(f"host_sees_own={found == key}")
out = subprocess.run(sys.argv[2:], env=dict(os.environ, SBX_KEYRING_INNER="1"), capture_output=True, text=True)
print(out.stdout, end="")
print("sandbox_status=" + str(out.returncode))
sys.stderr.write(out.stderr)
r, e = call(KEYCTL, SEARCH, SESSION, b"user", f"sbx-inner-{tag}".encode(), 0)
print(f"host_sees_planted={r > 0}")
"#;

/// Issue 10, break 4: the caller's session keyring.
#[test]
fn the_command_cannot_read_or_plant_keys_in_the_callers_keyring() {
    for_each_target(|t| {
        let f = Fixture::new();
        let script = f.policy("keyring.py", KEYRING_HOST);
        f.give_to(t.user);
        let tag = format!("{}-{}", std::process::id(), t.label.replace(' ', "_"));
        let mut c = command_as(t.user, "python3");
        c.arg(&script)
            .arg(&tag)
            .arg(sandbox_bin())
            .args(["run", "--bwrap"])
            .arg(&t.bwrap)
            .arg("--cwd")
            .arg(f.ws())
            .args(["--", "python3"])
            .arg(&script)
            .arg(&tag);
        let out = to_output(c.output().unwrap());
        assert_ok(&out, t);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines,
            [
                "host_sees_own=True",
                "inner_search=-1,1",
                "inner_add=-1,1",
                "inner_request=-1,1",
                "sandbox_status=0",
                "host_sees_planted=False",
            ],
            "[{}] {out:?}",
            t.label
        );
    });
}

/// Runs `sandbox SUBCOMMAND` with `vars` added to the caller's environment.
fn run_with_vars(
    t: &Target,
    f: &Fixture,
    policy: &str,
    vars: &[&str],
    subcommand: &str,
    command: &[&str],
) -> Output {
    f.give_to(t.user);
    let policy = f.policy("env.toml", policy);
    let mut c = command_as(t.user, "env");
    c.args(vars)
        .arg(sandbox_bin())
        .args([subcommand, "--bwrap"])
        .arg(&t.bwrap)
        .arg("--policy")
        .arg(&policy)
        .arg("--cwd")
        .arg(f.ws())
        .arg("--")
        .args(command);
    to_output(c.output().unwrap())
}

const FS: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n";

const CALLER_VARS: &[&str] = &[
    "SBX_KEEP_A=a",
    "SBX_OTHER=o",
    "GITHUB_TOKEN=ghp_secret",
    "AWS_SECRET_ACCESS_KEY=aws_secret",
];

/// The `SBX_*`, credential and `PATH` variables the command sees, sorted.
fn seen(out: &Output) -> Vec<&str> {
    let mut vars: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("SBX_")
                || l.starts_with("PATH=")
                || l.starts_with("GITHUB_")
                || l.starts_with("AWS_")
        })
        .collect();
    vars.sort_unstable();
    vars
}

#[test]
fn the_environment_section_decides_what_the_command_sees() {
    for_each_target(|t| {
        let f = Fixture::new();
        let default = run_with_vars(t, &f, FS, CALLER_VARS, "run", &["env"]);
        assert_ok(&default, t);
        let vars = seen(&default);
        assert!(
            vars.contains(&"SBX_KEEP_A=a") && vars.contains(&"SBX_OTHER=o"),
            "[{}] {default:?}",
            t.label
        );
        assert!(
            !default.stdout.contains("ghp_secret") && !default.stdout.contains("aws_secret"),
            "[{}] a credential variable reached the command by default: {default:?}",
            t.label
        );
        let policy = format!(
            "{FS}[environment]\ninherit = \"none\"\ninclude = [\"SBX_KEEP_*\", \"GITHUB_TOKEN\"]\nset = {{ SBX_SET = \"s\", PATH = \"/usr/bin:/bin\" }}\n"
        );
        let out = run_with_vars(t, &f, &policy, CALLER_VARS, "run", &["env"]);
        assert_ok(&out, t);
        assert_eq!(
            seen(&out),
            [
                "GITHUB_TOKEN=ghp_secret",
                "PATH=/usr/bin:/bin",
                "SBX_KEEP_A=a",
                "SBX_SET=s"
            ],
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn explain_lists_the_environment_names_without_values() {
    let t = &targets()[0];
    let f = Fixture::new();
    let policy = format!("{FS}[environment]\ninherit = \"core\"\ninclude = [\"SBX_*\"]\n");
    f.give_to(t.user);
    let file = f.policy("env.toml", &policy);
    let mut c = command_as(t.user, "env");
    c.args(CALLER_VARS)
        .arg(sandbox_bin())
        .args(["explain", "--json", "--policy"])
        .arg(&file)
        .arg("--cwd")
        .arg(f.ws())
        .args(["--", "env"]);
    let out = to_output(c.output().unwrap());
    assert_eq!(out.status, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = json["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"SBX_KEEP_A") && names.contains(&"SBX_OTHER"),
        "{names:?}"
    );
    assert!(
        names.contains(&"PATH") && !names.contains(&"GITHUB_TOKEN"),
        "{names:?}"
    );
    assert!(
        !out.stdout.contains("ghp_secret") && !out.stdout.contains("=a\""),
        "{out:?}"
    );
}

#[test]
fn limits_cap_open_files_address_space_and_processes() {
    for_each_target(|t| {
        let f = Fixture::new();
        let limits = format!("{FS}[limits]\nopen_files = 64\naddress_space = 1073741824\n");
        let script = "ulimit -n; ulimit -Hn; ulimit -v; python3 -c 'bytearray(2 << 30)' 2>/dev/null || echo no-2GiB; python3 -c 'bytearray(16 << 20); print(\"16MiB\")'";
        let out = run_with_vars(t, &f, &limits, &[], "run", &["sh", "-c", script]);
        assert_ok(&out, t);
        assert_eq!(
            out.stdout, "64\n64\n1048576\nno-2GiB\n16MiB\n",
            "[{}] {out:?}",
            t.label
        );
        // memory: no cgroup is created, so a clear refusal naming the fix.
        let memory = format!("{FS}[limits]\nmemory = 1073741824\n");
        let marker = f.ws().join("RAN");
        let out = run_with_vars(t, &f, &memory, &[], "run", &["touch", "RAN"]);
        assert_refused(
            &out,
            t,
            &["limits.memory", "cgroup", "systemd-run"],
            &marker,
        );
        // processes: a per-real-uid count, which the kernel does not apply to root. The
        // margin absorbs other processes of the same uid starting meanwhile.
        let live = count_processes_of(t.user);
        let cap = live + 100;
        let policy = format!("{FS}[limits]\nprocesses = {cap}\n");
        let tries = (cap + 50).to_string();
        let bomb = ["python3", "-c", FORK_BOMB, &tries];
        let out = run_with_vars(t, &f, &policy, &[], "run", &bomb);
        match t.user {
            User::Root => assert_refused(
                &out,
                t,
                &["limits.processes", "root", "fix:"],
                &f.ws().join("x"),
            ),
            User::Test => {
                assert_ok(&out, t);
                let capped = out.stdout.strip_prefix("capped ");
                let started: usize = capped
                    .and_then(|rest| rest.trim().parse().ok())
                    .unwrap_or_else(|| panic!("[{}] not capped: {out:?}", t.label));
                assert!(
                    (1..=cap as usize).contains(&started),
                    "[{}] {started} background processes under a cap of {cap}: {out:?}",
                    t.label
                );
            }
        }
    });
}

/// Forks sleeping children until fork fails (at most argv[1]); prints `capped N` or
/// `unlimited N`, then kills them.
const FORK_BOMB: &str = r#"
import os, signal, sys, time
pids = []
try:
    for _ in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    result = "unlimited"
except OSError:
    result = "capped"
for pid in pids:
    os.kill(pid, signal.SIGKILL)
print(result, len(pids))
"#;

/// How many processes `user`'s uid runs on the host right now.
fn count_processes_of(user: User) -> u64 {
    let uid = match user {
        User::Root => 0,
        User::Test => 1001,
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .count() as u64
}
