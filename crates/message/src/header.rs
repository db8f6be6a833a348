//! Message headers: one per hop.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{BodyId, ItemName, MessageId, SessionId, Status};

/// One hop of a message: from `source` to `target`, carrying `body`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The id users see.
    pub id: MessageId,
    /// The session: every header caused by one inbound message shares it.
    pub session: SessionId,
    /// The header whose processing created this one (none for an inbound message).
    pub parent: Option<MessageId>,
    /// For a resend: the header it repeats (the back-pointer).
    pub resend_of: Option<MessageId>,
    /// The item that sent it (a service or process).
    pub source: ItemName,
    /// The item whose queue it is on (a process or operation); for input rejected by a
    /// service, the service itself.
    pub target: ItemName,
    /// When the header was written.
    pub created: Timestamp,
    /// When its status last changed.
    pub updated: Timestamp,
    /// Its delivery state.
    pub status: Status,
    /// The document type, e.g. `ADT^A01` for HL7 v2 (MSH-9.1^MSH-9.2).
    pub doc_type: Option<String>,
    /// The body it carries.
    pub body: BodyId,
    /// Set when duplicate detection saw the same content from the same source recently.
    pub possible_duplicate: bool,
    /// Delivery attempts made so far (operations).
    pub attempts: u32,
    /// Why the header is in Error, Suspended or Discarded, or the last retry's cause.
    pub reason: Option<String>,
    /// The response stored with the message (an ACK, an HTTP response body).
    pub response: Option<BodyId>,
}
