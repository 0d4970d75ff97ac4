//! `ricevo`: the virtual reception desk for city halls, in one binary.

mod backup;
mod citizen;
mod cli;
mod config;
mod report;
mod serve;
// ---- ident ----
mod identity;
// ---- end ident ----

use std::process::ExitCode;

/// mimalloc rather than the system allocator: the media thread allocates per forwarded packet
/// (see the crate's Cargo.toml for the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
