//! The `lvyue` binary: parse arguments, run, print errors with their causes, exit.

use clap::Parser;

// Fewer, reused pages than glibc's per-thread arenas under polars' worker threads.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = lvyue::cli::Cli::parse();
    let code = match lvyue::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lvyue: error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            lvyue::error::EXIT_ERROR
        }
    };
    std::process::exit(code);
}
