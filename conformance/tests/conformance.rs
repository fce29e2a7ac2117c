//! Runs the conformance cases as libtest-mimic trials named `target::case`, so that
//! `cargo test -p conformance -- bundled::ipc` filters like any Rust test. Trials that do not
//! apply (or whose target this host can't offer) are reported as ignored with the reason.

use std::sync::Arc;

use conformance::Suite;
use conformance::expectations::{self, Expected};
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
                let (t, c) = (&suite.targets[target], &suite.cases[case]);
                let expected = suite.expected(t, c);
                let verdict = suite.run(t, c);
                // A peer's expected failure or unsupported trial is reported as ignored,
                // with its reason; any result that differs from the expectation fails.
                if let Some(problem) = expectations::mismatch(&expected, &verdict) {
                    let message = match verdict {
                        Verdict::Fail(m) | Verdict::Unsupported(m) | Verdict::Ignored(m) => m,
                        Verdict::Pass => String::new(),
                    };
                    return Err(format!("{problem}\n{message}").into());
                }
                match (verdict, expected) {
                    (Verdict::Pass, _) => Ok(Completion::Completed),
                    (Verdict::Ignored(reason), _) => Ok(Completion::ignored_with(reason)),
                    (_, Expected::Fail(why)) => {
                        Ok(Completion::ignored_with(format!("expected failure: {why}")))
                    }
                    (_, Expected::Unsupported(why)) => Ok(Completion::ignored_with(format!(
                        "expected unsupported: {why}"
                    ))),
                    (_, why) => Ok(Completion::ignored_with(format!("expected: {why:?}"))),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
