//! The left-to-right argument parser (upstream's `parse_args_recurse`).

use super::environ::{clear_env, env_name_ok, set_env};
use super::value::{SizeError, parse_mode, parse_nonneg_int, parse_size};
use super::{CapChange, Config, Op, help};
use crate::diag::{die, die_errno, enable_level_prefix, show, warn};
use crate::process::caps;
use std::ffi::OsString;
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Most arguments bwrap accepts in total, counting those read through `--args`.
const MAX_ARGS: usize = 9000;

/// Parses the whole command line (`argv[0]` included). Exits on `--help`, `--version` and
/// on any error, with upstream's message and status.
pub fn parse(argv: &[OsString]) -> Config {
    let argv0 = argv
        .first()
        .map(|a| show(a.as_bytes()))
        .unwrap_or_else(|| "bwrap".into());
    if argv.len() > MAX_ARGS {
        die(&format!("Exceeded maximum number of arguments {MAX_ARGS}"));
    }
    let mut parser = Parser {
        argv0,
        total_args: argv.len(),
        ..Parser::default()
    };
    let rest = argv.get(1..).unwrap_or_default();
    let used = parser.parse_list(rest, false);
    parser.check_overlay_src_consumed();
    let mut cfg = parser.cfg;
    cfg.command = rest[used..].to_vec();
    cfg.invoked_as = parser.argv0;
    cfg
}

#[derive(Default)]
pub(super) struct Parser {
    argv0: String,
    pub(super) cfg: Config,
    /// Pending `--perms`, for the next op that creates a file.
    pub(super) perms: Option<u32>,
    /// Pending `--size`, for the next `--tmpfs`.
    pub(super) size: Option<u64>,
    /// Pending `--overlay-src` layers, for the next overlay op.
    pub(super) overlay_sources: Vec<OsString>,
    total_args: usize,
    pub(super) tmp_overlays: usize,
}

/// The arguments that follow an option, with arity checks in upstream's words.
pub(super) struct Args<'a> {
    option: &'a str,
    rest: &'a [OsString],
}

impl<'a> Args<'a> {
    pub(super) fn take(&self, n: usize) -> &'a [OsString] {
        if self.rest.len() < n {
            let what = match (n, self.option) {
                (1, "--argv0") => "one argument",
                (1, _) => "an argument",
                (2, _) => "two arguments",
                _ => "three arguments",
            };
            let option = if self.option == "--ro-bind-fd" {
                "--bind-fd"
            } else {
                self.option
            };
            die(&format!("{option} takes {what}"));
        }
        &self.rest[..n]
    }

    pub(super) fn fd(&self, index: usize, count: usize) -> RawFd {
        let value = &self.take(count)[index];
        match parse_nonneg_int(value.as_bytes()) {
            Some(fd) => fd as RawFd,
            None => die(&format!("Invalid fd: {}", show(value.as_bytes()))),
        }
    }
}

impl Parser {
    /// Parses options until the first non-option; returns how many arguments were used.
    fn parse_list(&mut self, args: &[OsString], from_args_file: bool) -> usize {
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_bytes();
            if arg == b"--" {
                return i + 1;
            }
            if !arg.starts_with(b"-") {
                return i;
            }
            let option = String::from_utf8_lossy(arg).into_owned();
            let extra = Args {
                option: &option,
                rest: &args[i + 1..],
            };
            let used = self.option(&option, &extra, from_args_file);
            if option != "--perms" && option != "--size" {
                self.check_modifiers_consumed(&option);
            }
            i += 1 + used;
        }
        i
    }

    fn check_modifiers_consumed(&mut self, option: &str) {
        if self.perms.is_some() {
            die("--perms must be followed by an option that creates a file");
        }
        if self.size.is_some() {
            die("--size must be followed by --tmpfs");
        }
        if option != "--overlay-src" {
            self.check_overlay_src_consumed();
        }
    }

    fn check_overlay_src_consumed(&self) {
        if !self.overlay_sources.is_empty() {
            die(
                "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
            );
        }
    }

    fn last_wins<T>(slot: &mut Option<T>, value: T, option: &str) {
        if slot.is_some() {
            warn(&format!("Only the last {option} option will take effect"));
        }
        *slot = Some(value);
    }

    /// Handles one option; returns how many following arguments it consumed.
    fn option(&mut self, option: &str, a: &Args, from_args_file: bool) -> usize {
        let cfg = &mut self.cfg;
        let u = &mut cfg.unshare;
        match option {
            "--help" => {
                print!("{}", help::usage(&self.argv0));
                std::process::exit(0);
            }
            "--version" => {
                print!("{}", help::version());
                std::process::exit(0);
            }
            "--args" => {
                if from_args_file {
                    die("--args not supported in arguments file");
                }
                let fd = a.fd(0, 1);
                let spliced = read_args_fd(fd);
                self.total_args += spliced.len();
                if self.total_args > MAX_ARGS {
                    die(&format!("Exceeded maximum number of arguments {MAX_ARGS}"));
                }
                self.parse_list(&spliced, true);
                return 1;
            }
            "--argv0" => {
                let value = a.take(1)[0].clone();
                if cfg.argv0.is_some() {
                    die("--argv0 used multiple times");
                }
                cfg.argv0 = Some(value);
                return 1;
            }
            "--level-prefix" => enable_level_prefix(),
            "--unshare-all" => {
                u.user_try = true;
                u.ipc = true;
                u.pid = true;
                u.net = true;
                u.uts = true;
                u.cgroup_try = true;
            }
            "--unshare-user" => u.user = true,
            "--unshare-user-try" => u.user_try = true,
            "--unshare-ipc" => u.ipc = true,
            "--unshare-pid" => u.pid = true,
            "--unshare-net" => u.net = true,
            "--unshare-uts" => u.uts = true,
            "--unshare-cgroup" => u.cgroup = true,
            "--unshare-cgroup-try" => u.cgroup_try = true,
            "--share-net" => u.net = false,
            "--disable-userns" => cfg.disable_userns = true,
            "--assert-userns-disabled" => cfg.assert_userns_disabled = true,
            "--new-session" => cfg.new_session = true,
            "--die-with-parent" => cfg.die_with_parent = true,
            "--as-pid-1" => cfg.as_pid_1 = true,
            "--not-a-security-boundary" => cfg.not_a_security_boundary = true,
            "--clearenv" => clear_env(),
            "--chdir" => {
                let dir = a.take(1)[0].clone();
                Self::last_wins(&mut cfg.chdir, dir, option);
                return 1;
            }
            "--setenv" => {
                let kv = a.take(2);
                set_env(&kv[0], &kv[1]);
                return 2;
            }
            "--unsetenv" => {
                let var = &a.take(1)[0];
                if env_name_ok(var) {
                    // SAFETY: bwrap is single-threaded while parsing, so nothing reads the
                    // environment concurrently.
                    unsafe { std::env::remove_var(var) };
                }
                return 1;
            }
            "--uid" | "--gid" => {
                let value = &a.take(1)[0];
                let Some(id) = parse_nonneg_int(value.as_bytes()) else {
                    die(&format!(
                        "Invalid {}: {}",
                        &option[2..],
                        show(value.as_bytes())
                    ));
                };
                let slot = if option == "--uid" {
                    &mut cfg.uid
                } else {
                    &mut cfg.gid
                };
                Self::last_wins(slot, id, option);
                return 1;
            }
            "--hostname" => {
                let name = a.take(1)[0].clone();
                if cfg.hostname_set {
                    warn("Only the last --hostname option will take effect");
                }
                cfg.hostname_set = true;
                cfg.ops.push(Op::Hostname { name });
                return 1;
            }
            "--userns" | "--userns2" | "--pidns" | "--sync-fd" | "--block-fd"
            | "--userns-block-fd" | "--info-fd" | "--json-status-fd" => {
                let fd = a.fd(0, 1);
                let slot = match option {
                    "--userns" => &mut cfg.userns_fd,
                    "--userns2" => &mut cfg.userns2_fd,
                    "--pidns" => &mut cfg.pidns_fd,
                    "--sync-fd" => &mut cfg.sync_fd,
                    "--block-fd" => &mut cfg.block_fd,
                    "--userns-block-fd" => &mut cfg.userns_block_fd,
                    "--info-fd" => &mut cfg.info_fd,
                    _ => &mut cfg.json_status_fd,
                };
                Self::last_wins(slot, fd, option);
                return 1;
            }
            "--lock-file" => {
                cfg.lock_files.push(a.take(1)[0].clone());
                return 1;
            }
            "--seccomp" => {
                let fd = a.fd(0, 1);
                if !cfg.seccomp_programs.is_empty() {
                    die("--seccomp cannot be combined with --add-seccomp-fd");
                }
                Self::last_wins(&mut cfg.seccomp_fd, fd, option);
                return 1;
            }
            "--add-seccomp-fd" => {
                let fd = a.fd(0, 1);
                if cfg.seccomp_fd.is_some() {
                    die("--add-seccomp-fd cannot be combined with --seccomp");
                }
                let program = crate::process::seccomp::read_program(fd);
                cfg.seccomp_programs
                    .push(program.unwrap_or_else(|e| crate::diag::fatal(&e)));
                return 1;
            }
            "--cap-add" | "--cap-drop" => {
                let name = &a.take(1)[0];
                let cap = if name.as_bytes().eq_ignore_ascii_case(b"ALL") {
                    None
                } else {
                    match caps::from_name(name.as_bytes()) {
                        Some(cap) => Some(cap),
                        None => die(&format!("unknown cap: {}", show(name.as_bytes()))),
                    }
                };
                cfg.cap_changes.push(if option == "--cap-add" {
                    CapChange::Add(cap)
                } else {
                    CapChange::Drop(cap)
                });
                return 1;
            }
            "--exec-label" | "--file-label" => {
                a.take(1);
                die("labeling not supported on this system");
            }
            "--perms" => {
                let value = &a.take(1)[0];
                let Some(mode) = parse_mode(value.as_bytes()) else {
                    die("--perms takes an octal argument <= 07777");
                };
                if self.perms.replace(mode).is_some() {
                    die("--perms given twice for the same action");
                }
                return 1;
            }
            "--size" => {
                let value = &a.take(1)[0];
                let size = match parse_size(value.as_bytes()) {
                    Ok(size) => size,
                    Err(SizeError::NotPositive) => die("--size takes a non-zero number of bytes"),
                    Err(SizeError::TooLarge(limit)) => {
                        die(&format!("--size (for tmpfs) is limited to {limit}"))
                    }
                };
                if self.size.replace(size).is_some() {
                    die("--size given twice for the same action");
                }
                return 1;
            }
            "--chmod" => {
                let v = a.take(2);
                let Some(mode) = parse_mode(v[0].as_bytes()) else {
                    die("--chmod takes an octal argument <= 07777");
                };
                cfg.ops.push(Op::Chmod {
                    dest: v[1].clone(),
                    mode,
                });
                return 2;
            }
            "--overlay-src" => {
                self.overlay_sources.push(a.take(1)[0].clone());
                return 1;
            }
            "--overlay" | "--tmp-overlay" | "--ro-overlay" => return self.overlay(option, a),
            _ if option.starts_with("--debug-opt=") => match &option["--debug-opt=".len()..] {
                "force-legacy-mount" => cfg.force_legacy_mount = true,
                "force-openat-fallback" => die(
                    "--debug-opt=force-openat-fallback: this implementation has no openat fallback; it needs openat2 (Linux 5.6+)",
                ),
                other => die(&format!("Unknown --debug-opt value: {other}")),
            },
            _ => return self.setup_op(option, a),
        }
        0
    }
}

/// Reads all of `fd` as NUL-separated arguments (a trailing NUL is optional), then closes it.
fn read_args_fd(fd: RawFd) -> Vec<OsString> {
    // SAFETY: `fd` is the `--args` descriptor number, handed to bwrap to read and close; no
    // Rust object of this process owns it, and it stays open until the close below.
    let data = match crate::fd::read_to_end(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }) {
        Ok(data) => data,
        Err(errno) => die_errno("Can't read --args data", errno),
    };
    let _ = nix::unistd::close(fd);
    let body = data.strip_suffix(b"\0").unwrap_or(&data);
    if body.is_empty() && data.is_empty() {
        return Vec::new();
    }
    body.split(|b| *b == 0)
        .map(|s| OsString::from_vec(s.to_vec()))
        .collect()
}
