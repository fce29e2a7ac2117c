//! The synchronisation and namespace-joining options: `--sync-fd`, `--block-fd`,
//! `--userns-block-fd`, `--userns`/`--pidns`, `--disable-userns`, `--die-with-parent`,
//! `--new-session`, `--mqueue`, and the refusal to run setuid.

mod common;

use common::{
    BWRAP, Caller, as_caller, available, child_pid, command, pass_fds, run, sh, skip, stderr,
    stdout,
};
use rstest::rstest;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A pipe whose write end is handed to bwrap as fd 5 (and read end kept here).
fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
}

/// Spawns bwrap with `fd` as fd `target` in the child.
fn spawn_with_fd(who: Caller, args: &[&str], fd: &OwnedFd, target: i32) -> Child {
    let mut cmd = command(who, args);
    pass_fds(&mut cmd, vec![(fd.as_raw_fd(), target)]);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Which end of a new pipe bwrap gets as its fd 5.
enum PipeEnd {
    Read,
    Write,
}

/// Spawns bwrap with one end of a new pipe as fd 5; returns the child and the other end.
fn spawn_with_pipe(who: Caller, args: &[&str], give: PipeEnd) -> (Child, OwnedFd) {
    let (read, write) = pipe();
    let (given, kept) = match give {
        PipeEnd::Read => (read, write),
        PipeEnd::Write => (write, read),
    };
    (spawn_with_fd(who, args, &given, 5), kept)
}

fn finished_within(child: &mut Child, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[rstest]
fn block_fd_holds_the_command_until_data_arrives(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let args = ["--ro-bind", "/", "/", "--block-fd", "5", "echo", "ran"];
    let (mut child, write) = spawn_with_pipe(who, &args, PipeEnd::Read);
    assert!(
        !finished_within(&mut child, Duration::from_millis(300)),
        "command ran before the block fd had data"
    );
    nix::unistd::write(&write, b"x").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
}

#[rstest]
fn sync_fd_stays_open_in_init_while_the_sandbox_runs(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let script = "test ! -e /proc/self/fd/5 && sleep 0.5";
    let args = ["--ro-bind", "/", "/", "--sync-fd", "5", "sh", "-c", script];
    let (child, read) = spawn_with_pipe(who, &args, PipeEnd::Write);
    let mut child = child;
    let start = Instant::now();
    let mut buf = [0u8; 1];
    let n = nix::unistd::read(&read, &mut buf).unwrap();
    assert_eq!(n, 0);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "sync fd closed before the sandbox ended"
    );
    assert!(
        child.wait().unwrap().success(),
        "the command inherited the sync fd"
    );
}

#[test]
fn userns_block_fd_waits_after_reporting_info() {
    if let Err(why) = available(Caller::Root) {
        return skip(why);
    }
    let (info_r, info_w) = pipe();
    let (block_r, block_w) = pipe();
    let args = [
        "--ro-bind",
        "/",
        "/",
        "--unshare-user",
        "--info-fd",
        "5",
        "--userns-block-fd",
        "6",
        "id",
        "-u",
    ];
    let mut cmd = command(Caller::Root, &args);
    pass_fds(
        &mut cmd,
        vec![(info_w.as_raw_fd(), 5), (block_r.as_raw_fd(), 6)],
    );
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop((info_w, block_r));
    let mut info = String::new();
    std::fs::File::from(info_r)
        .read_to_string(&mut info)
        .unwrap();
    let pid = child_pid(&info);
    assert!(!finished_within(&mut child, Duration::from_millis(200)));
    // Act as newuidmap would, writing the maps from outside.
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 0 1\n").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 0 1\n").unwrap();
    nix::unistd::write(&block_w, b"x").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[rstest]
fn joining_existing_user_and_pid_namespaces(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let (info_r, info_w) = pipe();
    let args = [
        "--ro-bind",
        "/",
        "/",
        "--die-with-parent",
        "--unshare-user",
        "--unshare-pid",
        "--info-fd",
        "5",
        "sleep",
        "5",
    ];
    let mut first = spawn_with_fd(who, &args, &info_w, 5);
    drop(info_w);
    let mut info = String::new();
    std::fs::File::from(info_r)
        .read_to_string(&mut info)
        .unwrap();
    let pid = child_pid(&info);
    let script = format!(
        "exec 11</proc/{pid}/ns/user 12</proc/{pid}/ns/pid; exec {BWRAP} --userns 11 --pidns 12 --die-with-parent --ro-bind / / --proc /proc sh -c 'readlink /proc/self/ns/pid; echo $$; sleep 0.2; echo alive'"
    );
    let mut cmd = as_caller(who, "bash");
    let out = cmd.arg("-c").arg(&script).output().unwrap();
    let want = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        text.lines().next(),
        Some(want.to_str().unwrap()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        text.lines().nth(1),
        Some("1"),
        "joined the pid namespace as a new process, not its init"
    );
    // --die-with-parent ties the sandbox to bwrap, not to the short-lived --pidns helper.
    assert_eq!(text.lines().nth(2), Some("alive"));
}

#[rstest]
fn disable_userns_forbids_nested_namespaces(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let script = "unshare -U true 2>/dev/null || echo refused";
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--unshare-user",
            "--disable-userns",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(stdout(&out), "refused\n", "{}", stderr(&out));
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--unshare-user",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(
        stdout(&out),
        "",
        "without --disable-userns nesting works: {}",
        stderr(&out)
    );
    let out = run(
        who,
        &[
            "--ro-bind",
            "/",
            "/",
            "--unshare-user",
            "--assert-userns-disabled",
            "true",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "bwrap: creation of new user namespaces was not disabled as requested\n"
    );
}

#[rstest]
fn new_session_and_mqueue(#[values(Caller::Root, Caller::User)] who: Caller) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    let text = stdout(&sh(
        who,
        &["--new-session", "--unshare-ipc", "--mqueue", "/dev/mqueue"],
        "cut -d' ' -f6 /proc/$$/stat; echo $$; findmnt -n -o FSTYPE /dev/mqueue",
    ));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], lines[1], "the command leads its own session");
    assert_eq!(lines[2], "mqueue");
}

#[rstest]
fn die_with_parent_kills_the_sandbox_with_its_caller(
    #[values(Caller::Root, Caller::User)] who: Caller,
) {
    if let Err(why) = available(who) {
        return skip(why);
    }
    // A shell starts bwrap in the background and reports the sandboxed sleep's host pid.
    let inner = format!(
        "{BWRAP} --ro-bind / / --die-with-parent --unshare-pid --info-fd 3 sleep 30 3>&1 & wait"
    );
    let mut shell = as_caller(who, "sh");
    shell.arg("-c").arg(&inner);
    let mut parent = shell.stdout(Stdio::piped()).spawn().unwrap();
    let mut reader = BufReader::new(parent.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("child-pid") {
        line.clear();
        assert_ne!(
            reader.read_line(&mut line).unwrap(),
            0,
            "no info from bwrap"
        );
    }
    let pid: i32 = line
        .split(": ")
        .nth(1)
        .unwrap()
        .trim_end_matches([',', '\n'])
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // SIGKILL the shell: the monitor dies with it (PDEATHSIG) and so does the sandbox.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(parent.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    parent.wait().unwrap();
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
        && start.elapsed() < Duration::from_secs(3)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "));
    assert!(gone, "sandbox pid {pid} survived its parent");
}

#[test]
fn refuses_to_run_setuid() {
    if let Err(why) = available(Caller::User) {
        return skip(why);
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let copy = dir.path().join("bwrap");
    std::fs::copy(BWRAP, &copy).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    // A parallel test's fork may briefly hold the copy's write fd (ETXTBSY, setpriv's 126).
    let run_copy = || {
        as_caller(Caller::User, copy.to_str().unwrap())
            .args(["--ro-bind", "/", "/", "true"])
            .output()
            .unwrap()
    };
    let mut out = run_copy();
    for _ in 0..20 {
        if out.status.code() != Some(126) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        out = run_copy();
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.is_empty() && out.status.success() {
        return skip(format!(
            "{} is mounted nosuid, the setuid bit has no effect there",
            dir.path().display()
        ));
    }
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.starts_with("bwrap: this bwrap does not support setuid or setgid mode"),
        "{err}"
    );
}
