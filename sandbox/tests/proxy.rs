//! Network mode `proxy`: only the loopback proxy endpoints named by the proxy variables are
//! reachable from inside, through the host and inner bridges; everything else is refused.
//! Run on the real kernel for every target (root and bwraptest, each bwrap).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

/// The proxy policy with `/tmp` writable (where the host bridges' directory is).
const TMP_WRITABLE_PROXY_POLICY: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\":slash_tmp\" = \"write\"\n[network]\nmode = \"proxy\"\n";

const PROXY_POLICY: &str = "[filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n[network]\nmode = \"proxy\"\n";

/// A loopback TCP server answering each connection with `ECHO:` + what it received
/// (until the client half-closes). Stops when dropped, or by itself after 60 s.
struct EchoServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl EchoServer {
    fn start() -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut served = 0;
            while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        let mut request = Vec::new();
                        let _ = conn.read_to_end(&mut request);
                        let _ = conn.write_all(b"ECHO:");
                        let _ = conn.write_all(&request);
                        served += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => panic!("echo server accept: {e}"),
                }
            }
            served
        });
        EchoServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the server and returns how many connections it served.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Connects to the proxy named by `$VAR` (argv[1]), sends a request, half-closes and
/// prints the answer; then tries 127.0.0.1:argv[2] directly, a Unix socket, a datagram
/// socketpair, and re-connecting a stream socketpair to the host Unix socket argv[3].
const CLIENT: &str = r#"
import os, socket, sys, urllib.parse
value = os.environ[sys.argv[1]]
u = urllib.parse.urlsplit(value if "://" in value else "http://" + value)
c = socket.create_connection((u.hostname, u.port), timeout=10)
c.sendall(b"GET http://example.test/ HTTP/1.0\r\n\r\n")
c.shutdown(socket.SHUT_WR)
answer = b""
while chunk := c.recv(4096):
    answer += chunk
print("answer=" + answer.decode().splitlines()[0])
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5)
    print("other=connected")
except OSError as e:
    print(f"other=errno{e.errno}")
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    print("unix=created")
except OSError as e:
    print(f"unix=errno{e.errno}")
a, b = socket.socketpair()
a.sendall(b"pair")
print("socketpair=" + b.recv(4).decode())
try:
    socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    print("dgram_pair=created")
except OSError as e:
    print(f"dgram_pair=errno{e.errno}")
try:
    a.connect(sys.argv[3])
    print("pair_reconnect=connected")
except OSError as e:
    print(f"pair_reconnect=errno{e.errno}")
"#;

/// Runs `sandbox run` under the proxy policy with exactly the environment `vars` added
/// (inherited proxy variables removed).
fn run_with_env(t: &Target, f: &Fixture, vars: &[(&str, String)], command: &[&str]) -> Output {
    to_output(proxy_command(t, f, vars, "run", command).output().unwrap())
}

/// The command [`run_with_env`] runs (`subcommand` `run` or `explain`).
fn proxy_command(
    t: &Target,
    f: &Fixture,
    vars: &[(&str, String)],
    subcommand: &str,
    command: &[&str],
) -> std::process::Command {
    proxy_command_with(PROXY_POLICY, t, f, vars, subcommand, command)
}

/// [`proxy_command`] under the policy `text`.
fn proxy_command_with(
    text: &str,
    t: &Target,
    f: &Fixture,
    vars: &[(&str, String)],
    subcommand: &str,
    command: &[&str],
) -> std::process::Command {
    f.give_to(t.user);
    let policy = f.policy("proxy.toml", text);
    let mut c = command_as(t.user, "env");
    for key in sandbox::proxy::PROXY_ENV_KEYS {
        c.env_remove(key).env_remove(key.to_ascii_lowercase());
    }
    c.args(vars.iter().map(|(k, v)| format!("{k}={v}")))
        .arg(sandbox_bin())
        .args([subcommand, "--bwrap"])
        .arg(&t.bwrap)
        .arg("--policy")
        .arg(&policy)
        .arg("--cwd")
        .arg(f.ws())
        .arg("--")
        .args(command);
    c
}

/// Host pids of running host bridges relaying to `endpoint` (unique per test: the echo
/// server's port), so concurrent runs elsewhere do not count.
fn bridge_pids(endpoint: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let argv: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if argv.len() >= 2 && argv[0] == b"sandbox-proxy-bridge" && argv[1] == endpoint.as_bytes() {
            pids.push(pid);
        }
    }
    pids
}

/// The socket directory the `sandbox` process `pid` of `user` uses (the tests run without
/// XDG_RUNTIME_DIR, so under /tmp).
fn socket_dir(user: User, pid: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/sandbox-proxy-{}-{pid}-0", uid(user)))
}

fn uid(user: User) -> u32 {
    match user {
        User::Root => 0,
        User::Test => 1001,
    }
}

/// Waits up to 5 s for `done`.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn only_the_named_loopback_proxy_is_reachable_through_the_rewritten_variable() {
    for_each_target(|t| {
        let f = Fixture::new();
        let script = f.policy("client.py", CLIENT);
        let echo = EchoServer::start();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        other.set_nonblocking(true).unwrap();
        let other_port = other.local_addr().unwrap().port().to_string();
        let proxy = format!("http://user:pw@localhost:{}/base/", echo.port);
        let vars = [
            ("HTTP_PROXY", proxy.clone()),
            ("https_proxy", format!("127.0.0.1:{}", echo.port)),
        ];
        let command = [
            "sh",
            "-c",
            "echo \"HTTP_PROXY=$HTTP_PROXY\"; echo \"https_proxy=$https_proxy\"; python3 \"$0\" HTTP_PROXY \"$1\" \"$2\" && python3 \"$0\" https_proxy \"$1\" \"$2\"",
        ];
        let script = script.display().to_string();
        let host_socket = f.aux().join("host.sock");
        let _host = std::os::unix::net::UnixListener::bind(&host_socket).unwrap();
        let host_socket = host_socket.display().to_string();
        let command: Vec<&str> = command
            .iter()
            .copied()
            .chain([script.as_str(), other_port.as_str(), host_socket.as_str()])
            .collect();
        let out = run_with_env(t, &f, &vars, &command);
        assert_ok(&out, t);
        let lines: Vec<&str> = out.stdout.lines().collect();
        let http = lines[0].strip_prefix("HTTP_PROXY=").unwrap();
        let rewritten_port = http
            .strip_prefix("http://user:pw@127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/base/"))
            .unwrap_or_else(|| panic!("[{}] not rewritten as expected: {http}", t.label));
        assert_ne!(rewritten_port, echo.port.to_string(), "[{}]", t.label);
        assert_eq!(
            lines[1],
            format!("https_proxy=127.0.0.1:{rewritten_port}"),
            "[{}] one endpoint, one bridge, no scheme added",
            t.label
        );
        for variable_run in [&lines[2..8], &lines[8..14]] {
            assert_eq!(
                variable_run,
                [
                    "answer=ECHO:GET http://example.test/ HTTP/1.0",
                    "other=errno111",
                    "unix=errno1",
                    "socketpair=pair",
                    "dgram_pair=errno1",
                    "pair_reconnect=errno106",
                ],
                "[{}] {out:?}",
                t.label
            );
        }
        assert_eq!(echo.finish(), 2, "[{}]", t.label);
        assert!(
            matches!(other.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
            "[{}] the unnamed host listener was reached",
            t.label
        );
    });
}

#[test]
fn bridges_live_for_the_run_only_in_a_private_directory() {
    for_each_target(|t| {
        let f = Fixture::new();
        let echo = EchoServer::start();
        let endpoint = format!("127.0.0.1:{}", echo.port);
        let vars = [("ALL_PROXY", format!("socks5h://{endpoint}"))];
        let script = "touch started; while [ ! -e go ]; do sleep 0.05; done";
        let run = proxy_command(t, &f, &vars, "run", &["sh", "-c", script])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let dir = socket_dir(t.user, run.id());
        wait_for(&f.ws().join("started"));
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o700, "[{}]", t.label);
        assert_eq!(meta.uid(), uid(t.user), "[{}]", t.label);
        assert!(dir.join("route-0.sock").exists(), "[{}]", t.label);
        assert_eq!(bridge_pids(&endpoint).len(), 1, "[{}]", t.label);
        std::fs::write(f.ws().join("go"), "").unwrap();
        let out = to_output(run.wait_with_output().unwrap());
        assert_ok(&out, t);
        assert!(
            bridge_pids(&endpoint).is_empty(),
            "[{}] a bridge outlived the run",
            t.label
        );
        assert!(!dir.exists(), "[{}] {} left behind", t.label, dir.display());
    });
}

#[test]
fn bridges_die_with_a_killed_sandbox() {
    let t = &targets()[0];
    let f = Fixture::new();
    let echo = EchoServer::start();
    let endpoint = format!("127.0.0.1:{}", echo.port);
    let vars = [("HTTP_PROXY", format!("http://{endpoint}"))];
    let command = ["sh", "-c", "touch started; sleep 30"];
    let mut sandbox = proxy_command(t, &f, &vars, "run", &command)
        .spawn()
        .unwrap();
    let dir = socket_dir(t.user, sandbox.id());
    wait_for(&f.ws().join("started"));
    assert_eq!(bridge_pids(&endpoint).len(), 1);
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();
    assert!(
        eventually(|| bridge_pids(&endpoint).is_empty()),
        "a bridge outlived its killed sandbox"
    );
    assert!(
        dir.exists(),
        "SIGKILL leaves the directory for the next run"
    );
    let out = run_with_env(t, &f, &vars, &["true"]);
    assert_ok(&out, t);
    assert!(
        !dir.exists(),
        "the next proxy run removes {}",
        dir.display()
    );
}

#[test]
fn explain_shows_the_masked_socket_directory_and_the_routes() {
    let t = &targets()[0];
    let f = Fixture::new();
    let endpoint = "127.0.0.1:3128";
    let vars = [("HTTPS_PROXY", format!("http://{endpoint}"))];
    let policy = TMP_WRITABLE_PROXY_POLICY;
    let mut explain = proxy_command_with(policy, t, &f, &vars, "explain", &["true"]);
    let out = to_output(explain.output().unwrap());
    assert_eq!(out.status, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    // The mask is a bwrap operation or, with inner-stage mounts, a `# inner:` line.
    let dir = lines
        .iter()
        .copied()
        .chain(out.stderr.lines().filter_map(|l| l.split(' ').next_back()))
        .find(|l| l.starts_with("/tmp/sandbox-proxy-"))
        .unwrap_or_else(|| panic!("the writable /tmp does not mask the socket directory: {out:?}"));
    assert!(
        !lines.iter().any(|l| l.starts_with("/dev/.sandbox/proxy")),
        "the socket directory is mounted into the sandbox: {out:?}"
    );
    let route = lines.iter().position(|l| *l == "--proxy-route").unwrap();
    assert_eq!(lines[route + 1], "HTTPS_PROXY=route-0.sock");
    let fd = lines.iter().position(|l| *l == "--proxy-dir-fd").unwrap();
    assert_eq!(lines[fd + 1], "7");
    assert!(lines.contains(&"--unshare-net"), "{out:?}");
    assert!(bridge_pids(endpoint).is_empty(), "explain started a bridge");
    assert!(
        !PathBuf::from(dir).exists(),
        "explain created the directory"
    );
}

/// Issue 10, break 2: with `/tmp` writable, the command replaces its run's `route-0.sock`
/// with a symlink to a host Unix socket (the decoy), then connects to the proxy port.
/// The inner bridge must still reach only the real proxy.
#[test]
fn a_swapped_route_socket_never_redirects_the_bridge() {
    const ASK: &str = r#"
import os, socket, urllib.parse
u = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
c = socket.create_connection((u.hostname, u.port), timeout=10)
c.sendall(b"CONNECT")
c.shutdown(socket.SHUT_WR)
c.settimeout(10)
answer = b""
while chunk := c.recv(4096):
    answer += chunk
print("answer=" + answer.decode())
"#;
    for_each_target(|t| {
        let f = Fixture::new();
        let ask = f.policy("ask.py", ASK);
        let echo = EchoServer::start();
        let vars = [("HTTP_PROXY", format!("http://127.0.0.1:{}", echo.port))];
        let script = format!(
            "touch started; while [ ! -e go ]; do sleep 0.05; done; d=$(cat go); \
             ls \"$d\" >/dev/null 2>&1 && echo visible; \
             rm -f \"$d/route-0.sock\" 2>/dev/null && ln -s \"$0\" \"$d/route-0.sock\" 2>/dev/null && echo swapped; \
             python3 {}",
            ask.display()
        );
        let mut run = proxy_command_with(TMP_WRITABLE_PROXY_POLICY, t, &f, &vars, "run", &[]);
        // The decoy: a host socket the command's user may connect to.
        let decoy_path = f.aux().join("decoy.sock");
        let decoy = std::os::unix::net::UnixListener::bind(&decoy_path).unwrap();
        decoy.set_nonblocking(true).unwrap();
        std::fs::set_permissions(&decoy_path, std::fs::Permissions::from_mode(0o777)).unwrap();
        run.args(["sh", "-c", &script])
            .arg(&decoy_path)
            .stdout(std::process::Stdio::piped());
        let run = run.spawn().unwrap();
        let dir = socket_dir(t.user, run.id());
        wait_for(&f.ws().join("started"));
        assert!(dir.join("route-0.sock").exists(), "[{}]", t.label);
        let go = f.aux().join("go");
        std::fs::write(&go, dir.display().to_string()).unwrap();
        std::fs::rename(&go, f.ws().join("go")).unwrap();
        let out = to_output(run.wait_with_output().unwrap());
        assert!(
            matches!(decoy.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
            "[{}] the bridge connected to the decoy: {out:?}",
            t.label
        );
        assert_ok(&out, t);
        assert!(
            out.stdout.contains("answer=ECHO:CONNECT"),
            "[{}] the proxy is not reached: {out:?}",
            t.label
        );
        assert!(
            !out.stdout.contains("visible") && !out.stdout.contains("swapped"),
            "[{}] the socket directory is reachable: {out:?}",
            t.label
        );
        assert_eq!(echo.finish(), 1, "[{}]", t.label);
    });
}

#[test]
fn missing_or_remote_proxy_variables_are_refused_before_running() {
    for_each_target(|t| {
        let f = Fixture::new();
        let marker = f.ws().join("RAN");
        let touch = ["touch", "RAN"];
        let none = run_with_env(t, &f, &[("HTTP_PROXY", String::new())], &touch);
        assert_refused(
            &none,
            t,
            &["network.mode", "proxy", "HTTP_PROXY", "fix:"],
            &marker,
        );
        for (key, value) in [
            ("HTTPS_PROXY", "http://10.0.0.1:3128"),
            ("all_proxy", "socks5://proxy.example:1080"),
            ("HTTP_PROXY", "http://127.0.0.1:0"),
        ] {
            let vars = [
                ("http_proxy", "http://127.0.0.1:3128".to_string()),
                (key, value.to_string()),
            ];
            let out = run_with_env(t, &f, &vars, &touch);
            assert_refused(&out, t, &[key, value, "fix:"], &marker);
        }
    });
}
