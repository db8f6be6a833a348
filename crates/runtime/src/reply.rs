//! The request/response path: a service waits for one named operation to finish the
//! message it submitted (MLLP application ACKs, synchronous HTTP).
//!
//! A waiter is registered under the hub's lock in the same critical section that writes
//! the message, so the operation cannot finish it before the waiter exists.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use ferry_adapter::ReplyOutcome;
use ferry_message::{BodyId, ItemName, SessionId};
use tokio::sync::oneshot;

/// What a waiter receives.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) outcome: ReplyOutcome,
    pub(crate) response: Option<BodyId>,
}

struct Waiter {
    operation: ItemName,
    answer: oneshot::Sender<Answer>,
}

/// Waiters by session.
#[derive(Default)]
pub(crate) struct ReplyHub {
    waiters: Mutex<HashMap<SessionId, Waiter>>,
}

/// The hub held locked while a message is written and its waiter registered.
pub(crate) struct Registration<'a> {
    waiters: MutexGuard<'a, HashMap<SessionId, Waiter>>,
}

impl Registration<'_> {
    /// Registers a waiter for `operation` finishing a message of `session`.
    pub(crate) fn wait_for(
        mut self,
        session: SessionId,
        operation: ItemName,
    ) -> oneshot::Receiver<Answer> {
        let (answer, receiver) = oneshot::channel();
        self.waiters.insert(session, Waiter { operation, answer });
        receiver
    }
}

impl ReplyHub {
    /// Locks the hub; write the message, then call [`Registration::wait_for`].
    pub(crate) fn lock(&self) -> Registration<'_> {
        Registration {
            waiters: self.waiters.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// True when a service waits for `item` to finish a message of `session`.
    pub(crate) fn waits_for(&self, session: SessionId, item: &ItemName) -> bool {
        let waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.get(&session).is_some_and(|w| &w.operation == item)
    }

    /// Tells the waiter of `session`, if it waits for `item`, how the message ended.
    pub(crate) fn finished(&self, session: SessionId, item: &ItemName, answer: Answer) {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if waiters.get(&session).is_some_and(|w| &w.operation == item)
            && let Some(waiter) = waiters.remove(&session)
        {
            // The waiter may have timed out and gone; nothing to do then.
            let _ = waiter.answer.send(answer);
        }
    }

    /// Tells the waiter of `session` that its message will never reach an operation.
    pub(crate) fn not_routed(&self, session: SessionId) {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(waiter) = waiters.remove(&session) {
            let _ = waiter.answer.send(Answer {
                outcome: ReplyOutcome::NotRouted,
                response: None,
            });
        }
    }

    /// Drops the waiter of `session` (it timed out).
    pub(crate) fn forget(&self, session: SessionId) {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.remove(&session);
    }
}
