//! `ricevo`: the virtual reception desk for city halls, in one binary.

mod cli;
mod config;
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
