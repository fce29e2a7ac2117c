//! Runs the conformance cases as libtest-mimic trials named `target::case`, so that
//! `cargo test -p conformance -- bundled::ipc` filters like any Rust test. Trials that do not
//! apply (or whose target this host can't offer) are reported as ignored with the reason.

use std::sync::Arc;

use conformance::Suite;
use conformance::trial::Verdict;
use libtest_mimic::{Arguments, Completion, Trial};

fn main() {
    let mut args = Arguments::from_args();
    // Trials mostly wait for sandboxes to start and stop: run two per CPU unless told.
    if args.test_threads.is_none() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        args.test_threads = Some(cpus * 2);
    }
    let suite = match Suite::prepare() {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("conformance: {e}");
            std::process::exit(101);
        }
    };
    let trials = suite
        .schedule()
        .into_iter()
        .map(|(target, case)| {
            let suite = Arc::clone(&suite);
            let name = Suite::trial_name(&suite.targets[target], &suite.cases[case]);
            Trial::ignorable_test(name, move || {
                match suite.run(&suite.targets[target], &suite.cases[case]) {
                    Verdict::Pass => Ok(Completion::Completed),
                    Verdict::Ignored(reason) => Ok(Completion::ignored_with(reason)),
                    Verdict::Fail(msg) => Err(msg.into()),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
