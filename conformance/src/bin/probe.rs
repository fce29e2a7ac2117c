//! `probe`: small, dependable actions for conformance cases (work in progress).

fn main() {
    eprintln!("probe: not implemented yet");
    std::process::exit(2);
}
