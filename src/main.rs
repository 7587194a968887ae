//! The `lvyue` binary: parse arguments, run, print errors with their causes, exit.

use clap::Parser;

// Fewer, reused pages than glibc's per-thread arenas under polars' worker threads.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the same index in its v2 and v3 headers).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    let cli = lvyue::cli::Cli::parse();
    // The queries and the ingest free and allocate gigabytes between one step and the
    // next, and on these VMs a page handed back to the OS costs a fault and a zeroing
    // when touched again: a 10M year's audit spent 51 s in the kernel (7.2M faults) with
    // mimalloc's default 10 ms purge delay, 15 s with freed memory kept for reuse, at a
    // higher peak (5.1 → 5.9 GB); a 1M ingest 13 s (4.8M faults) against 3 s (0.5M),
    // peak 1.4 → 1.9 GB. `gen` keeps the default. MIMALLOC_PURGE_DELAY, if set, still
    // wins.
    let keep_freed = !matches!(cli.command, lvyue::cli::Command::Gen(_));
    if keep_freed && std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain option store, made before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
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
