//! `conformance`: runs every case against every target and prints the matrix.
//!
//! usage: conformance [--json] [--junit FILE] [--scoreboard FILE.md] [--jobs N] [FILTER...]
//!
//! FILTER selects trials whose `target::case` name contains it. Exit status: 0 when every
//! result matched its expectation (ours: pass; a peer's: `expectations/<peer>-<version>.toml`),
//! 1 when one did not, 2 when the suite could not start.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use conformance::Suite;
use conformance::report::{self, Row};
use conformance::scoreboard;

struct Options {
    json: bool,
    junit: Option<String>,
    scoreboard: Option<String>,
    jobs: usize,
    filters: Vec<String>,
}

const USAGE: &str =
    "usage: conformance [--json] [--junit FILE] [--scoreboard FILE.md] [--jobs N] [FILTER...]";

/// Why the command line was refused (`Help`: usage only).
#[derive(Debug, thiserror::Error)]
enum ArgError {
    /// `-h` or `--help`.
    #[error("help requested")]
    Help,
    /// An option without its value.
    #[error("{0}")]
    NeedsValue(&'static str),
    /// `--jobs` with something else than a number.
    #[error("--jobs: {0:?} is not a number")]
    Jobs(String),
    /// An option this command doesn't have.
    #[error("unknown option {0}")]
    Unknown(String),
}

fn parse_args() -> Result<Options, ArgError> {
    let default_jobs = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let mut opts = Options {
        json: false,
        junit: None,
        scoreboard: None,
        jobs: default_jobs,
        filters: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => opts.json = true,
            "--junit" => {
                opts.junit = Some(
                    args.next()
                        .ok_or(ArgError::NeedsValue("--junit needs a FILE"))?,
                )
            }
            "--scoreboard" => {
                opts.scoreboard = Some(
                    args.next()
                        .ok_or(ArgError::NeedsValue("--scoreboard needs a FILE.md"))?,
                )
            }
            "--jobs" => {
                let n = args.next().ok_or(ArgError::NeedsValue("--jobs needs N"))?;
                opts.jobs = n.parse().map_err(|_| ArgError::Jobs(n))?;
            }
            "-h" | "--help" => return Err(ArgError::Help),
            a if a.starts_with('-') => return Err(ArgError::Unknown(arg)),
            _ => opts.filters.push(arg),
        }
    }
    opts.jobs = opts.jobs.max(1);
    Ok(opts)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !matches!(e, ArgError::Help) {
                eprintln!("conformance: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let suite = match Suite::prepare() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conformance: {e}");
            std::process::exit(2);
        }
    };
    let queue: VecDeque<_> = suite
        .schedule()
        .into_iter()
        .map(|(t, c)| (&suite.targets[t], &suite.cases[c]))
        .filter(|(target, case)| {
            let name = Suite::trial_name(target, case);
            opts.filters.is_empty() || opts.filters.iter().any(|f| name.contains(f))
        })
        .collect();
    let queue = Mutex::new(queue);
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs {
            scope.spawn(|| {
                while let Some((target, case)) =
                    queue.lock().map(|mut q| q.pop_front()).ok().flatten()
                {
                    let t0 = Instant::now();
                    let verdict = suite.run(target, case);
                    let row = Row {
                        target: target.name.to_owned(),
                        case: case.name.clone(),
                        verdict,
                        elapsed: t0.elapsed(),
                        expected: suite.expected(target, case),
                    };
                    if let Ok(mut rows) = rows.lock() {
                        rows.push(row);
                    }
                }
            });
        }
    });
    let rows = rows.into_inner().unwrap_or_default();
    let wall = start.elapsed();
    let case_names: Vec<String> = suite
        .cases
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| rows.iter().any(|r| r.case == *n))
        .collect();
    if opts.json {
        println!("{}", report::json(&suite.targets, &rows, wall));
    } else {
        print!(
            "{}",
            report::matrix(&suite.targets, &case_names, &rows, wall)
        );
    }
    let outputs = [
        (&opts.junit, report::junit(&rows, wall)),
        (
            &opts.scoreboard,
            scoreboard::markdown(&suite.targets, &case_names, &rows, wall),
        ),
    ];
    for (path, text) in outputs {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, text)
        {
            eprintln!("conformance: writing {path}: {e}");
            std::process::exit(2);
        }
    }
    let unexpected = report::summarize(&rows).unexpected;
    std::process::exit(if unexpected == 0 { 0 } else { 1 });
}
