//! `bwrap-shim`: stands in front of a real bwrap and pretends some options don't exist, to
//! simulate an old bubblewrap (no `--argv0`, or no `--perms`), or silently drops some, to
//! simulate a broken sandbox (`mutation-check` proves that cases catch each such bug).
//!
//! `--help` output has the hidden options' lines removed; a run that uses a hidden option
//! fails like bubblewrap does with an unknown option. `--drop OPT:N[:TEXT]` removes every
//! occurrence of OPT with its N arguments (only those where an argument contains TEXT) before
//! the command's `--`. `--drop-inner ACTION[:TEXT]` removes entries from the sandbox's
//! inner-stage mount list instead ([`inner`]). Anything else is exec'd as is. With `--log FILE`, every invocation
//! other than `--help`/`--version` appends a line to FILE (so a case can prove whether this
//! bwrap actually ran its command).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::{Dispatched, Outcome, Usage, fail};

mod inner;

/// Runs the shim, or returns `None` for other actions.
pub fn dispatch(action: &str, rest: &[&str]) -> Dispatched {
    if action != "bwrap-shim" {
        return None;
    }
    Some(parse(rest).map(|shim| shim.run()))
}

struct Shim<'a> {
    real: &'a str,
    hide: Vec<&'a str>,
    omit: Vec<Omit<'a>>,
    omit_inner: Vec<inner::InnerDrop<'a>>,
    log: Option<&'a str>,
    args: Vec<&'a str>,
}

/// An option to remove: its name, how many arguments it takes, and an optional text one of
/// them must contain.
struct Omit<'a> {
    option: &'a str,
    arity: usize,
    containing: Option<&'a str>,
}

impl<'a> Omit<'a> {
    fn parse(spec: &'a str) -> Result<Self, Usage> {
        let mut parts = spec.splitn(3, ':');
        let option = parts.next().unwrap_or_default();
        let arity = parts.next().and_then(|n| n.parse().ok());
        let arity =
            arity.ok_or_else(|| Usage(format!("bwrap-shim: --drop {spec}: want OPT:N[:TEXT]")))?;
        Ok(Self {
            option,
            arity,
            containing: parts.next(),
        })
    }

    /// Whether `args` starts with this option (and the text, if any, in its arguments).
    fn matches(&self, args: &[&str]) -> bool {
        let values = args.get(1..=self.arity).unwrap_or_default();
        args.first() == Some(&self.option)
            && values.len() == self.arity
            && self
                .containing
                .is_none_or(|t| values.iter().any(|v| v.contains(t)))
    }
}

/// `args` without the dropped options (the command after `--` is kept as is).
fn without_dropped<'a>(args: &[&'a str], drops: &[Omit<'_>]) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--" {
            out.extend_from_slice(&args[i..]);
            break;
        }
        match drops.iter().find(|d| d.matches(&args[i..])) {
            Some(d) => i += 1 + d.arity,
            None => {
                out.push(args[i]);
                i += 1;
            }
        }
    }
    out
}

fn parse<'a>(rest: &[&'a str]) -> Result<Shim<'a>, Usage> {
    let mut shim = Shim {
        real: "",
        hide: Vec::new(),
        omit: Vec::new(),
        omit_inner: Vec::new(),
        log: None,
        args: Vec::new(),
    };
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .copied()
                .ok_or_else(|| Usage(format!("bwrap-shim: {arg} needs a value")))
        };
        match *arg {
            "--real" => shim.real = value()?,
            "--hide" => shim.hide.push(value()?),
            "--drop" => shim.omit.push(Omit::parse(value()?)?),
            "--drop-inner" => shim.omit_inner.push(inner::InnerDrop::parse(value()?)?),
            "--log" => shim.log = Some(value()?),
            "--" => {
                shim.args = it.copied().collect();
                break;
            }
            other => return Err(Usage(format!("bwrap-shim: unknown option {other}"))),
        }
    }
    if shim.real.is_empty() {
        return Err(Usage("bwrap-shim: --real PATH is required".into()));
    }
    Ok(shim)
}

impl Shim<'_> {
    fn run(&self) -> Outcome {
        if self.args.first() == Some(&"--help") {
            return self.filtered_help();
        }
        if let Some(hidden) = self.args.iter().find(|a| self.hide.contains(a)) {
            eprintln!("bwrap: Unknown option {hidden}");
            std::process::exit(1);
        }
        if let (Some(log), false) = (self.log, self.args.first() == Some(&"--version")) {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| fail("bwrap-shim", log, e))?;
            writeln!(file, "{}", self.args.join(" ")).map_err(|e| fail("bwrap-shim", log, e))?;
        }
        if let (Some(fd), false) = (inner::mounts_fd(&self.args), self.omit_inner.is_empty()) {
            inner::rewrite(fd, &self.omit_inner)?;
        }
        let err = Command::new(self.real)
            .args(without_dropped(&self.args, &self.omit))
            .exec();
        Err(fail("bwrap-shim", self.real, err))
    }

    fn filtered_help(&self) -> Outcome {
        let out = Command::new(self.real)
            .arg("--help")
            .output()
            .map_err(|e| fail("bwrap-shim", self.real, e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if !self.hide.contains(&first) {
                println!("{line}");
            }
        }
        std::process::exit(out.status.code().unwrap_or(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_options_with_their_arguments_before_the_command_only() {
        let drops = [
            Omit::parse("--unshare-net:0").unwrap(),
            Omit::parse("--ro-bind:2:.git").unwrap(),
        ];
        let args = [
            "--ro-bind",
            "/",
            "/",
            "--unshare-net",
            "--ro-bind",
            "/w/.git",
            "/w/.git",
            "--",
            "cmd",
            "--unshare-net",
        ];
        assert_eq!(
            without_dropped(&args, &drops),
            ["--ro-bind", "/", "/", "--", "cmd", "--unshare-net"]
        );
    }
}
