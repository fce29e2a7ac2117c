//! `sandbox run [OPTIONS] -- COMMAND [ARGS...]`.

use std::ffi::OsString;

use super::{fail, fail_error, parse_common, print_notice};

/// Runs the command; returns its status, or the sandbox's own (125, or 122 for a bundled
/// bwrap whose digest differs) for a sandbox failure.
pub fn main(args: &[OsString]) -> i32 {
    let options = match parse_common(args) {
        Ok(o) if o.json || o.plain => {
            return fail("--json and --plain are options of `explain`, not `run`");
        }
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    match options.command().and_then(|c| c.status(print_notice)) {
        Ok(status) => status,
        Err(e) => fail_error(e),
    }
}
