//! Real sandboxes, as root and as the unprivileged `bwraptest` user: each option family
//! is checked from inside the sandbox, failure paths included.

mod common;

use common::{
    BASE, Caller, available, command, pass_fds, run, sh, shared_tempdir, skip, stderr, stdout,
};
use rstest::rstest;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;

/// Runs `script` in the base sandbox and returns its stdout, asserting success.
fn inside(caller: Caller, extra: &[&str], script: &str) -> String {
    let out = sh(caller, extra, script);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{extra:?} {script}: {}",
        stderr(&out)
    );
    stdout(&out)
}

#[rstest]
fn exit_status_is_the_commands_or_128_plus_signal(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    assert_eq!(sh(who, &[], "exit 7").status.code(), Some(7));
    let ignored = sh(who, &[], "grep SigIgn /proc/self/status | cut -f2");
    let mask = u64::from_str_radix(stdout(&ignored).trim(), 16).unwrap();
    let sigpipe = 1 << (libc::SIGPIPE - 1);
    assert_eq!(
        mask & sigpipe,
        0,
        "SIGPIPE must not be ignored in the command"
    );
    assert_eq!(sh(who, &["--unshare-pid"], "exit 9").status.code(), Some(9));
    assert_eq!(sh(who, &[], "kill -TERM $$").status.code(), Some(143));
    assert_eq!(
        sh(who, &["--unshare-pid"], "kill -KILL $$").status.code(),
        Some(137)
    );
    // Without a pid namespace the sandbox process execs; with one, a command process started
    // beside init (sharing init's memory until its exec) does: both fail alike.
    for extra in [&[][..], &["--unshare-pid"][..]] {
        let mut args = vec!["--ro-bind", "/", "/"];
        args.extend(extra);
        args.push("/nonexistent-command");
        let out = run(who, &args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert_eq!(
            stderr(&out),
            "bwrap: execvp /nonexistent-command: No such file or directory\n",
            "{extra:?}"
        );
    }
}

#[rstest]
fn a_failure_in_any_process_is_printed_once_with_status_1(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let base = ["--ro-bind", "/", "/"];
    let cases: [(&[&str], &str); 3] = [
        // The sandbox process, before the exec.
        (
            &["--chdir", "/nonexistent"],
            "bwrap: Can't chdir to /nonexistent: No such file or directory\n",
        ),
        // Init, a process forked off the sandbox process.
        (
            &["--lock-file", "/nonexistent"],
            "bwrap: Unable to open lock file /nonexistent: No such file or directory\n",
        ),
        // The monitor.
        (
            &["--info-fd", "99"],
            "bwrap: Write to info_fd: Bad file descriptor\n",
        ),
    ];
    for (extra, message) in cases {
        let args = [&base[..], extra, &["true"]].concat();
        let out = run(who, &args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert_eq!(stderr(&out), message, "{extra:?}");
    }
}

#[rstest]
fn ro_bind_is_read_only_nosuid_nodev_on_every_submount(
    #[values(Caller::Root, Caller::User)] who: Caller,
    #[values("--debug-opt=force-legacy-mount", "--unshare-ipc")] mount_path: &str,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    // Both ways of binding: the new mount API (default here) and the mount(2) fallback.
    let out = run(
        who,
        &[
            mount_path,
            "--ro-bind",
            "/",
            "/",
            "--bind",
            "/var/tmp",
            "/var/tmp",
            "--tmpfs",
            "/tmp",
            "--remount-ro",
            "/tmp",
            "--proc",
            "/proc",
            "cat",
            "/proc/self/mountinfo",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let var_tmp = table
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/var/tmp"))
        .unwrap();
    let var_tmp_opts = var_tmp.split(' ').nth(5).unwrap();
    assert!(var_tmp_opts.starts_with("rw,nosuid,nodev"), "{var_tmp}");
    let all: Vec<&str> = table.lines().collect();
    let point = |l: &str| l.split(' ').nth(4).unwrap().to_string();
    // A mount covered by a later one on the same path is unreachable; the mount(2) fallback
    // (like upstream) leaves it alone.
    let covered = |i: usize| all[i + 1..].iter().any(|l| point(l) == point(all[i]));
    let lines = (0..all.len())
        .filter(|i| !covered(*i))
        .map(|i| all[i])
        // /var/tmp is bound writable, and so are the mounts beneath it (a checkout bound
        // there, as ci/bazel binds one at its own path).
        .filter(|l| !l.contains(" /proc") && !Path::new(&point(l)).starts_with("/var/tmp"));
    for line in lines {
        let opts = line.split(' ').nth(5).unwrap();
        assert!(
            opts.contains("ro") && opts.contains("nosuid") && opts.contains("nodev"),
            "{line}"
        );
    }
    let out = sh(who, &[], "touch /etc/should-fail");
    assert_ne!(out.status.code(), Some(0));
}

#[rstest]
fn bind_is_writable_and_dev_bind_keeps_devices(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let dir = shared_tempdir(0o777);
    let d = dir.path().to_str().unwrap();
    // Onto itself: a mount point that exists on every host (a fixed path like /work may
    // be missing, or on a read-only file system, where bwrap could not create it).
    inside(who, &["--bind", d, d], &format!("echo hi > {d}/out"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out")).unwrap(),
        "hi\n"
    );
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--dev-bind",
            "/dev",
            "/dev",
            "sh",
            "-c",
            "echo x > /dev/null",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--bind",
            "/dev",
            "/dev",
            "sh",
            "-c",
            "echo x > /dev/null",
        ],
    );
    assert_ne!(
        out.status.code(),
        Some(0),
        "nodev must stop /dev/null from opening"
    );
}

#[rstest]
fn missing_sources_fail_unless_try(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--bind",
            "/source-enoent",
            "/dest",
            "true",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "bwrap: Can't find source path /source-enoent: No such file or directory\n"
    );
    inside(
        who,
        &[
            "--ro-bind-try",
            "/source-enoent",
            "/dest",
            "--bind-try",
            "/nope",
            "/x",
        ],
        "true",
    );
}

#[rstest]
fn old_and_setup_roots_are_not_visible(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let text = inside(
        who,
        &[],
        "ls -a / /tmp; test ! -e /oldroot && test ! -e /newroot && echo clean",
    );
    assert!(text.ends_with("clean\n"), "{text}");
    assert!(!text.contains("bindfile"), "{text}");
}

#[rstest]
fn dev_has_the_standard_nodes_pts_and_shm(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let text = inside(
        who,
        &["--unshare-pid"],
        "ls /dev | tr '\\n' ' '; echo x > /dev/null; head -c1 /dev/zero | wc -c; test -d /dev/shm && readlink /dev/ptmx /dev/fd",
    );
    for node in [
        "core", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
        "tty", "urandom", "zero",
    ] {
        assert!(
            text.split_whitespace().any(|w| w == node),
            "{node} missing: {text}"
        );
    }
    assert!(text.contains("pts/ptmx\n/proc/self/fd\n"), "{text}");
}

#[rstest]
fn proc_is_fresh_in_a_new_pid_namespace_and_covers_knobs(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let text = inside(who, &["--unshare-pid"], "echo $$; cat /proc/1/comm");
    assert_eq!(text, "2\nbwrap\n", "the reaper is pid 1, the command pid 2");
    let text = inside(who, &["--unshare-pid", "--as-pid-1"], "echo $$");
    assert_eq!(text, "1\n");
    let out = sh(
        who,
        &["--unshare-pid"],
        "grep -E ' /proc/(irq|bus) ' /proc/self/mountinfo",
    );
    for line in stdout(&out).lines() {
        assert!(line.split(' ').nth(5).unwrap().starts_with("ro"), "{line}");
    }
}

#[rstest]
fn ids_and_maps_follow_uid_gid_options(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let outside = if who == Caller::Root { 0 } else { 1001 };
    let text = inside(
        who,
        &["--unshare-user", "--uid", "1234", "--gid", "4321"],
        "id -u; id -g",
    );
    assert_eq!(text, "1234\n4321\n");
    let text = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--unshare-user",
            "--uid",
            "0",
            "--gid",
            "0",
            "cat",
            "/proc/self/uid_map",
        ],
    );
    assert_eq!(
        stdout(&text).split_whitespace().collect::<Vec<_>>(),
        ["0", &outside.to_string(), "1"]
    );
}

#[rstest]
fn capabilities_dropped_for_users_kept_for_root(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let caps = |extra: &[&str]| {
        inside(
            who,
            extra,
            "grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status | awk '{print $2}' | tr '\\n' ' '",
        )
    };
    let host_eff = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("CapEff"))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .unwrap();
    let none = "0000000000000000 0000000000000000 0000000000000000 ";
    if who == Caller::Root {
        assert_eq!(
            caps(&[]),
            format!("{host_eff} {host_eff} 0000000000000000 ")
        );
        // Root's own set, not the full set a new user namespace would show.
        assert_eq!(
            caps(&["--unshare-user"]),
            format!("{host_eff} {host_eff} 0000000000000000 ")
        );
        assert_eq!(caps(&["--cap-drop", "ALL"]), none);
        let dropped = caps(&["--cap-drop", "CAP_KILL"]);
        let eff = u64::from_str_radix(dropped.split(' ').next().unwrap(), 16).unwrap();
        assert_eq!(eff & (1 << 5), 0, "{dropped}");
    } else {
        assert_eq!(caps(&[]), none);
        assert_eq!(caps(&["--uid", "0"]), none);
        let added = caps(&["--cap-add", "CAP_NET_ADMIN"]);
        assert_eq!(added, "0000000000001000 0000000000001000 0000000000001000 ");
    }
    let out = sh(who, &[], "grep NoNewPrivs /proc/self/status");
    assert_eq!(stdout(&out), "NoNewPrivs:\t1\n");
}

#[rstest]
fn namespaces_are_created_as_asked(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let ns = |kind: &str| {
        std::fs::read_link(format!("/proc/self/ns/{kind}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let script = "for n in ipc net uts cgroup pid; do readlink /proc/self/ns/$n; done";
    let text = inside(
        who,
        &["--unshare-all", "--hostname", "sandbox-host"],
        &format!("{script}; hostname"),
    );
    for kind in ["ipc", "net", "uts", "cgroup", "pid"] {
        assert!(!text.contains(&ns(kind)), "{kind} not unshared: {text}");
    }
    assert!(text.ends_with("sandbox-host\n"));
    let text = inside(who, &["--unshare-all", "--share-net"], script);
    assert!(
        text.contains(&ns("net")),
        "--share-net keeps the host netns: {text}"
    );
    let text = inside(
        who,
        &["--unshare-net"],
        "grep -c : /proc/net/dev; ip -o -4 addr show lo | awk '{print $4}'",
    );
    assert_eq!(text, "1\n127.0.0.1/8\n", "only lo, up with its address");
}

#[rstest]
fn env_ops_apply_in_argv_order_and_pwd_is_set(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--setenv",
            "A",
            "1",
            "--clearenv",
            "--setenv",
            "B",
            "2",
            "--setenv",
            "C",
            "3",
            "--unsetenv",
            "C",
            "--chdir",
            "/usr",
            "/usr/bin/env",
        ],
    );
    assert_eq!(stdout(&out), "B=2\nPWD=/usr\n");
    let out = run(
        who,
        &["--ro-bind", "/", "/", "--chdir", "/nonexistent", "true"],
    );
    assert_eq!(
        stderr(&out),
        "bwrap: Can't chdir to /nonexistent: No such file or directory\n"
    );
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--chdir",
            "/",
            "--chdir",
            "/",
            "true",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stderr(&out),
        "bwrap: Only the last --chdir option will take effect\n"
    );
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--argv0",
            "renamed",
            "sh",
            "-c",
            "echo $0",
        ],
    );
    assert_eq!(stdout(&out), "renamed\n");
}

#[rstest]
fn file_ops_create_what_they_say_with_modes(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let text = inside(
        who,
        &[
            "--dir",
            "/tmp/d",
            "--perms",
            "0700",
            "--dir",
            "/tmp/p/q",
            "--symlink",
            "d",
            "/tmp/l",
            "--perms",
            "01777",
            "--tmpfs",
            "/tmp/t",
            "--size",
            "1048576",
            "--tmpfs",
            "/tmp/s",
            "--chmod",
            "0711",
            "/tmp/d",
        ],
        "stat -c '%a %F' /tmp/d /tmp/p /tmp/p/q /tmp/t /tmp/s; readlink /tmp/l; df -k --output=size /tmp/s | tail -1 | tr -d ' '",
    );
    assert_eq!(
        text,
        "711 directory\n700 directory\n700 directory\n1777 directory\n755 directory\nd\n1024\n"
    );
    let out = sh(
        who,
        &["--symlink", "a", "/tmp/l", "--symlink", "b", "/tmp/l"],
        "true",
    );
    assert_eq!(
        stderr(&out),
        "bwrap: Can't make symlink at /tmp/l: existing destination is a\n"
    );
    let out = sh(
        who,
        &[
            "--dir",
            "/tmp/d",
            "--symlink",
            "d",
            "/tmp/l",
            "--bind",
            "/etc",
            "/tmp/l",
        ],
        "true",
    );
    assert_eq!(
        stderr(&out),
        "bwrap: Can't mount on symlink destination /tmp/l\n"
    );
}

/// Runs bwrap with `data` readable on fd 5 (and fd 6 if given).
fn with_data_fds(who: Caller, args: &[&str], data: &[&[u8]]) -> std::process::Output {
    let mut files = Vec::new();
    for chunk in data {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(chunk).unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        files.push(f);
    }
    let mut cmd = command(who, args);
    let fds = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_raw_fd(), 5 + i as i32))
        .collect();
    pass_fds(&mut cmd, fds);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[rstest]
fn data_ops_copy_fd_contents(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let mut args: Vec<&str> = BASE.to_vec();
    args.extend([
        "--file", "5", "/tmp/f", "--perms", "0640", "--ro-bind-data", "6", "/etc/hostname", "sh", "-c",
        "cat /tmp/f /etc/hostname; stat -c %a /tmp/f /etc/hostname; (echo x > /etc/hostname) 2>/dev/null || echo ro",
    ]);
    let out = with_data_fds(who, &args, &[b"one\n", b"two\n"]);
    assert_eq!(stdout(&out), "one\ntwo\n666\n640\nro\n", "{}", stderr(&out));
    let mut args: Vec<&str> = BASE.to_vec();
    args.extend([
        "--args",
        "5",
        "sh",
        "-c",
        "test -d /tmp/from-args && echo $X",
    ]);
    let out = with_data_fds(who, &args, &[b"--dir\0/tmp/from-args\0--setenv\0X\0yes\0"]);
    assert_eq!(stdout(&out), "yes\n", "{}", stderr(&out));
}

#[rstest]
fn remount_ro_applies_to_a_mount_point_only(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let out = sh(
        who,
        &["--tmpfs", "/tmp/w", "--remount-ro", "/tmp/w"],
        "touch /tmp/w/x || echo denied",
    );
    assert_eq!(stdout(&out), "denied\n");
    let out = sh(
        who,
        &["--dir", "/tmp/plain", "--remount-ro", "/tmp/plain"],
        "true",
    );
    assert_eq!(
        stderr(&out),
        "bwrap: Can't remount readonly on /tmp/plain: Unable to find \"/newroot/tmp/plain\" in mount table\n"
    );
}

#[rstest]
fn status_fds_report_pid_namespaces_and_exit_code(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let mut args: Vec<&str> = BASE.to_vec();
    args.extend([
        "--unshare-all",
        "--info-fd",
        "5",
        "--json-status-fd",
        "6",
        "sh",
        "-c",
        "exit 42",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (info, json) = (dir.path().join("info"), dir.path().join("json"));
    let script = format!(
        "exec 5>{} 6>{}; exec \"$@\"",
        info.display(),
        json.display()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(&script).arg("sh");
    let inner = command(who, &args);
    cmd.arg(inner.get_program()).args(inner.get_args());
    let status = cmd.stdin(Stdio::null()).status().unwrap();
    assert_eq!(status.code(), Some(42));
    let info = std::fs::read_to_string(info).unwrap();
    let json = std::fs::read_to_string(json).unwrap();
    assert!(info.starts_with("{\n    \"child-pid\": "), "{info}");
    for kind in ["ipc", "mnt", "net", "pid", "uts"] {
        assert!(info.contains(&format!("\"{kind}-namespace\": ")), "{info}");
        assert!(json.contains(&format!("\"{kind}-namespace\": ")), "{json}");
    }
    assert!(json.ends_with("{ \"exit-code\": 42 }\n"), "{json}");
}

#[rstest]
fn seccomp_programs_are_installed_before_exec(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    // Classic BPF: load the syscall number; uname (63 on x86_64) → ERRNO(EPERM), else allow.
    if !cfg!(target_arch = "x86_64") {
        return skip("the test program is written for x86_64 syscall numbers");
    }
    let insn = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut v = code.to_ne_bytes().to_vec();
        v.extend([jt, jf]);
        v.extend(k.to_ne_bytes());
        v
    };
    let program = [
        insn(0x20, 0, 0, 0),
        insn(0x15, 0, 1, 63),
        insn(0x06, 0, 0, 0x0005_0000 | 1),
        insn(0x06, 0, 0, 0x7fff_0000),
    ]
    .concat();
    let out = with_data_fds(
        who,
        &["--ro-bind", "/", "/", "--add-seccomp-fd", "5", "uname"],
        &[&program],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
    let out = with_data_fds(
        who,
        &["--ro-bind", "/", "/", "--seccomp", "5", "true"],
        &[&program],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[rstest]
fn lock_file_is_held_by_init_while_the_sandbox_runs(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let dir = shared_tempdir(0o755);
    let lock = dir.path().join("lock");
    std::fs::write(&lock, "").unwrap();
    let lock_s = lock.to_str().unwrap();
    let mut child = command(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--die-with-parent",
            "--lock-file",
            lock_s,
            "sleep",
            "10",
        ],
    )
    .spawn()
    .unwrap();
    let probe = || {
        let f = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
        // SAFETY: an all-zero flock is a valid value; the fields used are set below.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as i16;
        // SAFETY: F_GETLK fills in `fl` for an fd we own.
        unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&f), libc::F_GETLK, &mut fl) };
        fl.l_type != libc::F_UNLCK as i16
    };
    let mut held = false;
    for _ in 0..100 {
        if probe() {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(held, "the lock was never taken");
    // Killing bwrap (--die-with-parent) takes init down with it, which drops the lock.
    child.kill().unwrap();
    child.wait().unwrap();
    let released = (0..150).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        !probe()
    });
    assert!(released, "the lock outlived the sandbox");
}

#[test]
fn overlays_read_through_and_write_where_asked() {
    if let Err(why) = available(Caller::User) {
        return skip(why);
    }
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    for sub in ["lower", "upper", "work"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("lower/file"), "low\n").unwrap();
    std::process::Command::new("chown")
        .args(["-R", "bwraptest:", dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    let p = |s: &str| dir.path().join(s).to_str().unwrap().to_string();
    let (lower, upper, work) = (p("lower"), p("upper"), p("work"));
    let out = sh(
        Caller::User,
        &[
            "--overlay-src",
            &lower,
            "--overlay",
            &upper,
            &work,
            "/tmp/o",
            "--overlay-src",
            &lower,
            "--tmp-overlay",
            "/tmp/t",
        ],
        "cat /tmp/o/file; echo new > /tmp/o/new; echo tmp > /tmp/t/tmp; cat /tmp/t/tmp",
    );
    assert_eq!(stdout(&out), "low\ntmp\n", "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("upper/new")).unwrap(),
        "new\n"
    );
    assert!(!dir.path().join("lower/tmp").exists());
}

#[rstest]
fn destinations_resolve_symlinks_inside_the_sandbox_root(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let host = shared_tempdir(0o777);
    // During setup the host is at /oldroot: an absolute symlink pointing there must resolve
    // inside the new root, never reach the host.
    let link_target = format!("/oldroot{}", host.path().display());
    let out = sh(
        who,
        &[
            "--symlink",
            &link_target,
            "/tmp/x",
            "--dir",
            "/tmp/x/escaped",
        ],
        "true",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("bwrap: Can't mkdir parents for /tmp/x/escaped: "),
        "{}",
        stderr(&out)
    );
    assert!(
        !host.path().join("escaped").exists(),
        "setup wrote through a symlink onto the host"
    );
    // An absolute symlink to a sandbox directory is followed within the sandbox.
    let text = inside(
        who,
        &[
            "--dir",
            "/tmp/real",
            "--symlink",
            "/tmp/real",
            "/tmp/abs",
            "--dir",
            "/tmp/abs/made",
        ],
        "ls /tmp/real",
    );
    assert_eq!(text, "made\n");
}

/// Random but well-formed requests reach validation and setup: each either runs the
/// command or fails with status 1 and a `bwrap: ` message, never a panic or a signal.
/// Every request starts with `--ro-bind / /`, so no random op can write to the host.
#[rstest]
fn random_valid_requests_run_or_fail_cleanly(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let options: &[&[&str]] = &[
        &["--unshare-all"],
        &["--unshare-user"],
        &["--unshare-user-try"],
        &["--unshare-pid"],
        &["--unshare-net"],
        &["--share-net"],
        &["--unshare-uts"],
        &["--unshare-ipc"],
        &["--unshare-cgroup-try"],
        &["--as-pid-1"],
        &["--new-session"],
        &["--die-with-parent"],
        &["--uid", "0"],
        &["--gid", "1234"],
        &["--hostname", "h"],
        &["--setenv", "A", "b"],
        &["--unsetenv", "PATH"],
        &["--clearenv"],
        &["--cap-add", "ALL"],
        &["--cap-drop", "CAP_KILL"],
        &["--chdir", "/usr"],
        &["--argv0", "x"],
        &["--dev", "/dev"],
        &["--proc", "/proc"],
        &["--tmpfs", "/tmp"],
        &["--perms", "0700"],
        &["--size", "4096"],
        &["--dir", "/tmp/d"],
        &["--symlink", "d", "/tmp/l"],
        &["--remount-ro", "/tmp"],
        &["--chmod", "0755", "/tmp"],
        &["--mqueue", "/dev/mqueue"],
    ];
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    let mut ran = 0;
    for _ in 0..40 {
        let mut args = vec!["--ro-bind", "/", "/"];
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            args.extend_from_slice(options[(state % options.len() as u64) as usize]);
        }
        args.extend(["/bin/sh", "-c", "exit 3"]);
        let out = run(who, &args);
        let err = stderr(&out);
        match out.status.code() {
            Some(3) => ran += 1,
            Some(1) => {
                eprintln!("DBG {err}");
                assert!(
                    err.contains("bwrap: ") || err.starts_with("usage: "),
                    "{args:?}: {err}"
                )
            }
            other => panic!("{args:?}: status {other:?}: {err}"),
        }
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    eprintln!("{who:?}: {ran} of 40 random requests ran the command");
    assert!(
        ran >= 10,
        "too few random requests got through setup: {ran}"
    );
}

#[rstest]
fn masks_after_an_op_over_the_root_land_on_the_new_root(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    // One empty source bound over several files (opened once, cloned for each bind),
    // after ops that mount over the sandbox root itself ("/" and a destination climbing
    // back to it with ".."): every mask must be on the root the command sees.
    let dir = shared_tempdir(0o755);
    let secrets = ["a.env", "b.env", "c.env"];
    for name in secrets {
        std::fs::write(dir.path().join(name), "SECRET\n").unwrap();
    }
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let d = dir.path().to_str().unwrap();
    let e = empty.to_str().unwrap();
    let masked: Vec<String> = secrets.iter().map(|n| format!("{d}/{n}")).collect();
    for cover in [
        &["--bind", "/", "/"][..],
        &["--ro-bind", "/", "/tmp/.."][..],
    ] {
        let mut extra: Vec<&str> = cover.to_vec();
        for path in &masked {
            extra.extend_from_slice(&["--ro-bind", e, path]);
        }
        let out = inside(who, &extra, &format!("cat {d}/*.env; echo end"));
        assert_eq!(out, "end\n", "{cover:?}: a mask missed the root in use");
    }
}
