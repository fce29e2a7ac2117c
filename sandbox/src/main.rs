//! The `sandbox` command-line tool: see `sandbox --help`.

fn main() {
    sandbox::dispatch_inner_stage();
    std::process::exit(sandbox::cli::main(std::env::args_os().skip(1).collect()));
}
