//! Reporting verdicts: the text matrix, JSON and JUnit XML.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::expectations::{self, Expected};
use crate::targets::Target;
use crate::trial::Verdict;

/// One finished trial.
#[derive(Debug, Clone)]
pub struct Row {
    /// The target's name.
    pub target: String,
    /// The case's name.
    pub case: String,
    /// What happened.
    pub verdict: Verdict,
    /// How long it took.
    pub elapsed: Duration,
    /// What it was expected to do.
    pub expected: Expected,
}

impl Row {
    /// What differs from the expectation, if anything.
    pub fn mismatch(&self) -> Option<String> {
        expectations::mismatch(&self.expected, &self.verdict)
    }
}

/// Counts of the verdicts, and of results that differ from their expectation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed trials.
    pub passed: usize,
    /// Failed trials.
    pub failed: usize,
    /// Trials a peer can't express.
    pub unsupported: usize,
    /// Ignored trials.
    pub ignored: usize,
    /// Trials whose result differs from the expectation (the run fails if any).
    pub unexpected: usize,
}

/// Counts the verdicts in `rows`.
pub fn summarize(rows: &[Row]) -> Summary {
    let mut s = Summary::default();
    for row in rows {
        match row.verdict {
            Verdict::Pass => s.passed += 1,
            Verdict::Fail(_) => s.failed += 1,
            Verdict::Unsupported(_) => s.unsupported += 1,
            Verdict::Ignored(_) => s.ignored += 1,
        }
        if row.mismatch().is_some() {
            s.unexpected += 1;
        }
    }
    s
}

fn cell(row: Option<&Row>) -> &'static str {
    let Some(row) = row else {
        return "-";
    };
    match (&row.verdict, row.mismatch().is_none()) {
        (Verdict::Pass, true) => "pass",
        (Verdict::Pass, false) => "XPASS",
        (Verdict::Fail(_), true) => "fail (expected)",
        (Verdict::Fail(_), false) => "FAIL",
        (Verdict::Unsupported(_), true) => "unsupported",
        (Verdict::Unsupported(_), false) => "UNSUPPORTED",
        (Verdict::Ignored(_), true) => "ignored",
        (Verdict::Ignored(_), false) => "IGNORED",
    }
}

/// The matrix (cases × targets), the targets' details, every failure and ignore reason, and
/// the summary line with the wall time.
pub fn matrix(targets: &[Target], cases: &[String], rows: &[Row], wall: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "targets:");
    for t in targets {
        let what = match &t.unavailable {
            Some(reason) => format!("unavailable: {reason}"),
            None => t.detail.clone(),
        };
        let _ = writeln!(out, "  {:<16} {what}", t.name);
    }
    let width = cases.iter().map(String::len).max().unwrap_or(4).max(4);
    let _ = write!(out, "\n{:<width$}", "case");
    for t in targets {
        let _ = write!(out, "  {:<15}", t.name);
    }
    out.push('\n');
    for case in cases {
        let _ = write!(out, "{case:<width$}");
        for t in targets {
            let row = rows.iter().find(|r| r.case == *case && r.target == t.name);
            let _ = write!(out, "  {:<15}", cell(row));
        }
        out.push('\n');
    }
    let notes: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Pass || r.mismatch().is_some())
        .collect();
    if !notes.is_empty() {
        out.push_str("\ndetails:\n");
    }
    for row in notes {
        let _ = writeln!(
            out,
            "{} {}::{}: {}",
            cell(Some(row)),
            row.target,
            row.case,
            indent(&note(row))
        );
    }
    let s = summarize(rows);
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} unsupported, {} ignored ({} trials) in {:.1}s; {} unexpected",
        s.passed,
        s.failed,
        s.unsupported,
        s.ignored,
        rows.len(),
        wall.as_secs_f64(),
        s.unexpected
    );
    out
}

/// What to say about a trial: an expected result's reason; else the verdict's message,
/// after what differs from the expectation.
fn note(row: &Row) -> String {
    let message = match &row.verdict {
        Verdict::Pass => "",
        Verdict::Fail(m) | Verdict::Unsupported(m) | Verdict::Ignored(m) => m,
    };
    match (row.mismatch(), &row.expected) {
        (Some(problem), _) => format!("{problem}\n{message}"),
        (None, Expected::Fail(why) | Expected::Unsupported(why) | Expected::Flaky(why)) => {
            why.clone()
        }
        (None, Expected::Pass) => message.to_owned(),
    }
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}

/// The report as JSON: targets, one object per trial, the summary and the wall time.
pub fn json(targets: &[Target], rows: &[Row], wall: Duration) -> String {
    let s = summarize(rows);
    let targets: Vec<_> = targets
        .iter()
        .map(|t| json!({"name": t.name, "detail": t.detail, "unavailable": t.unavailable}))
        .collect();
    let trials: Vec<_> = rows
        .iter()
        .map(|r| {
            let (status, message) = match &r.verdict {
                Verdict::Pass => ("pass", None),
                Verdict::Fail(m) => ("fail", Some(m.clone())),
                Verdict::Unsupported(m) => ("unsupported", Some(m.clone())),
                Verdict::Ignored(m) => ("ignored", Some(m.clone())),
            };
            json!({
                "target": r.target, "case": r.case, "status": status,
                "message": message, "seconds": r.elapsed.as_secs_f64(),
                "expected": r.mismatch().is_none(), "mismatch": r.mismatch(),
            })
        })
        .collect();
    let doc = json!({
        "targets": targets,
        "trials": trials,
        "summary": {
            "passed": s.passed, "failed": s.failed, "unsupported": s.unsupported,
            "ignored": s.ignored, "unexpected": s.unexpected,
        },
        "wall_seconds": wall.as_secs_f64(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML: one `<testsuite>`, one `<testcase>` per trial (class = target).
pub fn junit(rows: &[Row], wall: Duration) -> String {
    let s = summarize(rows);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        rows.len(),
        s.unexpected,
        rows.len() - s.passed - s.unexpected,
        wall.as_secs_f64()
    );
    for r in rows {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.target),
            xml_escape(&r.case),
            r.elapsed.as_secs_f64()
        );
        // A result that matches its expectation is not a JUnit failure; an expected
        // failure or unsupported trial is reported as skipped, with its reason.
        if let Some(problem) = r.mismatch() {
            let _ = writeln!(
                out,
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                xml_escape(&problem),
                xml_escape(&note(r))
            );
        } else if r.verdict == Verdict::Pass {
            out.push_str("/>\n");
        } else {
            let _ = writeln!(
                out,
                ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                xml_escape(&note(r))
            );
        }
    }
    out.push_str("</testsuite>\n");
    out
}
