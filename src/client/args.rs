//! The command line of the admin commands: where the running production is, who asks,
//! and what.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// How to reach a running production's gRPC admin API, and how to print answers.
#[derive(Debug, Clone, Args)]
pub(crate) struct AdminArgs {
    /// The admin API's address (`host:port` or a URL); else FERRY_ADMIN_GRPC, else the
    /// production's `admin.grpc`, else 127.0.0.1:50051.
    #[arg(long, value_name = "ADDR", global = true)]
    pub(crate) grpc: Option<String>,

    /// The production's YAML file: its `admin.grpc` address and its store folder (where
    /// `admin.token` is).
    #[arg(short, long, value_name = "FILE", global = true)]
    pub(crate) production: Option<PathBuf>,

    /// The production's store folder, to read `admin.token` from.
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) store: Option<PathBuf>,

    /// The admin token; else FERRY_ADMIN_TOKEN, else `admin.token` in the store folder.
    #[arg(long, value_name = "TOKEN", global = true)]
    pub(crate) token: Option<String>,

    /// Sign in as this user of the credentials file; the password comes from
    /// FERRY_ADMIN_PASSWORD.
    #[arg(long, value_name = "NAME", global = true)]
    pub(crate) user: Option<String>,

    /// Use TLS, trusting the certificate authority in this PEM file.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) tls_ca: Option<PathBuf>,

    /// Print JSON for scripts instead of tables (one object per line with --follow).
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// What to ask of the running production.
#[derive(Debug, Clone)]
pub(crate) enum AdminCall {
    Status,
    Queues,
    Items(ItemsCommand),
    Messages(MessagesCommand),
    Trace { session: u64 },
    Events { follow: bool, limit: u32 },
}

/// Item actions.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ItemsCommand {
    /// Let an item work again.
    Enable {
        /// The item's name.
        name: String,
    },
    /// Stop an item working; its queue keeps filling.
    Disable {
        /// The item's name.
        name: String,
    },
    /// Start an item's adapter again (new connections).
    Restart {
        /// The item's name.
        name: String,
    },
}

/// Message search, detail and actions.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum MessagesCommand {
    /// Find messages, newest first.
    Search(Box<SearchArgs>),
    /// Show one message: header, fields, body and response.
    Show {
        /// The message id.
        id: u64,
        /// Write only the body's bytes, exactly as stored (like `cat`): control
        /// characters in it reach the terminal as they are, so redirect it to a file or
        /// pipe. Without --raw, control characters are shown escaped (e.g. ESC as \e).
        #[arg(long)]
        raw: bool,
    },
    /// Queue a copy of each message for its target again.
    Resend {
        /// Message ids.
        #[arg(required = true)]
        ids: Vec<u64>,
    },
    /// Take each queued message off its queue and hold it.
    Suspend {
        /// Message ids.
        #[arg(required = true)]
        ids: Vec<u64>,
    },
    /// Discard each queued, suspended or failed message.
    Discard {
        /// Message ids.
        #[arg(required = true)]
        ids: Vec<u64>,
    },
}

/// What a message search narrows by; every criterion given must hold.
#[derive(Debug, Clone, Args)]
pub(crate) struct SearchArgs {
    /// Messages on this item's queue (the same as --target).
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub(crate) item: Option<String>,
    /// Sent by this item.
    #[arg(long, value_name = "NAME")]
    pub(crate) source: Option<String>,
    /// For this item.
    #[arg(long, value_name = "NAME")]
    pub(crate) target: Option<String>,
    /// In this status: Queued, Delivered, Completed, Error, Suspended or Discarded.
    #[arg(long)]
    pub(crate) status: Option<ferry_message::Status>,
    /// Of this document type, e.g. ADT^A01.
    #[arg(long, value_name = "TYPE")]
    pub(crate) doc_type: Option<String>,
    /// In this session.
    #[arg(long, value_name = "ID")]
    pub(crate) session: Option<u64>,
    /// With an indexed search field equal to a value, e.g. MSH-10=MSG0001.
    #[arg(long, value_name = "FIELD=VALUE", value_parser = field_value)]
    pub(crate) field: Option<(String, String)>,
    /// Created at or after this time (RFC 3339, e.g. 2026-01-31T08:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub(crate) from: Option<jiff::Timestamp>,
    /// Created before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub(crate) to: Option<jiff::Timestamp>,
    /// At most this many messages (default 100).
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: u32,
    /// The next page: only ids below this one (as the previous page said).
    #[arg(long, value_name = "ID")]
    pub(crate) before: Option<u64>,
}

/// Other admin tools.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum AdminToolCommand {
    /// Read a password from stdin and print its argon2 hash for the credentials file.
    HashPassword {
        /// Print `NAME:hash`, a whole line of the credentials file.
        name: Option<String>,
    },
}

fn field_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_owned(), value.to_owned()))
        }
        _ => Err("expected FIELD=VALUE, e.g. MSH-10=MSG0001".to_owned()),
    }
}
