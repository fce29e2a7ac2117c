//! Namespaces and special filesystems: new user, pid and IPC namespaces (host System V
//! IPC unreachable); a new network namespace unless enabled; a private, size-capped,
//! writable /dev/shm where POSIX semaphores work; /proc fresh, or hidden entirely.

mod common;

use std::process::Command;

use common::*;

const NETWORK_ENABLED: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n[network]\nmode = \"enabled\"\n";

fn ipc_id(kind: &str) -> String {
    let out = Command::new("ipcmk")
        .args([kind, "1", "-p", "0644"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ipcmk {kind}: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(':').next_back().unwrap().trim().to_string()
}

/// Removes the host IPC objects a test created, even when it fails.
struct Cleanup(Vec<(&'static str, String)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (flag, id) in &self.0 {
            let _ = Command::new("ipcrm").args([flag, id.as_str()]).status();
        }
    }
}

#[test]
fn host_system_v_ipc_is_unreachable() {
    let shm = ipc_id("-M");
    let sem = ipc_id("-S");
    let msg = ipc_id("-Q");
    let cleanup = Cleanup(vec![
        ("-m", shm.clone()),
        ("-s", sem.clone()),
        ("-q", msg.clone()),
    ]);
    for_each_target(|t| {
        let f = Fixture::new();
        // `ipcs -i` exits 0 either way; it prints "not found" for an unknown id.
        let script = format!(
            "for x in 'm {shm}' 's {sem}' 'q {msg}'; do set -- $x; ipcs -$1 -i $2 2>&1 | grep -q 'not found' || echo SEEN $x; done; \
             ipcs -m | grep -c '^0x'; true"
        );
        let out = run_sh(t, &f, None, &script);
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "0", "[{}] {out:?}", t.label);
    });
    // the same probe on the host does see them (the test is not vacuous)
    let host = Command::new("ipcs")
        .args(["-m", "-i", &shm])
        .output()
        .unwrap();
    drop(cleanup);
    assert!(
        !String::from_utf8_lossy(&host.stderr).contains("not found"),
        "{host:?}"
    );
}

#[test]
fn network_namespace_is_new_unless_enabled() {
    let host_ifaces = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .count();
    for_each_target(|t| {
        let f = Fixture::new();
        let out = run_sh(
            t,
            &f,
            None,
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
        );
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "lo", "[{}] {out:?}", t.label);
        let policy = f.policy("p.toml", NETWORK_ENABLED);
        let out = run_sh(t, &f, Some(&policy), "cat /proc/net/dev");
        assert_ok(&out, t);
        assert_eq!(
            out.stdout.lines().count(),
            host_ifaces,
            "[{}] {out:?}",
            t.label
        );
    });
}

#[test]
fn user_and_pid_namespaces_are_new() {
    let host_userns = std::fs::read_link("/proc/self/ns/user").unwrap();
    let host_pidns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    for_each_target(|t| {
        let f = Fixture::new();
        let out = run_sh(
            t,
            &f,
            None,
            "readlink /proc/self/ns/user; readlink /proc/self/ns/pid; tr '\\0' ' ' < /proc/1/cmdline; echo; ls /proc | grep -c '^[0-9]'",
        );
        assert_ok(&out, t);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_ne!(
            lines[0],
            host_userns.to_str().unwrap(),
            "[{}] {out:?}",
            t.label
        );
        assert_ne!(
            lines[1],
            host_pidns.to_str().unwrap(),
            "[{}] {out:?}",
            t.label
        );
        assert!(
            lines[2].contains("--network restricted --"),
            "[{}] pid 1 is the inner stage: {out:?}",
            t.label
        );
        let pids: usize = lines[3].trim().parse().unwrap();
        assert!(
            pids <= 5,
            "[{}] only the sandbox's processes: {out:?}",
            t.label
        );
    });
}

#[test]
fn dev_shm_is_private_writable_and_size_capped() {
    for_each_target(|t| {
        let f = Fixture::new();
        let name = format!("sbx-shm-probe-{}", std::process::id());
        let script = format!(
            "echo x > /dev/shm/{name} && echo SHM_WRITE; \
             python3 -c 'import multiprocessing as m; l = m.Lock(); l.acquire(); l.release(); print(\"LOCK_OK\")'; \
             df -B1 --output=size /dev/shm | tail -1"
        );
        let out = run_sh(t, &f, None, &script);
        assert_ok(&out, t);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines[..2],
            ["SHM_WRITE", "LOCK_OK"],
            "[{}] {out:?}",
            t.label
        );
        assert_eq!(
            lines[2].trim(),
            sandbox::plan::DEV_SHM_SIZE.to_string(),
            "[{}] {out:?}",
            t.label
        );
        assert!(
            !std::path::Path::new("/dev/shm").join(&name).exists(),
            "[{}] reached the host",
            t.label
        );
    });
}

#[test]
fn proc_is_fresh_by_default_and_absent_with_no_proc() {
    for_each_target(|t| {
        let f = Fixture::new();
        f.give_to(t.user);
        let ws = f.ws();
        let ws = ws.to_str().unwrap();
        let probe = "test -e /proc/self/status && echo PROC_SELF; test -e /proc/1 && echo PROC_1; ls -A /proc | wc -l";
        let fresh = sandbox(t, "run", &["--cwd", ws, "--", "sh", "-c", probe]);
        assert_ok(&fresh, t);
        assert!(
            fresh.stdout.contains("PROC_SELF") && fresh.stdout.contains("PROC_1"),
            "[{}] {fresh:?}",
            t.label
        );
        let hidden = sandbox(
            t,
            "run",
            &["--no-proc", "--cwd", ws, "--", "sh", "-c", probe],
        );
        assert_ok(&hidden, t);
        assert_eq!(
            hidden.stdout.trim(),
            "0",
            "[{}] /proc must be empty: {hidden:?}",
            t.label
        );
    });
}

#[test]
fn refused_proc_mount_falls_back_to_no_proc_at_all() {
    for_each_target(|t| {
        let f = Fixture::new();
        // A bwrap that behaves like a host (container) refusing to mount proc.
        let fake = f.aux().join("bwrap-noproc");
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --proc ] && {{ echo \"bwrap: Can't mount proc on /newroot/proc: Operation not permitted\" >&2; exit 1; }}; done\nexec {} \"$@\"\n",
            t.bwrap.display()
        );
        write_executable(&fake, &script);
        f.give_to(t.user);
        let ws = f.ws();
        let mut c = command_as(t.user, sandbox_bin());
        c.arg("run").arg("--bwrap").arg(&fake).arg("--cwd").arg(&ws);
        c.args(["--", "sh", "-c", "ls -A /proc | wc -l"]);
        let out = to_output(c.output().unwrap());
        assert_ok(&out, t);
        assert_eq!(out.stdout.trim(), "0", "[{}] {out:?}", t.label);
        assert!(
            out.stderr.contains("/proc hidden"),
            "[{}] the fallback is announced: {out:?}",
            t.label
        );
    });
}

/// Opens (`create`) or probes a POSIX message queue; prints the errno (0 on success).
const MQUEUE: &str = r#"
import ctypes, os, sys
rt = ctypes.CDLL("librt.so.1", use_errno=True)
name, action = sys.argv[1].encode(), sys.argv[2]
if action == "create":
    r = rt.mq_open(name, os.O_CREAT | os.O_RDWR, 0o666, None)
elif action == "unlink":
    r = rt.mq_unlink(name)
else:
    r = rt.mq_open(name, os.O_RDONLY)
print(0 if r >= 0 else ctypes.get_errno())
"#;

#[test]
fn host_posix_message_queues_are_unreachable() {
    let f = Fixture::new();
    let script = f.policy("mq.py", MQUEUE);
    let name = format!("/sbx-mq-{}", std::process::id());
    let host = |action: &str| {
        let out = Command::new("python3")
            .arg(&script)
            .args([name.as_str(), action])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(host("create"), "0");
    assert_eq!(host("open"), "0", "the host sees its own queue");
    for_each_target(|t| {
        let out = run_sh(
            t,
            &f,
            None,
            &format!("python3 {} {name} open", script.display()),
        );
        assert_ok(&out, t);
        assert_eq!(
            out.stdout.trim(),
            libc::ENOENT.to_string(),
            "[{}] {out:?}",
            t.label
        );
    });
    assert_eq!(host("unlink"), "0");
}
