//! The store's contract: what the runtime may ask of any bus, and the records it trades.
//!
//! The runtime holds an `Arc<dyn Store>`; the sled store is the only implementation today,
//! RabbitMQ quorum queues are the planned second one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ferry_message::{Body, BodyId, Header, ItemName, MessageId, NewBody, SessionId, Status};
use jiff::Timestamp;

use crate::StoreError;

/// A future that resolves once everything written before it was requested is durable.
pub type BarrierFuture = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'static>>;

/// Whether "durable" means on disk after a power cut, or only handed to the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fdatasync` of sled's log and new blob files after each group of writes.
    #[default]
    Fsync,
    /// Leave syncing to the OS (and sled's background flusher): survives a process crash,
    /// not a power cut.
    Os,
}

/// A value of a search field, indexed so messages can be found by it (`MSH-10 = X`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchValue {
    /// The field's name as the production writes it, e.g. `MSH-10` or `PID-3.1`.
    pub field: String,
    /// The value, decoded text.
    pub value: String,
}

/// One message a service received.
#[derive(Debug, Clone)]
pub struct InboundRecord {
    /// The service that received it.
    pub source: ItemName,
    /// The body, stored once and shared by every header written for it.
    pub body: NewBody,
    /// The document type (e.g. `ADT^A01`), for the index and the UI.
    pub doc_type: Option<String>,
    /// Search field values to index.
    pub search: Vec<SearchValue>,
    /// A digest that identifies "the same message from the same sender"; when the store
    /// saw the same key within the configured window, the headers are flagged as possible
    /// duplicates. `None` turns detection off for this record.
    pub duplicate_key: Option<[u8; 16]>,
    /// Store a possible duplicate with status Discarded instead of queueing it (a
    /// service's opt-in `duplicates: discard`). It is kept, never dropped.
    pub discard_duplicate: bool,
    /// `duplicate_key` identifies the sender's delivery (an AMQP message id) rather than
    /// its content: a record whose key was accepted within the window is the same
    /// delivery again, and nothing is written for it.
    pub skip_redelivery: bool,
    /// Queue it, or keep it as rejected input.
    pub disposition: Disposition,
}

/// What to do with an inbound record.
#[derive(Debug, Clone)]
pub enum Disposition {
    /// One header per target, each put on that target's queue.
    Enqueue {
        /// The service's targets, in production order.
        targets: Vec<ItemName>,
    },
    /// Input that cannot be used: one header with status Error, target = the service, the
    /// reason kept, nothing queued.
    Reject {
        /// Why, with where (e.g. "no MSH segment at byte 0").
        reason: String,
    },
}

/// What the store wrote for one inbound record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The new session (named after the first header).
    pub session: SessionId,
    /// One header per target, in target order; one Error header for a rejected record.
    pub headers: Vec<MessageId>,
    /// True when duplicate detection flagged the record.
    pub possible_duplicate: bool,
    /// True for a redelivery of a record accepted before (see
    /// [`InboundRecord::skip_redelivery`]): nothing was written, and `session` and
    /// `headers` name the earlier record's first header.
    pub already_stored: bool,
}

/// A message taken off an item's queue by one worker. Holding a lease is the right to
/// finish the message; a lease not finished is returned to the head of its queue at the
/// next start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The item whose queue it came from.
    pub item: ItemName,
    /// Its position in that queue; recovery puts it back at the same place.
    pub seq: u64,
    /// The header, with status Delivered.
    pub header: Header,
    /// When this process took it, for processing-time measurements.
    pub taken: std::time::Instant,
}

/// How the processing of a leased message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed or delivered.
    Completed,
    /// Failed for good, with the reason.
    Error(String),
    /// Held for a person, with the reason.
    Suspended(String),
    /// Dropped on purpose (a rule said so), with the reason.
    Discarded(String),
}

/// A message a process produced while handling a leased message.
#[derive(Debug, Clone)]
pub struct Output {
    /// The item to queue it for.
    pub target: ItemName,
    /// Its body: the leased message's own, or a new one.
    pub body: OutputBody,
    /// The document type of the output.
    pub doc_type: Option<String>,
    /// Search values of a new body (ignored for [`OutputBody::Same`], which inherits the
    /// parent's).
    pub search: Vec<SearchValue>,
}

/// The body of an [`Output`].
#[derive(Debug, Clone)]
pub enum OutputBody {
    /// Share the leased message's body (no copy).
    Same,
    /// A new body (a transform changed it).
    New(NewBody),
}

/// One processing step: everything that happens when a worker finishes a leased message,
/// written as one atomic batch.
#[derive(Debug, Clone)]
pub struct Step {
    /// The message finished.
    pub lease: Lease,
    /// Its final state.
    pub outcome: Outcome,
    /// A response to keep with it (an ACK, an HTTP response).
    pub response: Option<NewBody>,
    /// Messages it produced, each queued for its target, same session, parent = the lease.
    pub outputs: Vec<Output>,
    /// Events to record in the same batch.
    pub events: Vec<NewEvent>,
}

/// What a step wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDone {
    /// The headers of the outputs, in order.
    pub outputs: Vec<MessageId>,
}

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventLevel {
    /// Lifecycle and admin actions.
    Info,
    /// A recovered problem (a retry, a warning about input).
    Warn,
    /// A message went to Error or Suspended, or a person must act.
    Error,
}

/// What happened, as a bounded vocabulary (for filters and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The production or an item started.
    Started,
    /// The production or an item stopped.
    Stopped,
    /// Startup recovery returned in-flight messages to their queues.
    Recovered,
    /// A message or an input failed.
    Failed,
    /// A delivery will be tried again.
    Retry,
    /// A message was suspended.
    Suspended,
    /// Something odd in the input that did not stop it.
    Warning,
    /// A person (or script) acted: enable, disable, resend, suspend, discard, purge.
    Admin,
}

/// An event about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// How serious.
    pub level: EventLevel,
    /// What kind.
    pub kind: EventKind,
    /// The item concerned, if one.
    pub item: Option<ItemName>,
    /// The message concerned, if one.
    pub message: Option<MessageId>,
    /// Who acted, for admin events (a user name, `token`, `cli`).
    pub actor: Option<String>,
    /// What happened, for a person.
    pub text: String,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id: rising, so events read back in the order written.
    pub id: u64,
    /// When it was recorded.
    pub time: Timestamp,
    /// The event itself.
    pub event: NewEvent,
}

/// A message search. Every field set narrows it; results are newest first.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
    /// Sent by this item.
    pub source: Option<ItemName>,
    /// For this item.
    pub target: Option<ItemName>,
    /// In this state.
    pub status: Option<Status>,
    /// Of this document type.
    pub doc_type: Option<String>,
    /// In this session.
    pub session: Option<SessionId>,
    /// With this search field value.
    pub field: Option<SearchValue>,
    /// Paging: only ids below this one.
    pub before: Option<MessageId>,
    /// At most this many (0 means 100).
    pub limit: usize,
}

/// What startup recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// In-flight messages returned to the head of their queues, per item.
    pub returned: Vec<(ItemName, u64)>,
}

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Sessions removed whole.
    pub sessions: u64,
    /// Headers removed.
    pub headers: u64,
    /// Bodies removed.
    pub bodies: u64,
    /// Sessions older than the cutoff kept because a header is still queued, in flight,
    /// suspended or in Error.
    pub kept: u64,
}

/// Settings a store is opened with.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The folder the store owns.
    pub path: std::path::PathBuf,
    /// What "durable" means.
    pub durability: Durability,
    /// sled's page cache size.
    pub cache_capacity: u64,
    /// How long a duplicate key is remembered.
    pub duplicate_window: Duration,
}

impl StoreConfig {
    /// Defaults for a store in `path`: fsync, 128 MiB cache, a 24-hour duplicate window.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        StoreConfig {
            path: path.into(),
            durability: Durability::Fsync,
            cache_capacity: 128 * 1024 * 1024,
            duplicate_window: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The bus and message store the runtime works on.
///
/// Every method that writes applies one atomic batch. Writes become durable when a
/// [`Store::barrier`] requested after them resolves; nothing is acknowledged upstream
/// before that.
pub trait Store: Send + Sync + 'static {
    /// Writes inbound records: bodies, headers, queue entries, indexes and `events`, all in
    /// one batch. Call [`Store::barrier`] before acknowledging the sender.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails; nothing was written then.
    fn accept(
        &self,
        records: Vec<InboundRecord>,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Accepted>, StoreError>;

    /// Takes the head of `item`'s queue under a lease (status Delivered), or `None` when
    /// the queue is empty. Concurrent calls never return the same message.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read or written.
    fn take(&self, item: &ItemName) -> Result<Option<Lease>, StoreError>;

    /// Finishes a leased message: removes the lease, sets its outcome, stores its response,
    /// writes and queues its outputs and records `events`, in one batch.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; nothing was written then and the lease still holds.
    fn complete(&self, step: &Step) -> Result<StepDone, StoreError>;

    /// Returns a leased message to the head of its queue (shutdown, item disabled).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    fn release(&self, lease: Lease) -> Result<(), StoreError>;

    /// Counts a failed delivery attempt on a leased message, keeps `reason` on its header
    /// and records `event`; the lease still holds.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    fn record_attempt(
        &self,
        lease: &mut Lease,
        reason: &str,
        event: Option<NewEvent>,
    ) -> Result<(), StoreError>;

    /// Resolves once every write made before this call is durable (per [`Durability`]).
    /// Concurrent callers share one sync (group commit).
    fn barrier(&self) -> BarrierFuture;

    /// A header by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read or the record is corrupt.
    fn header(&self, id: MessageId) -> Result<Option<Header>, StoreError>;

    /// The search values stored with message `id` (empty for an unknown id).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read or the record is corrupt.
    fn search_values(&self, id: MessageId) -> Result<Vec<SearchValue>, StoreError>;

    /// A body by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read or the record is corrupt.
    fn body(&self, id: BodyId) -> Result<Option<Body>, StoreError>;

    /// Messages waiting in `item`'s queue (not counting those in flight).
    fn queue_depth(&self, item: &ItemName) -> u64;

    /// When the message at the head of `item`'s queue was created (how long the queue has
    /// been waiting), or `None` when the queue is empty.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    fn oldest_queued(&self, item: &ItemName) -> Result<Option<Timestamp>, StoreError>;

    /// Messages found by `query`, newest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    fn search(&self, query: &Query) -> Result<Vec<Header>, StoreError>;

    /// Every header of a session, in id order (the session's trace).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    fn session(&self, session: SessionId) -> Result<Vec<Header>, StoreError>;

    /// Queues a copy of message `id` for its target again: a new header in the same
    /// session, same body, `resend_of` = `id`. Records an admin event naming `actor`.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] for an unknown id; [`StoreError`] when the write fails.
    fn resend(&self, id: MessageId, actor: &str) -> Result<MessageId, StoreError>;

    /// Takes a queued message off its queue and holds it (Suspended).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], or [`StoreError::WrongState`] when it is not Queued.
    fn suspend(&self, id: MessageId, actor: &str) -> Result<(), StoreError>;

    /// Discards a queued, suspended or failed message.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], or [`StoreError::WrongState`] when it is in flight or
    /// already Completed or Discarded.
    fn discard(&self, id: MessageId, actor: &str) -> Result<(), StoreError>;

    /// Records events (in their own batch).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    fn append_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError>;

    /// Events with an id above `after`, oldest first, at most `limit`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    fn events(&self, after: Option<u64>, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// Events with an id below `before` (all when `None`), newest first, at most `limit`:
    /// the latest page of the log and the pages behind it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    fn recent_events(&self, before: Option<u64>, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// Removes sessions created before `before` whose every header is Completed or
    /// Discarded, with their bodies and index entries. Never touches a session with a
    /// queued, in-flight, suspended or failed header.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read or written.
    fn purge(&self, before: Timestamp) -> Result<PurgeReport, StoreError>;
}
