//! Property tests over random command lines from a seeded PRNG (deterministic, no crate):
//! valid command lines queue exactly the ops they spell, and any command line is either
//! accepted or refused with one of upstream's texts, never a panic.

use super::super::table::OPTIONS;
use super::super::{BindKind, CapChange, Config, Op, OverlayKind};
use super::{EnvChange, Parsed, Recorder, argv, parse_with};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// xorshift64: small, deterministic, good enough to spread choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A value for a path or name: pieces that look like options, spaces, non-UTF-8 bytes.
fn value(rng: &mut Rng) -> OsString {
    let pieces: &[&[u8]] = &[
        b"/",
        b"usr",
        b"-",
        b"--bind",
        b" ",
        b"a=b",
        b"\xff",
        b"\xc3\xa9",
        b"0",
    ];
    let bytes = (0..rng.below(4))
        .flat_map(|_| rng.pick(pieces).to_vec())
        .collect();
    OsString::from_vec(bytes)
}

/// An op made from its destination alone.
type DestOp = fn(OsString) -> Op;

/// What a valid command line must parse into.
#[derive(Default)]
struct Expected {
    words: Vec<OsString>,
    ops: Vec<Op>,
    env: Vec<EnvChange>,
    caps: Vec<CapChange>,
    warnings: usize,
    hostname: bool,
    tmp_overlays: usize,
    command: Vec<OsString>,
}

impl Expected {
    fn word(&mut self, word: impl Into<OsString>) {
        self.words.push(word.into());
    }

    /// `--perms` before an op that takes it, sometimes.
    fn perms(&mut self, rng: &mut Rng) -> Option<u32> {
        if !rng.chance(50) {
            return None;
        }
        let mode = rng.below(0o10000) as u32;
        self.word("--perms");
        self.word(format!("0{mode:o}"));
        Some(mode)
    }

    fn fd(&mut self, rng: &mut Rng) -> i32 {
        let fd = rng.below(1 << 20) as i32;
        self.word(fd.to_string());
        fd
    }

    fn dest(&mut self, rng: &mut Rng) -> OsString {
        let dest = value(rng);
        self.word(dest.clone());
        dest
    }

    /// Appends one valid option (with its modifiers) and what it queues.
    fn option(&mut self, rng: &mut Rng) {
        match rng.below(12) {
            0 => {
                let forms = [
                    ("--bind", BindKind::ReadWrite, false),
                    ("--bind-try", BindKind::ReadWrite, true),
                    ("--ro-bind", BindKind::ReadOnly, false),
                    ("--ro-bind-try", BindKind::ReadOnly, true),
                    ("--dev-bind", BindKind::Devices, false),
                    ("--dev-bind-try", BindKind::Devices, true),
                ];
                let (name, kind, optional) = *rng.pick(&forms);
                self.word(name);
                let (src, dest) = (self.dest(rng), self.dest(rng));
                self.ops.push(Op::Bind {
                    src,
                    dest,
                    kind,
                    optional,
                });
            }
            1 => {
                let read_only = rng.chance(50);
                self.word(if read_only {
                    "--ro-bind-fd"
                } else {
                    "--bind-fd"
                });
                let (fd, dest) = (self.fd(rng), self.dest(rng));
                let resolved = OsString::new();
                self.ops.push(Op::BindFd {
                    fd,
                    dest,
                    read_only,
                    resolved,
                });
            }
            2 => {
                let forms: [(&str, DestOp); 4] = [
                    ("--remount-ro", |dest| Op::RemountRo { dest }),
                    ("--proc", |dest| Op::Proc { dest }),
                    ("--dev", |dest| Op::Dev { dest }),
                    ("--mqueue", |dest| Op::Mqueue { dest }),
                ];
                let (name, op) = *rng.pick(&forms);
                self.word(name);
                let dest = self.dest(rng);
                self.ops.push(op(dest));
            }
            3 => {
                let perms = self.perms(rng);
                let size = rng.chance(50).then(|| {
                    let size = 1 + rng.below(1 << 40);
                    self.word("--size");
                    self.word(if rng.chance(50) {
                        format!("0x{size:x}")
                    } else {
                        size.to_string()
                    });
                    size
                });
                self.word("--tmpfs");
                let dest = self.dest(rng);
                self.ops.push(Op::Tmpfs { dest, perms, size });
            }
            4 => {
                let perms = self.perms(rng);
                self.word("--dir");
                let dest = self.dest(rng);
                self.ops.push(Op::Dir { dest, perms });
            }
            5 => {
                let perms = self.perms(rng);
                let form = *rng.pick(&["--file", "--bind-data", "--ro-bind-data"]);
                self.word(form);
                let (fd, dest) = (self.fd(rng), self.dest(rng));
                self.ops.push(match form {
                    "--file" => Op::File { fd, dest, perms },
                    _ => Op::BindData {
                        fd,
                        dest,
                        perms,
                        read_only: form == "--ro-bind-data",
                    },
                });
            }
            6 => {
                self.word("--symlink");
                let (target, dest) = (self.dest(rng), self.dest(rng));
                self.ops.push(Op::Symlink { target, dest });
            }
            7 => {
                let mode = rng.below(0o10000) as u32;
                self.word("--chmod");
                self.word(format!("{mode:o}"));
                let dest = self.dest(rng);
                self.ops.push(Op::Chmod { dest, mode });
            }
            8 => {
                let sources: Vec<OsString> = (0..1 + rng.below(3)).map(|_| value(rng)).collect();
                for source in &sources {
                    self.word("--overlay-src");
                    self.word(source.clone());
                }
                let kind = match rng.below(3) {
                    0 => {
                        self.word("--overlay");
                        let (upper, work) = (self.dest(rng), self.dest(rng));
                        OverlayKind::Writable { upper, work }
                    }
                    1 if sources.len() >= 2 => {
                        self.word("--ro-overlay");
                        OverlayKind::ReadOnly
                    }
                    _ => {
                        self.word("--tmp-overlay");
                        self.tmp_overlays += 1;
                        OverlayKind::Tmp(self.tmp_overlays - 1)
                    }
                };
                let dest = self.dest(rng);
                self.ops.push(Op::Overlay {
                    sources,
                    kind,
                    dest,
                });
            }
            9 => {
                self.word("--hostname");
                let name = self.dest(rng);
                self.warnings += usize::from(self.hostname);
                self.hostname = true;
                self.ops.push(Op::Hostname { name });
            }
            10 => {
                let var = OsString::from(*rng.pick(&["A", "PATH", "x_1"]));
                let value = value(rng);
                self.word("--setenv");
                self.word(var.clone());
                self.word(value.clone());
                self.env.push(EnvChange::Set(var, value));
            }
            _ => {
                let add = rng.chance(50);
                self.word(if add { "--cap-add" } else { "--cap-drop" });
                let (name, cap) = *rng.pick(&[
                    ("ALL", None),
                    ("cap_kill", Some(5)),
                    ("CAP_SYS_ADMIN", Some(21)),
                ]);
                self.word(name);
                self.caps.push(if add {
                    CapChange::Add(cap)
                } else {
                    CapChange::Drop(cap)
                });
            }
        }
    }

    /// A random valid command line.
    fn generate(rng: &mut Rng) -> Expected {
        let mut expected = Expected::default();
        for _ in 0..rng.below(10) {
            expected.option(rng);
        }
        let command: Vec<OsString> = (0..rng.below(3)).map(|_| value(rng)).collect();
        let needs_separator = command
            .first()
            .is_some_and(|c| c.as_encoded_bytes().starts_with(b"-"));
        if needs_separator || rng.chance(30) {
            expected.word("--");
        }
        expected.words.extend(command.iter().cloned());
        expected.command = command;
        expected
    }

    fn check(&self, cfg: &Config, effects: &Recorder) {
        let words = &self.words;
        assert_eq!(cfg.ops, self.ops, "{words:?}");
        assert_eq!(cfg.command, self.command, "{words:?}");
        assert_eq!(cfg.cap_changes, self.caps, "{words:?}");
        assert_eq!(cfg.hostname_set, self.hostname, "{words:?}");
        assert_eq!(cfg.tmp_overlay_count(), self.tmp_overlays, "{words:?}");
        assert_eq!(effects.env, self.env, "{words:?}");
        assert_eq!(effects.warnings.len(), self.warnings, "{words:?}");
    }
}

#[test]
fn valid_command_lines_queue_the_ops_they_spell() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let expected = Expected::generate(&mut rng);
        let mut effects = Recorder::default();
        match parse_with(&expected.words, &mut effects) {
            Ok(Parsed::Run(cfg)) => expected.check(&cfg, &effects),
            other => panic!("{:?}: {other:?}", expected.words),
        }
    }
}

/// Upstream's refusals: exact texts, and the start of those that carry a value.
const EXACT: &[&str] = &[
    "--args not supported in arguments file",
    "--argv0 used multiple times",
    "--seccomp cannot be combined with --add-seccomp-fd",
    "--add-seccomp-fd cannot be combined with --seccomp",
    "Invalid seccomp data, must be multiple of 8",
    "labeling not supported on this system",
    "--perms takes an octal argument <= 07777",
    "--perms given twice for the same action",
    "--perms must be followed by an option that creates a file",
    "--size takes a non-zero number of bytes",
    "--size given twice for the same action",
    "--size must be followed by --tmpfs",
    "--chmod takes an octal argument <= 07777",
    "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
    "--tmp-overlay requires at least one --overlay-src",
    "--overlay requires at least one --overlay-src",
    "--ro-overlay requires at least two --overlay-src",
    "Exceeded maximum number of arguments 9000",
    "--debug-opt=force-openat-fallback: this implementation has no openat fallback; it needs openat2 (Linux 5.6+)",
];
const PREFIXES: &[&str] = &[
    "Unknown option ",
    "Unknown --debug-opt value: ",
    "Invalid fd: ",
    "Invalid uid: ",
    "Invalid gid: ",
    "unknown cap: ",
    "setenv ",
    "--size (for tmpfs) is limited to ",
    "Can't read --args data: ",
    "Can't read seccomp data: ",
];

fn is_upstream_text(message: &str) -> bool {
    let arity = [
        " takes an argument",
        " takes one argument",
        " takes two arguments",
        " takes three arguments",
    ];
    EXACT.contains(&message)
        || PREFIXES.iter().any(|p| message.starts_with(p))
        || arity
            .iter()
            .any(|a| message.starts_with("--") && message.ends_with(a))
}

/// A word for a random command line: an option from the table, or an awkward value.
fn random_word(rng: &mut Rng) -> OsString {
    const VALUES: &[&str] = &[
        "--",
        "-",
        "--x",
        "",
        "0",
        "3",
        "-1",
        "07777",
        "8",
        "99999999999999999999",
        "0x10",
        " 1",
        "ALL",
        "cap_kill",
        "/",
        "=",
        "a=b",
        "--debug-opt=nope",
    ];
    if rng.chance(60) {
        OsString::from(rng.pick(OPTIONS).name)
    } else if rng.chance(90) {
        OsString::from(*rng.pick(VALUES))
    } else {
        value(rng)
    }
}

#[test]
fn random_command_lines_are_accepted_or_refused_in_upstream_words() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut refused = 0;
    for _ in 0..5000 {
        let words: Vec<OsString> = (0..rng.below(9)).map(|_| random_word(&mut rng)).collect();
        let mut effects = Recorder::default();
        for fd in [0, 3] {
            if rng.chance(40) {
                let inner: Vec<Vec<u8>> = (0..rng.below(5))
                    .map(|_| random_word(&mut rng).into_vec())
                    .collect();
                effects.fds.insert(fd, inner.join(&0));
            }
        }
        let result = catch_unwind(AssertUnwindSafe(|| parse_with(&words, &mut effects)));
        let Ok(result) = result else {
            panic!("{:?} panicked", argv(&words));
        };
        if let Err(err) = result {
            refused += 1;
            let message = err.to_string();
            assert!(is_upstream_text(&message), "{words:?}: {message}");
        }
    }
    // The generator reaches both outcomes often.
    assert!((1000..4900).contains(&refused), "{refused} refused");
}

/// Cutting a valid command line anywhere gives a valid one or an upstream refusal.
#[test]
fn truncated_command_lines_are_refused_in_upstream_words() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..2000 {
        let expected = Expected::generate(&mut rng);
        let cut = rng.below(expected.words.len() as u64 + 1) as usize;
        let words = &expected.words[..cut];
        if let Err(err) = parse_with(words, &mut Recorder::default()) {
            let message = err.to_string();
            assert!(is_upstream_text(&message), "{words:?}: {message}");
        }
    }
}
