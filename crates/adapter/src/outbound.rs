//! What an operation adapter implements: deliver one message, say how it went.

use async_trait::async_trait;
use ferry_message::{Body, Header, NewBody};

use crate::AdapterError;

/// One message to deliver.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// Its header (the id to use as an idempotency key, the session, the document type).
    pub header: &'a Header,
    /// Its body.
    pub body: &'a Body,
}

/// A delivery the far side accepted.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    /// The far side's response, kept with the message (an ACK, a response body).
    pub response: Option<NewBody>,
    /// A short note for the event log (where a file went).
    pub note: Option<String>,
}

/// What the engine should do with a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Transient (refused connection, timeout, unwritable folder): retry per the
    /// operation's retry policy.
    Retry,
    /// Permanent for this message (the far side rejected it): Error now, no retry.
    Fail,
    /// Needs a person: Suspended now.
    Suspend,
}

/// A failed delivery, classified.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    /// What to do about it.
    pub class: FailureClass,
    /// Why, for the event log and the message's header.
    pub reason: String,
    /// The far side's answer, when it gave one (a NAK): kept with the message so a person
    /// and a waiting service see exactly what the receiver said.
    pub response: Option<NewBody>,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn retry(reason: impl Into<String>) -> Self {
        DeliveryError {
            class: FailureClass::Retry,
            reason: reason.into(),
            response: None,
        }
    }

    /// A failure no retry will fix.
    pub fn fail(reason: impl Into<String>) -> Self {
        DeliveryError {
            class: FailureClass::Fail,
            reason: reason.into(),
            response: None,
        }
    }

    /// The same failure with the far side's answer attached.
    pub fn with_response(mut self, response: Option<NewBody>) -> Self {
        self.response = response;
        self
    }

    /// A failure a person must look at.
    pub fn suspend(reason: impl Into<String>) -> Self {
        DeliveryError {
            class: FailureClass::Suspend,
            reason: reason.into(),
            response: None,
        }
    }
}

/// A running outbound adapter. One instance serves every worker of its item, so
/// `deliver` may be called concurrently when the item's pool is larger than one.
#[async_trait]
pub trait Operation: Send + Sync {
    /// The folders this operation writes, for the same check as [`crate::Service::folders`].
    fn folders(&self) -> Vec<crate::FolderUse> {
        Vec::new()
    }

    /// Prepares for delivering (opens connections, checks folders). Called once before
    /// the first delivery; a failure here is logged and retried by the engine.
    ///
    /// # Errors
    ///
    /// [`AdapterError`] when the operation cannot get ready.
    async fn start(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Delivers one message. Every network call inside has a timeout.
    ///
    /// # Errors
    ///
    /// [`DeliveryError`], classified so the engine knows whether to retry.
    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError>;
}
