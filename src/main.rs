//! `ferry`: the command line. Runs, validates and purges productions; the engine itself
//! lives in the `crates/` and `adapters/` crates.

mod cli;
mod commands;
mod logging;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format, cli.verbose);
    commands::dispatch(cli)
}
