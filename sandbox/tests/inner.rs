//! The inner stage: no_new_privs, no capabilities, the seccomp filter (restricted network
//! and always-denied calls), exit status and signal propagation, and both ways bwrap
//! reaches the stage (argv0 and the compatibility path).

mod common;

use std::process::Command;

use common::*;

const NETWORK_ENABLED: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n[network]\nmode = \"enabled\"\n";

/// Prints `name=errno` (0 on success) for each probed call.
const PROBE: &str = r#"
import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
def call(name, f):
    try:
        r = f()
        e = ctypes.get_errno() if isinstance(r, int) and r == -1 else 0
    except OSError as x:
        e = x.errno
    print(f"{name}={e}")
def raw(fn, *args):
    ctypes.set_errno(0)
    return getattr(libc, fn)(*args)
mode = sys.argv[1]
if mode == "network":
    call("socket_inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    call("socket_inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    call("socket_netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
    call("socket_unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    call("socketpair_inet", lambda: raw("socketpair", socket.AF_INET, socket.SOCK_STREAM, 0, (ctypes.c_int * 2)()))
    a, b = socket.socketpair()
    os.write(a.fileno(), b"ping")
    print("socketpair_roundtrip=" + os.read(b.fileno(), 4).decode())
    # Datagram AF_UNIX sockets could sendmsg() to any host socket path (SOCK_RAW is one too).
    call("socket_unix_dgram", lambda: raw("socket", socket.AF_UNIX, socket.SOCK_DGRAM, 0))
    call("socket_unix_dgram_cloexec", lambda: raw("socket", socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, 0))
    call("socket_unix_raw", lambda: raw("socket", socket.AF_UNIX, socket.SOCK_RAW, 0))
    call("socketpair_unix_dgram", lambda: raw("socketpair", socket.AF_UNIX, socket.SOCK_DGRAM, 0, (ctypes.c_int * 2)()))
    call("socketpair_unix_seqpacket", lambda: raw("socketpair", socket.AF_UNIX, socket.SOCK_SEQPACKET, 0, (ctypes.c_int * 2)()))
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    call("connect", lambda: u.connect("/tmp/nonexistent.sock"))
    call("bind", lambda: u.bind("\0sbx-probe"))
    call("listen", lambda: raw("listen", a.fileno(), 1))
    call("accept", lambda: raw("accept", a.fileno(), None, None))
    call("accept4", lambda: raw("accept4", a.fileno(), None, None, 0))
    # glibc's send(): sendto without a destination, on a socket the command already has.
    call("send", lambda: 0 if a.send(b"x") == 1 else -1)
    call("sendto_null_dest", lambda: 0 if raw("sendto", a.fileno(), b"x", 1, 0, None, 0) == 1 else -1)
    # An addressed send stays denied (the kernel would answer EISCONN on a connected pair).
    dest = ctypes.create_string_buffer(b"\x01\x00/tmp/nonexistent.sock", 110)
    call("sendto_addressed", lambda: raw("sendto", a.fileno(), b"x", 1, 0, dest, 110))
    call("sendto_addressed_unbound", lambda: raw("sendto", u.fileno(), b"x", 1, 0, dest, 110))
    call("sendmmsg", lambda: raw("sendmmsg", a.fileno(), None, 0, 0))
    call("recvmmsg", lambda: raw("recvmmsg", a.fileno(), None, 0, 0, None))
    call("getsockopt", lambda: a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
    call("setsockopt", lambda: a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096))
    call("getsockname", lambda: a.getsockname())
    call("getpeername", lambda: a.getpeername())
    call("shutdown", lambda: a.shutdown(socket.SHUT_RDWR))
else:
    call("ptrace", lambda: raw("ptrace", 0, 0, None, None))
    buf = ctypes.create_string_buffer(8)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 8)
    call("process_vm_readv", lambda: raw("process_vm_readv", os.getpid(), iov, 1, iov, 1, 0))
    call("process_vm_writev", lambda: raw("process_vm_writev", os.getpid(), iov, 1, iov, 1, 0))
    params = ctypes.create_string_buffer(120)
    call("io_uring_setup", lambda: raw("syscall", 425, 1, params))
    call("io_uring_enter", lambda: raw("syscall", 426, 0, 0, 0, 0, None, 0))
    call("io_uring_register", lambda: raw("syscall", 427, 0, 0, None, 0))
    call("socket_inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    call("socket_vsock", lambda: raw("socket", 40, socket.SOCK_STREAM, 0))
    call("socketpair_vsock", lambda: raw("socketpair", 40, socket.SOCK_STREAM, 0, (ctypes.c_int * 2)()))
    # The x32 ABI (bit 30 of the number): every call denied, allowed ones (getpid) included.
    call("x32_getpid", lambda: raw("syscall", 0x40000000 | 39))
    call("x32_ptrace", lambda: raw("syscall", 0x40000000 | 521, 0, 0, None, None))
"#;

fn probe(
    t: &Target,
    f: &Fixture,
    policy: Option<&std::path::Path>,
    mode: &str,
) -> Vec<(String, String)> {
    let script = f.policy("probe.py", PROBE);
    let out = run_sh(
        t,
        f,
        policy,
        &format!("python3 {} {mode}", script.display()),
    );
    assert_ok(&out, t);
    out.stdout
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn restricted_network_denies_socket_calls_and_unix_datagrams_with_eperm_but_socketpair_works() {
    for_each_target(|t| {
        let f = Fixture::new();
        let results = probe(t, &f, None, "network");
        assert_eq!(results.len(), 27, "[{}] {results:?}", t.label);
        for (name, value) in results {
            let want = match name.as_str() {
                // Calls on sockets the command already has reach nothing new.
                "socket_unix"
                | "socketpair_unix_seqpacket"
                | "send"
                | "sendto_null_dest"
                | "getsockopt"
                | "setsockopt"
                | "getsockname"
                | "getpeername"
                | "shutdown" => "0",
                "socketpair_roundtrip" => "ping",
                _ => "1", // EPERM
            };
            assert_eq!(value, want, "[{}] {name}", t.label);
        }
    });
}

#[test]
fn ptrace_process_vm_io_uring_and_x32_are_denied_in_every_mode() {
    for_each_target(|t| {
        let f = Fixture::new();
        let enabled = f.policy("enabled.toml", NETWORK_ENABLED);
        for (policy, inet) in [(None, "1"), (Some(enabled.as_path()), "0")] {
            let results = probe(t, &f, policy, "always");
            assert_eq!(results.len(), 11, "[{}] {results:?}", t.label);
            for (name, value) in results {
                let want = if name == "socket_inet" { inet } else { "1" };
                assert_eq!(
                    value,
                    want,
                    "[{}] {name} (network enabled: {})",
                    t.label,
                    policy.is_some()
                );
            }
        }
    });
}

#[test]
fn command_has_no_new_privs_no_capabilities_and_one_more_seccomp_filter() {
    for_each_target(|t| {
        let f = Fixture::new();
        let out = run_sh(
            t,
            &f,
            None,
            "grep -E '^(NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb|Seccomp):' /proc/self/status",
        );
        assert_ok(&out, t);
        for line in out.stdout.lines() {
            let (key, value) = line.split_once(':').unwrap();
            let want = match key {
                "NoNewPrivs" => "1",
                "Seccomp" => "2",
                _ => "0000000000000000",
            };
            assert_eq!(value.trim(), want, "[{}] {key}", t.label);
        }
        assert_eq!(out.stdout.lines().count(), 7, "[{}] {out:?}", t.label);
    });
}

#[test]
fn command_starts_with_sigpipe_at_its_default() {
    // The sandbox executable ignores SIGPIPE (as Rust's runtime would); the command must
    // not inherit that: a writer into a closed pipe dies of SIGPIPE silently, as on the
    // host, instead of failing with EPIPE ("Broken pipe").
    for_each_target(|t| {
        let f = Fixture::new();
        let out = run_sh(
            t,
            &f,
            None,
            "grep '^SigIgn:' /proc/self/status; yes | head -n1",
        );
        assert_ok(&out, t);
        let ignored = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap());
        let sigpipe_bit = 1u64 << (libc::SIGPIPE - 1);
        assert_eq!(
            ignored.map(|mask| mask & sigpipe_bit),
            Some(0),
            "[{}] {out:?}",
            t.label
        );
        assert!(
            out.stdout.lines().any(|l| l == "y"),
            "[{}] the pipeline ran: {out:?}",
            t.label
        );
        assert!(!out.stderr.contains("Broken pipe"), "[{}] {out:?}", t.label);
    });
}

#[test]
fn exit_status_and_signals_propagate() {
    for_each_target(|t| {
        let f = Fixture::new();
        for (script, want) in [
            ("exit 0", 0),
            ("exit 7", 7),
            ("kill -TERM $$", 128 + 15),
            ("kill -KILL $$", 128 + 9),
            ("exec /nonexistent/command", 127),
        ] {
            let out = run_sh(t, &f, None, script);
            assert_eq!(out.status, want, "[{}] {script}: {out:?}", t.label);
        }
        f.give_to(t.user);
        let ws = f.ws();
        let out = sandbox(
            t,
            "run",
            &["--cwd", ws.to_str().unwrap(), "--", "/nonexistent/program"],
        );
        assert_eq!(out.status, 127, "[{}] {out:?}", t.label);
        assert!(
            out.stderr.contains("/nonexistent/program"),
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn sigterm_to_the_sandbox_reaches_the_command() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        let script = "trap 'echo CAUGHT; exit 42' TERM; touch started; sleep 20 & wait";
        let child = spawn_run(t, &ws, &["sh", "-c", script]);
        wait_for(&ws.join("started"));
        let out = terminate(child);
        assert_eq!(
            (out.status, out.stdout.trim()),
            (42, "CAUGHT"),
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn command_arguments_cannot_be_read_as_inner_stage_options() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        let out = sandbox(
            t,
            "run",
            &[
                "--cwd",
                ws.to_str().unwrap(),
                "--",
                "python3",
                "-c",
                "import socket,sys; print(sys.argv[1:]); socket.socket()",
                "--network",
                "enabled",
                "--",
            ],
        );
        assert_ne!(
            out.status, 0,
            "[{}] the socket must still be denied: {out:?}",
            t.label
        );
        assert!(
            out.stdout.contains("['--network', 'enabled', '--']"),
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn inner_stage_dispatch_matches_the_bwrap() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        let out = sandbox(t, "explain", &["--cwd", ws.to_str().unwrap(), "--", "true"]);
        assert_ok(&out, t);
        let argv: Vec<&str> = out.stdout.lines().collect();
        let sep = argv.iter().position(|a| *a == "--").unwrap();
        let help = Command::new(&t.bwrap).arg("--help").output().unwrap();
        if String::from_utf8_lossy(&help.stdout).contains("--argv0") {
            assert_eq!(
                argv[sep - 2..sep],
                ["--argv0", sandbox::inner::INNER_STAGE_NAME],
                "[{}]",
                t.label
            );
        } else {
            assert!(!argv.contains(&"--argv0"), "[{}]", t.label);
            assert_eq!(argv[sep + 1], sandbox::inner::COMPAT_PATH, "[{}]", t.label);
        }
        // and the stage really runs: pid 1 is our executable under the stage's name
        let run = run_sh(t, &f, None, "tr '\\0' ' ' < /proc/1/cmdline");
        assert_ok(&run, t);
        assert!(
            run.stdout.contains("--network restricted"),
            "[{}] {run:?}",
            t.label
        );
    });
}

#[test]
fn inner_stage_refuses_retained_capabilities() {
    // The stage run directly under `unshare -r` (uid 0 with full capabilities in a user
    // namespace) must refuse instead of running the command.
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join(sandbox::inner::INNER_STAGE_NAME);
    std::os::unix::fs::symlink(sandbox_bin(), &stage).unwrap();
    let marker = dir.path().join("ran");
    let out = to_output(
        Command::new("unshare")
            .args(["--user", "--map-root-user"])
            .arg(&stage)
            .args(["--network", "restricted", "--", "touch"])
            .arg(&marker)
            .output()
            .unwrap(),
    );
    assert_eq!(out.status, 125, "{out:?}");
    assert!(out.stderr.contains("capabilities"), "{out:?}");
    assert!(!marker.exists());
}
