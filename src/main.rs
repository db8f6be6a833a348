//! `ferry`: the command line. Runs, validates and purges productions; the engine itself
//! lives in the `crates/` and `adapters/` crates.

mod cli;
mod client;
mod commands;
mod logging;
mod registry;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // rustls needs one process-wide crypto provider; installing it first means no
    // dependency that compiles another provider in can leave the choice ambiguous.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();

    let cli = cli::Cli::parse();
    logging::init(cli.log_format, cli.verbose);
    commands::dispatch(cli)
}
