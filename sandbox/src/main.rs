//! The `sandbox` command-line tool (work in progress).

fn main() {
    eprintln!("sandbox: not implemented yet");
    std::process::exit(125);
}
