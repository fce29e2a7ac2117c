//! The `bwrap` binary: see the library for the implementation.

fn main() {
    bwrap::run()
}
