//! Runs the conformance cases as libtest-mimic trials (work in progress).

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, Vec::new()).exit();
}
