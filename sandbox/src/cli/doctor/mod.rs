//! `sandbox doctor [--json] [--bwrap PATH] [--cwd DIR]`: what this host gives the sandbox.

use std::ffi::OsString;
use std::path::PathBuf;

mod report;

pub use report::{Check, Report, Status, report};

use super::{UsageError, fail};
use crate::launcher::{Context, LaunchOptions};

/// Prints the report (text, or JSON with `--json`); 0 when no check failed, 1 otherwise.
pub fn main(args: &[OsString]) -> i32 {
    let mut json = false;
    let mut opts = LaunchOptions::default();
    let mut cwd = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .map(PathBuf::from)
                .ok_or_else(|| UsageError::NeedsValue(name.to_owned()))
        };
        let parsed = match arg.to_str() {
            Some("--json") => {
                json = true;
                Ok(())
            }
            Some("--bwrap") => value("--bwrap").map(|p| opts.explicit = Some(p)),
            Some("--cwd") => value("--cwd").map(|p| cwd = Some(p)),
            _ => Err(UsageError::UnknownDoctorOption(arg.clone())),
        };
        if let Err(e) = parsed {
            return fail(e);
        }
    }
    opts.cwd = match cwd.map_or_else(std::env::current_dir, Ok) {
        Ok(dir) => dir,
        Err(e) => return fail(format!("cannot read the current directory: {e}")),
    };
    let ctx = match Context::current() {
        Ok(ctx) => ctx,
        Err(e) => return fail(e),
    };
    let report = report(&opts, &ctx);
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    if report.healthy() { 0 } else { 1 }
}
