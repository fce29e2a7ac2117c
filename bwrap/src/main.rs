//! `bwrap`: a bubblewrap-compatible sandbox launcher (work in progress).

fn main() {
    eprintln!("bwrap: not implemented yet");
    std::process::exit(1);
}
