//! `bwrap-shim`: stands in front of a real bwrap and pretends some options don't exist, to
//! simulate an old bubblewrap (no `--argv0`, or no `--perms`).
//!
//! `--help` output has the hidden options' lines removed; a run that uses a hidden option
//! fails like bubblewrap does with an unknown option; anything else is exec'd as is. With
//! `--log FILE`, every invocation other than `--help`/`--version` appends a line to FILE (so
//! a case can prove whether this bwrap actually ran its command).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::{Dispatched, Outcome, Usage, fail};

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
    log: Option<&'a str>,
    args: Vec<&'a str>,
}

fn parse<'a>(rest: &[&'a str]) -> Result<Shim<'a>, Usage> {
    let mut shim = Shim {
        real: "",
        hide: Vec::new(),
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
        let err = Command::new(self.real).args(&self.args).exec();
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
