//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Ferry: an interface engine that keeps every message it takes.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub(crate) log_format: LogFormat,

    /// More log detail (-v debug, -vv trace). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a production until SIGINT or SIGTERM.
    Run {
        /// The production's YAML file.
        production: PathBuf,
    },
    /// Check a production completely without starting it.
    Validate {
        /// The production's YAML file.
        production: PathBuf,
    },
    /// Remove finished sessions older than a duration from a stopped production's store.
    Purge {
        /// The production's YAML file (names the store).
        production: PathBuf,
        /// Age of the sessions to remove, e.g. 30d, 12h.
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
        older_than: String,
    },
    /// Load-test an MLLP receiver (send) or stand in for one (sink).
    Load {
        #[command(subcommand)]
        command: ferry_load::LoadCommand,
    },
}
