//! What a service adapter gets from the engine: an [`Intake`] that makes messages durable.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use encoding_rs::Encoding;
use ferry_message::{Body, ContentKind, ItemName, MessageId, SessionId, Status};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::AdapterError;

/// How the text of an inbound message is to be decoded for rules and display. The stored
/// body always keeps the original bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetChoice {
    /// Use what the message declares (MSH-18 for HL7 v2), else this default.
    Declared {
        /// The charset when the message declares none.
        default: &'static Encoding,
    },
    /// Use this charset whatever the message declares (for senders that lie).
    Forced(&'static Encoding),
}

impl Default for CharsetChoice {
    fn default() -> Self {
        CharsetChoice::Declared {
            default: encoding_rs::UTF_8,
        }
    }
}

/// What a service does with a message it may have received before: the same sender,
/// control id and bytes within the store's duplicate window (a sender that resent after a
/// lost ACK, field case B28).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicatePolicy {
    /// Queue it as usual, flagged as a possible duplicate (the default).
    #[default]
    Flag,
    /// Keep it with status Discarded, flagged, and deliver nothing.
    Discard,
    /// Do not look for duplicates.
    Off,
}

/// What to do with bytes that are not valid in the charset a message is decoded with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvalidText {
    /// Store and route it, read with replacement characters, with a warning (the default).
    #[default]
    Replace,
    /// Keep it with status Error, with a reason naming the charset, so the sender gets a
    /// negative acknowledgement.
    Reject,
}

/// One message as a service received it.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// The bytes, after the adapter's documented normalisation (e.g. segment terminators).
    pub bytes: Bytes,
    /// What the bytes are.
    pub kind: ContentKind,
    /// How to decode the text.
    pub charset: CharsetChoice,
    /// Where it came from, for the event log (a file name, a peer address).
    pub origin: Option<String>,
    /// What to do when it looks like a message received before.
    pub duplicates: DuplicatePolicy,
    /// What to do when its bytes are not valid in its charset.
    pub invalid_text: InvalidText,
    /// Set when the adapter already knows the input is unusable (e.g. a file piece without
    /// an MSH segment): it is stored with status Error and this reason, never queued.
    pub rejected: Option<String>,
    /// An id the sender gives this delivery and repeats when it delivers it again (an AMQP
    /// message id). A message whose id the service stored within the store's duplicate
    /// window is recognised and not stored again: [`Submitted::Accepted`] then names the
    /// earlier message, with `already_stored` set.
    pub delivery_id: Option<String>,
    /// Named facts about the delivery (an AMQP `app_id`, the exchange it came through),
    /// kept with the message, shown beside it and searchable like an HL7 field.
    pub properties: Vec<(String, String)>,
}

impl InboundMessage {
    /// A message of `kind` with the default charset choice and no origin.
    pub fn new(kind: ContentKind, bytes: impl Into<Bytes>) -> Self {
        InboundMessage {
            bytes: bytes.into(),
            kind,
            charset: CharsetChoice::default(),
            origin: None,
            duplicates: DuplicatePolicy::Flag,
            invalid_text: InvalidText::Replace,
            rejected: None,
            delivery_id: None,
            properties: Vec::new(),
        }
    }
}

/// What became of one submitted message. Either way it is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Queued for the service's targets.
    Accepted {
        /// The id of its first header (the id users see for this inbound message).
        id: MessageId,
        /// Its session.
        session: SessionId,
        /// Duplicate detection saw the same message from the same source recently.
        possible_duplicate: bool,
        /// Problems that did not stop it (e.g. bytes invalid in the declared charset).
        warnings: Vec<String>,
        /// The message carried a delivery id stored before: nothing new was written and
        /// `id` is the earlier message (a redelivery after a lost acknowledgement).
        already_stored: bool,
    },
    /// Kept with status Error; the sender should get a negative acknowledgement.
    Rejected {
        /// The Error header.
        id: MessageId,
        /// Why, with where.
        reason: String,
    },
}

/// How a request ended, for a service waiting on the response of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// The operation finished the message with this status (Completed, Error, Suspended,
    /// Discarded).
    Finished(Status),
    /// The message was dropped before reaching the operation (a router discarded it).
    NotRouted,
}

/// The answer to [`Intake::request`].
#[derive(Debug, Clone)]
pub struct Reply {
    /// The submitted message.
    pub submitted: Submitted,
    /// How its processing ended, when it was accepted.
    pub outcome: Option<ReplyOutcome>,
    /// The response the operation stored (an ACK, an HTTP response body).
    pub response: Option<Body>,
}

/// Why the engine could not take a message.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The store failed to write; nothing was stored and the sender must not be
    /// acknowledged. Trying again later may work.
    #[error("the store could not persist the message: {0}")]
    Store(String),
    /// The production is shutting down.
    #[error("the production is shutting down")]
    ShuttingDown,
    /// A request's response did not come in time; the message itself is stored.
    #[error("no response from {operation} within {timeout:?}")]
    Timeout {
        /// The operation whose response was awaited.
        operation: ItemName,
        /// How long the service waited.
        timeout: Duration,
        /// The stored message.
        submitted: Submitted,
    },
    /// The named item is not an operation of the production (for [`Intake::submit_to`]:
    /// not an operation or process).
    #[error("'{0}' is not an operation of this production")]
    NoResponder(ItemName),
}

/// The engine side of a service: persists what the service receives.
#[async_trait]
pub trait Intake: Send + Sync {
    /// Waits until the service may take more input: it is enabled and none of its
    /// targets' queues is at its limit (back-pressure). Returns false when the production
    /// is shutting down.
    async fn ready(&self) -> bool;

    /// Whether the service may take input right now, without waiting: it is enabled and
    /// none of its targets' queues is at its limit. For protocols that answer "busy, try
    /// later" (HTTP 503) instead of making the sender wait.
    fn has_room(&self) -> bool;

    /// Stores `messages` (one atomic write, one durable barrier) and queues the usable
    /// ones for the service's targets. When this returns `Ok`, every message is on disk:
    /// the service may acknowledge its sender.
    ///
    /// # Errors
    ///
    /// [`IntakeError::Store`] when nothing could be stored; the sender must not be
    /// acknowledged.
    async fn submit(&self, messages: Vec<InboundMessage>) -> Result<Vec<Submitted>, IntakeError>;

    /// Stores one message like [`Intake::submit`], then waits up to `timeout` for
    /// `operation` (the service's `response_from` setting) to finish it, and returns the
    /// operation's response.
    ///
    /// # Errors
    ///
    /// As [`Intake::submit`], plus [`IntakeError::Timeout`] (the message is stored) and
    /// [`IntakeError::NoResponder`].
    async fn request(
        &self,
        message: InboundMessage,
        operation: &ItemName,
        timeout: Duration,
    ) -> Result<Reply, IntakeError>;

    /// Like [`Intake::request`], and sends `receipt` the stored message as soon as it is
    /// durable, before the wait for the operation begins: an adapter can confirm receipt
    /// at once and answer later (HL7 enhanced mode: a commit ACK now, the application ACK
    /// when the operation has finished).
    ///
    /// # Errors
    ///
    /// As [`Intake::request`]. No receipt is sent when the message was not stored.
    async fn request_with_receipt(
        &self,
        message: InboundMessage,
        operation: &ItemName,
        timeout: Duration,
        receipt: tokio::sync::oneshot::Sender<Submitted>,
    ) -> Result<Reply, IntakeError>;

    /// Stores `messages` like [`Intake::submit`], queued for `target` instead of the
    /// service's targets: messages a service makes itself, such as an enhanced-mode
    /// application ACK going back to the sender through an operation.
    ///
    /// # Errors
    ///
    /// As [`Intake::submit`], plus [`IntakeError::NoResponder`] when `target` is not an
    /// operation or process of the production.
    async fn submit_to(
        &self,
        messages: Vec<InboundMessage>,
        target: &ItemName,
    ) -> Result<Vec<Submitted>, IntakeError>;

    /// Records the address a listening service bound (the real port when port 0 was
    /// asked for) and logs the `listening item=… addr=…` line that tests and operators
    /// wait for.
    fn listening(&self, addr: std::net::SocketAddr);

    /// Records a warning about the input that stored no message (junk between frames, an
    /// unreadable file) in the event log.
    fn warn(&self, text: String);

    /// Records an error the service cannot fix itself (a folder it cannot read) in the
    /// event log.
    fn error(&self, text: String);
}

/// Everything a running service needs.
#[derive(Clone)]
pub struct ServiceContext {
    /// The service's item name.
    pub item: ItemName,
    /// Where its messages go.
    pub intake: std::sync::Arc<dyn Intake>,
    /// Cancelled when the production stops: stop taking input, finish what was taken.
    pub shutdown: CancellationToken,
    /// Whether the item is enabled; a disabled service takes no input.
    pub enabled: watch::Receiver<bool>,
    /// Events about the service and its trouble (a cancelled consumer).
    pub report: crate::Reporter,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("item", &self.item)
            .finish_non_exhaustive()
    }
}

/// A running inbound adapter.
#[async_trait]
pub trait Service: Send {
    /// The folders this service reads or writes, so the engine can refuse a production
    /// that feeds its own input (a file operation writing into a polled folder).
    fn folders(&self) -> Vec<crate::FolderUse> {
        Vec::new()
    }

    /// The items this service's settings name (e.g. MLLP's `response_from`), checked
    /// against the production before it runs.
    fn references(&self) -> Vec<crate::ItemReference> {
        Vec::new()
    }

    /// Receives until `ctx.shutdown` is cancelled, handing every message to `ctx.intake`.
    ///
    /// # Errors
    ///
    /// [`AdapterError`] when the service cannot go on (it could not bind its address);
    /// problems with single inputs are events, not errors.
    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError>;
}
