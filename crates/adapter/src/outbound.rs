//! What an operation adapter implements: deliver one message, say how it went.

use std::time::Duration;

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
    /// For a retry: the earliest the far side wants to hear from Ferry again (HTTP
    /// `Retry-After`). The engine waits at least this long, and gives up instead when the
    /// wait would end after the operation's failure timeout.
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn retry(reason: impl Into<String>) -> Self {
        DeliveryError {
            class: FailureClass::Retry,
            reason: reason.into(),
            response: None,
            retry_after: None,
        }
    }

    /// A failure no retry will fix.
    pub fn fail(reason: impl Into<String>) -> Self {
        DeliveryError {
            class: FailureClass::Fail,
            reason: reason.into(),
            response: None,
            retry_after: None,
        }
    }

    /// The same failure with the far side's answer attached.
    pub fn with_response(mut self, response: Option<NewBody>) -> Self {
        self.response = response;
        self
    }

    /// The same failure, to be retried no sooner than `delay` from now.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// A failure a person must look at.
    pub fn suspend(reason: impl Into<String>) -> Self {
        DeliveryError {
            class: FailureClass::Suspend,
            reason: reason.into(),
            response: None,
            retry_after: None,
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

    /// Prepares for delivering (opens connections, declares what it needs, checks
    /// folders). The engine calls it when the production starts, before any worker takes
    /// a message; a failure puts the item in trouble with the error's text, and the engine
    /// calls it again after a capped backoff, so no message spends its retries on an
    /// operation that never started. `report` stays valid for the operation's life: keep
    /// a clone to report trouble found while delivering (a broker blocking publishers).
    ///
    /// # Errors
    ///
    /// [`AdapterError`] when the operation cannot get ready.
    async fn start(&self, _report: &crate::Reporter) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Delivers one message. Every network call inside has a timeout.
    ///
    /// # Errors
    ///
    /// [`DeliveryError`], classified so the engine knows whether to retry.
    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError>;
}
