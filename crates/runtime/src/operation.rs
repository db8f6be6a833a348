//! Delivering through an operation: the retry policy, the failure timeout, and the final
//! state of every message.
//!
//! A message is delivered until the adapter accepts it, refuses it for good, asks for a
//! person, or its failure timeout passes. Between attempts the worker holds the message
//! (pool 1 keeps strict order: nothing overtakes a failing message); a shutdown or a
//! disable during the wait returns the message to the head of its queue. The failure
//! timeout counts from the first attempt since the message was last taken.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_adapter::{Delivered, Delivery, DeliveryError, FailureClass, Operation, ReplyOutcome};
use ferry_message::{Body, ItemName, Status};
use ferry_production::{FailureAction, RetryPolicy};
use ferry_store::{EventKind, EventLevel, Lease, Outcome, Step};
use tokio::sync::Mutex;

use crate::context::Shared;
use crate::events::item_event;
use crate::items::ItemState;
use crate::reply::Answer;
use crate::worker::complete;

/// How long a delivery in progress may go on once the production stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs deliveries of one operation item.
pub(crate) struct OperationRunner {
    shared: Arc<Shared>,
    item: Arc<ItemState>,
    operation: Arc<dyn Operation>,
    policy: RetryPolicy,
    /// Whether `Operation::start` has succeeded yet.
    started: Mutex<bool>,
}

/// How one message's deliveries ended.
enum Ending {
    Delivered(Delivered),
    /// The final state, with the far side's answer when it gave one.
    Failed(Outcome, Option<ferry_message::NewBody>),
    /// Shutdown or disable during a wait: back to the head of the queue.
    Released,
}

impl OperationRunner {
    pub(crate) fn new(
        shared: Arc<Shared>,
        item: Arc<ItemState>,
        operation: Arc<dyn Operation>,
        policy: RetryPolicy,
    ) -> Self {
        OperationRunner {
            shared,
            item,
            operation,
            policy,
            started: Mutex::new(false),
        }
    }

    /// Delivers one leased message and records how it ended.
    pub(crate) async fn deliver(&self, lease: Lease) {
        let body = match self.shared.store.body(lease.header.body) {
            Ok(Some(body)) => body,
            Ok(None) => {
                let reason = format!("body {} is missing from the store", lease.header.body);
                self.finish(lease, Outcome::Error(reason), None).await;
                return;
            }
            Err(error) => {
                let reason = format!("cannot read the body: {error}");
                self.finish(lease, Outcome::Error(reason), None).await;
                return;
            }
        };

        let mut lease = lease;
        match self.attempts(&mut lease, &body).await {
            Ending::Delivered(delivered) => {
                if let Some(note) = &delivered.note {
                    tracing::debug!(note = %note, "delivered");
                }
                if lease.header.attempts > 0 {
                    tracing::info!(
                        item = %self.item.name,
                        message_id = lease.header.id.0,
                        attempts = lease.header.attempts + 1,
                        "delivered after retries"
                    );
                }
                self.finish(lease, Outcome::Completed, delivered.response)
                    .await;
            }
            Ending::Failed(outcome, response) => self.finish(lease, outcome, response).await,
            Ending::Released => {
                if let Err(error) = self.shared.store.release(lease) {
                    tracing::error!(%error, "could not return a message to its queue; \
                        recovery returns it at the next start");
                }
                self.item.work.notify_waiters();
            }
        }
    }

    /// Tries until the message is delivered, fails for good, or the wait is interrupted.
    async fn attempts(&self, lease: &mut Lease, body: &Body) -> Ending {
        let first_attempt = Instant::now();
        let mut delay = self.policy.interval;
        loop {
            let error = match self.attempt_until_shutdown(lease, body).await {
                Some(Ok(delivered)) => return Ending::Delivered(delivered),
                Some(Err(error)) => error,
                None => return Ending::Released,
            };
            match error.class {
                FailureClass::Fail => {
                    return Ending::Failed(Outcome::Error(error.reason), error.response);
                }
                FailureClass::Suspend => {
                    return Ending::Failed(Outcome::Suspended(error.reason), error.response);
                }
                FailureClass::Retry => {}
            }

            let mut wait = delay;
            if let Some(limit) = self.policy.failure_timeout {
                let elapsed = first_attempt.elapsed();
                if elapsed >= limit {
                    let outcome = self.give_up(limit, &error);
                    return Ending::Failed(outcome, error.response);
                }
                // The last attempt happens when the timeout ends, not a backoff later.
                wait = wait.min(limit - elapsed);
            }

            self.note_retry(lease, &error, wait);
            if !self.wait(wait).await {
                return Ending::Released;
            }
            delay = next_delay(delay, &self.policy);
        }
    }

    /// One attempt, given [`SHUTDOWN_GRACE`] to finish once the production stops; `None`
    /// when it was abandoned (a receiver that does not answer must not hold the shutdown
    /// for its whole response timeout). The message then goes back to its queue and is
    /// delivered again after the restart.
    async fn attempt_until_shutdown(
        &self,
        lease: &Lease,
        body: &Body,
    ) -> Option<Result<Delivered, DeliveryError>> {
        let attempt = self.attempt(lease, body);
        tokio::pin!(attempt);
        tokio::select! {
            result = &mut attempt => return Some(result),
            () = self.shared.shutdown.cancelled() => {}
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, attempt).await {
            Ok(result) => Some(result),
            Err(_) => {
                tracing::warn!(
                    item = %self.item.name,
                    message_id = lease.header.id.0,
                    "delivery abandoned at shutdown; the message returns to its queue"
                );
                None
            }
        }
    }

    /// One attempt: start the adapter if it never started, then deliver.
    async fn attempt(&self, lease: &Lease, body: &Body) -> Result<Delivered, DeliveryError> {
        {
            let mut started = self.started.lock().await;
            if !*started {
                self.operation
                    .start()
                    .await
                    .map_err(|e| DeliveryError::retry(format!("could not start: {}", e.message)))?;
                *started = true;
            }
        }
        let delivery = Delivery {
            header: &lease.header,
            body,
        };
        self.operation.deliver(delivery).await
    }

    /// Counts the attempt on the message and logs the retry (rate-limited).
    fn note_retry(&self, lease: &mut Lease, error: &DeliveryError, delay: Duration) {
        let id = lease.header.id;
        let text = format!(
            "delivery of message {id} failed (attempt {}): {}; retrying in {}",
            lease.header.attempts + 1,
            error.reason,
            humanize(delay)
        );
        let event = item_event(
            EventLevel::Warn,
            EventKind::Retry,
            &self.item.name,
            Some(id),
            text,
        );
        if let Err(store_error) = self.shared.store.record_attempt(lease, &error.reason, None) {
            tracing::error!(%store_error, "could not record a delivery attempt");
        }
        self.shared.events.record_repeating("retry", event);
    }

    /// The final state after the failure timeout, per the operation's `on_failure`.
    fn give_up(&self, limit: Duration, error: &DeliveryError) -> Outcome {
        let reason = format!(
            "failure timeout of {} passed; last error: {}",
            humanize(limit),
            error.reason
        );
        match self.policy.on_failure {
            FailureAction::Error => Outcome::Error(reason),
            FailureAction::Suspend => Outcome::Suspended(reason),
        }
    }

    /// Waits `delay`; false when the production stops or the item is disabled first.
    async fn wait(&self, delay: Duration) -> bool {
        let mut enabled = self.item.enabled.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(delay) => self.item.is_enabled(),
            _ = enabled.wait_for(|on| !*on) => false,
            _ = self.shared.shutdown.cancelled() => false,
        }
    }

    /// Writes the final state, logs it, and answers a waiting service.
    async fn finish(
        &self,
        lease: Lease,
        outcome: Outcome,
        response: Option<ferry_message::NewBody>,
    ) {
        let id = lease.header.id;
        let session = lease.header.session;
        let status = status_of(&outcome);
        let events = self.final_events(id, &outcome);
        let step = Step {
            lease,
            outcome,
            response,
            outputs: Vec::new(),
            events,
        };
        if !complete(&self.shared, step).await {
            return;
        }
        if !self.shared.replies.waits_for(session, &self.item.name) {
            return;
        }

        let response = self
            .shared
            .store
            .header(id)
            .ok()
            .flatten()
            .and_then(|header| header.response);
        let answer = Answer {
            outcome: ReplyOutcome::Finished(status),
            response,
        };
        self.shared
            .replies
            .finished(session, &self.item.name, answer);
    }

    fn final_events(
        &self,
        id: ferry_message::MessageId,
        outcome: &Outcome,
    ) -> Vec<ferry_store::NewEvent> {
        let item: &ItemName = &self.item.name;
        let event = match outcome {
            Outcome::Completed | Outcome::Discarded(_) => return Vec::new(),
            Outcome::Error(reason) => item_event(
                EventLevel::Error,
                EventKind::Failed,
                item,
                Some(id),
                format!("message {id} failed: {reason}"),
            ),
            Outcome::Suspended(reason) => item_event(
                EventLevel::Error,
                EventKind::Suspended,
                item,
                Some(id),
                format!("message {id} suspended: {reason}"),
            ),
        };
        crate::events::log(&event);
        vec![event]
    }
}

fn status_of(outcome: &Outcome) -> Status {
    match outcome {
        Outcome::Completed => Status::Completed,
        Outcome::Error(_) => Status::Error,
        Outcome::Suspended(_) => Status::Suspended,
        Outcome::Discarded(_) => Status::Discarded,
    }
}

/// The next wait: multiplied by the backoff, capped.
fn next_delay(delay: Duration, policy: &RetryPolicy) -> Duration {
    delay
        .mul_f64(policy.backoff.max(1.0))
        .min(policy.max_interval)
}

/// `250ms`, `1.5s`, `2.0m`: how durations read in events.
pub(crate) fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{:.1}m", duration.as_secs_f64() / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap() {
        let policy = RetryPolicy {
            interval: Duration::from_secs(1),
            backoff: 2.0,
            max_interval: Duration::from_secs(5),
            failure_timeout: None,
            on_failure: FailureAction::Error,
        };
        let mut delay = policy.interval;
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(delay.as_secs());
            delay = next_delay(delay, &policy);
        }
        assert_eq!(seen, [1, 2, 4, 5, 5]);
    }
}
