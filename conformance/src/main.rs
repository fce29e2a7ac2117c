//! `conformance`: runs every case against every target and prints the matrix (work in progress).

fn main() {
    eprintln!("conformance: not implemented yet");
    std::process::exit(1);
}
