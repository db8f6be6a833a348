//! A loaded production: the types the runtime and the adapters use.
//!
//! Owns [`Production`], [`Item`] and their parts. Everything here has been checked: when
//! [`crate::Loaded::diagnostics`] is empty, every item name is unique, every target names
//! an item of the production that can receive, processes form no cycle, and every value is
//! in range. An item's adapter settings are the one thing left for the adapter to read,
//! through [`Item::settings_reader`] (every problem at once) or [`Item::settings`].
//! [`Production::rejected`] holds the items that failed a check, for their adapters'
//! settings checks only: they never run.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_hl7::FieldPath;
use ferry_message::ItemName;
use ferry_rules::Condition;
use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, Source};
use crate::document::{Document, ItemText, Step};
use crate::settings::{SettingsReader, SettingsText};

/// A production: its store and its items.
#[derive(Debug, Clone)]
pub struct Production {
    /// The production's name; also the default store folder `./var/<name>`.
    pub name: String,
    /// What it is for, as written.
    pub description: Option<String>,
    /// Where and how messages are kept.
    pub store: StoreSettings,
    /// The web UI and gRPC admin API; `None` when the file has no `admin:` section.
    pub admin: Option<AdminSettings>,
    /// The items that passed validation, in file order.
    pub items: Vec<Item>,
    /// The items that failed a check of their own or across items (a repeated name, a
    /// target that does not resolve), in file order, as far as their name, role and kind
    /// could be read. They never run; they are here so that a caller that checks adapter
    /// settings (as `ferry validate` does for [`Production::items`]) can check theirs too
    /// and report every problem in one run.
    pub rejected: Vec<Item>,
    /// The file it was loaded from.
    pub source: Arc<Source>,
}

impl Production {
    /// The item with this name.
    pub fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.name.as_str() == name)
    }
}

/// The `store:` section, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    /// The store folder (default `./var/<production name>`).
    pub path: PathBuf,
    /// When a write counts as done (default fsync).
    pub durability: DurabilitySetting,
    /// Completed and discarded sessions older than this are purged; `None` keeps them.
    pub retention: Option<Duration>,
    /// How often the purge runs (default 1h).
    pub purge_every: Duration,
    /// How long a message control id is remembered to spot duplicates (default 24h).
    pub duplicate_window: Duration,
    /// HL7 fields indexed for search (default MSH-10 and PID-3.1).
    pub search_fields: Vec<FieldPath>,
    /// Store cache size in MiB (default 128).
    pub cache_mb: u64,
}

/// The `admin:` section: where the admin surfaces listen and who may use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// The web UI, `/metrics` and health checks; `None` when `off` or not given.
    pub http: Option<std::net::SocketAddr>,
    /// The gRPC admin API; `None` when `off` or not given.
    pub grpc: Option<std::net::SocketAddr>,
    /// The variable that holds the admin token (default `FERRY_ADMIN_TOKEN`).
    pub token_env: String,
    /// A credentials file of named users with argon2 password hashes.
    pub users: Option<PathBuf>,
    /// A certificate and key for both surfaces; required beyond loopback.
    pub tls: Option<AdminTls>,
}

/// PEM files the admin surfaces serve TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTls {
    /// The certificate chain.
    pub certificate: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// How the store makes writes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurabilitySetting {
    /// fsync before a message is acknowledged: survives a power cut.
    Fsync,
    /// Leave flushing to the operating system: survives a crash of Ferry, not of the host.
    Os,
}

/// What an item does in the production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Receives messages from outside and sends them to its targets.
    Service,
    /// Takes messages from its queue and decides where they go (a router).
    Process,
    /// Delivers messages from its queue to an outside system.
    Operation,
}

impl Role {
    /// The key that names this role in an item: `service`, `process` or `operation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Process => "process",
            Role::Operation => "operation",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of a production.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its position in the `items:` list, from 0.
    pub index: usize,
    /// Its unique name.
    pub name: ItemName,
    /// Where the item starts in the file.
    pub at: Location,
    /// Service, process or operation.
    pub role: Role,
    /// The adapter or process kind: `file`, `mllp`, `router`, …
    pub kind: String,
    /// Whether it starts enabled (default true).
    pub enabled: bool,
    /// Workers for processes and operations (1 = strict FIFO); 1 for services.
    pub pool: usize,
    /// The most messages its queue holds before senders wait (processes and operations).
    pub queue_limit: u64,
    /// Where a service sends what it receives; empty for processes and operations (a
    /// router's targets are in its rules).
    pub targets: Vec<ItemName>,
    /// How an operation retries; the defaults for other roles.
    pub retry: RetryPolicy,
    /// A router's rules; `None` for services and operations.
    pub router: Option<RouterSpec>,
    /// Where `settings:` is written and how to read it; `None` when the item has none.
    pub(crate) settings: Option<SettingsText>,
    pub(crate) text: ItemText,
    pub(crate) document: Arc<Document>,
}

impl Item {
    /// Reads this item's `settings:` key by key, collecting every problem: unknown keys,
    /// values of the wrong type, missing required keys, and the adapter's own checks. See
    /// [`SettingsReader`]; `known` lists every key the adapter accepts.
    pub fn settings_reader<'a>(&'a self, known: &[&str]) -> SettingsReader<'a> {
        SettingsReader::new(self, known)
    }

    /// Deserializes this item's `settings:` into the adapter's own type (no `settings:`
    /// reads as an empty mapping). The same rules as for the rest of the file apply:
    /// `${NAME}` interpolation, YAML 1.2 booleans only, no leading zeros in numbers,
    /// unknown keys refused when the type uses `#[serde(deny_unknown_fields)]`, and every
    /// error at its position in the original file.
    ///
    /// serde stops at the first problem, so an adapter that wants every problem of its
    /// settings in one run uses [`Item::settings_reader`] instead.
    ///
    /// # Errors
    ///
    /// The first problem serde meets, as a diagnostic. Semantic checks (a folder that must
    /// not be empty) are the adapter's: build them with [`Item::diagnostic`].
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        if self.settings.is_none() {
            return self.document.read_empty(self.at).map_err(Diagnostics::from);
        }
        match self.document.read_item(self.text, &[Step::Key("settings")]) {
            Ok(Some(settings)) => Ok(settings),
            Ok(None) => self.document.read_empty(self.at).map_err(Diagnostics::from),
            Err(error) => Err(self.document.describe(&error).into()),
        }
    }

    /// A diagnostic about this item at `at` (usually a [`crate::Setting`]'s position),
    /// for an adapter's own checks.
    pub fn diagnostic(&self, at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.document.source.name, at, message)
    }

    /// Where `settings:` is written, or where the item starts if it has none: the place
    /// to report a setting that is missing.
    pub fn settings_location(&self) -> Location {
        self.settings
            .as_ref()
            .map_or(self.at, |settings| settings.at)
    }

    /// The production file this item comes from.
    pub fn source(&self) -> &Arc<Source> {
        &self.document.source
    }
}

/// A router's rules, evaluated in order.
#[derive(Debug, Clone)]
pub struct RouterSpec {
    /// The rules as written.
    pub rules: Vec<RuleSpec>,
    /// What happens to a message no rule took (default discard).
    pub otherwise: Otherwise,
}

/// One routing rule.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// Its label, for logs and the trace.
    pub name: Option<String>,
    /// When it applies (always, without `when:`).
    pub condition: Condition,
    /// What it does with a message it matches.
    pub action: RuleAction,
    /// True: evaluation goes on after a match; false (default): the first match wins.
    pub continue_after: bool,
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Send the message to these items.
    Send(Vec<ItemName>),
    /// Drop the message, recorded as discarded.
    Discard,
}

/// What a router does with a message that no rule took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Otherwise {
    /// Drop it, recorded as discarded.
    Discard,
    /// Send it to these items.
    Send(Vec<ItemName>),
}

/// How an operation retries a failed delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Wait before the first retry (default 1s).
    pub interval: Duration,
    /// Each wait is the previous one times this (at least 1.0; default 2.0).
    pub backoff: f64,
    /// The longest wait (default 60s).
    pub max_interval: Duration,
    /// Give up after failing this long; `None` retries forever.
    pub failure_timeout: Option<Duration>,
    /// What giving up does (default error).
    pub on_failure: FailureAction,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            interval: Duration::from_secs(1),
            backoff: 2.0,
            max_interval: Duration::from_secs(60),
            failure_timeout: None,
            on_failure: FailureAction::Error,
        }
    }
}

/// What an operation does with a message when it gives up retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    /// Mark it Error: a person must look at it.
    Error,
    /// Mark it Suspended: it can be resent from the admin UI.
    Suspend,
}
