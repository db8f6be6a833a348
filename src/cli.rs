//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::client::{AdminArgs, AdminToolCommand, ItemsCommand, MessagesCommand};

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
    /// Show the running production and its items (through its gRPC admin API).
    Status {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show the depth and oldest message of every queue of the running production.
    Queues {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Enable, disable or restart an item of the running production.
    Items {
        #[command(subcommand)]
        command: ItemsCommand,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Find, show, resend, suspend or discard messages of the running production.
    Messages {
        #[command(subcommand)]
        command: MessagesCommand,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show every hop of a session, in order.
    Trace {
        /// The session id (the id of its inbound message).
        session: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show the newest events of the running production's event log.
    Events {
        /// Keep printing live changes until interrupted.
        #[arg(long)]
        follow: bool,
        /// How many of the newest events to show first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Admin tools that need no running production.
    Admin {
        #[command(subcommand)]
        command: AdminToolCommand,
    },
}
