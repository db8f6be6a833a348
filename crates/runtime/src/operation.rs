//! Delivering through an operation: starting its adapter, the retry policy, the failure
//! timeout, and the final state of every message.
//!
//! The adapter is started before any worker takes a message; until it starts, the item is
//! in trouble and nothing is taken, so no message spends its retries on an operation that
//! cannot work. A message is then delivered until the adapter accepts it, refuses it for
//! good, asks for a person, or its failure timeout passes. Between attempts the worker
//! holds the message (pool 1 keeps strict order: nothing overtakes a failing message); a
//! shutdown or a disable during the wait returns the message to the head of its queue. The
//! failure timeout counts from the first attempt since the message was last taken.
//!
//! The backoff belongs to the far side, not to one message: after a failure every worker
//! of the operation waits until the same instant (with a little jitter, added, never
//! taken off), so a pool of N does not hit a failing server N times as often. A far side
//! that names its own wait (HTTP `Retry-After`) gets at least that wait.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// The first wait before starting an adapter again after it failed to start.
const START_RETRY_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between two tries to start an adapter.
const START_RETRY_CAP: Duration = Duration::from_secs(60);

/// The most jitter adds to a backoff, as a fraction of it.
const JITTER: f64 = 0.1;

/// Runs deliveries of one operation item.
pub(crate) struct OperationRunner {
    shared: Arc<Shared>,
    item: Arc<ItemState>,
    operation: Arc<dyn Operation>,
    policy: RetryPolicy,
    /// Held while the adapter is being started; `started` says whether it has been.
    starting: Mutex<()>,
    started: AtomicBool,
    /// The item's restart count when the adapter was last started.
    started_generation: std::sync::atomic::AtomicU64,
    /// No attempt starts before this instant: the far side's backoff, shared by the pool.
    not_before: std::sync::Mutex<Option<Instant>>,
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
            starting: Mutex::new(()),
            started: AtomicBool::new(false),
            started_generation: std::sync::atomic::AtomicU64::new(0),
            not_before: std::sync::Mutex::new(None),
        }
    }

    /// Starts the adapter if it has not started, trying again after a capped backoff
    /// while it fails (the item is in trouble meanwhile). Returns false when the
    /// production stops or the item is disabled first.
    pub(crate) async fn ensure_started(&self) -> bool {
        let generation = *self.item.restarts.borrow();
        if self.started.load(Ordering::Acquire)
            && self.started_generation.load(Ordering::Acquire) == generation
        {
            return true;
        }
        let _starting = self.starting.lock().await;
        if self.started_generation.load(Ordering::Acquire) != generation {
            // An admin asked for a restart: start the adapter again before the next take.
            self.started.store(false, Ordering::Release);
            self.started_generation.store(generation, Ordering::Release);
        }
        let mut delay = START_RETRY_FIRST;
        while !self.started.load(Ordering::Acquire) {
            if self.shared.shutdown.is_cancelled() {
                return false;
            }
            match self.operation.start(&self.item.report).await {
                Ok(()) => {
                    self.item.report.recovered();
                    self.started.store(true, Ordering::Release);
                }
                Err(error) => {
                    // The reason alone, without the wait: the trouble (and its event)
                    // changes only when what went wrong changes, not on every try.
                    self.item.report.trouble("not started", error.message);
                    tracing::debug!(item = %self.item.name, wait = %humanize(delay), "start again");
                    if !self.wait(delay).await {
                        return false;
                    }
                    delay = (delay * 2).min(START_RETRY_CAP);
                }
            }
        }
        true
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
        let ending = self.attempts(&mut lease, &body).await;
        self.item.set_failing(None);
        match ending {
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
        let mut first_attempt = None;
        let mut delay = self.policy.interval;
        loop {
            if !self.wait_for_turn().await {
                return Ending::Released;
            }
            let first_attempt = *first_attempt.get_or_insert_with(Instant::now);

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

            let wait = match self.retry_wait(delay, first_attempt, &error) {
                Ok(wait) => wait,
                Err(outcome) => return Ending::Failed(outcome, error.response),
            };
            // Hold the pool back first: recording the attempt writes to the store, and
            // other workers must not start in the meantime.
            self.hold_back(wait);
            self.note_retry(lease, &error, wait);
            delay = next_delay(delay, &self.policy);
        }
    }

    /// How long to wait before the next attempt: the backoff `delay` or the far side's
    /// `Retry-After`, whichever is longer, plus jitter. The final outcome instead when the
    /// failure timeout has passed, or when the far side's wait would outlast it.
    fn retry_wait(
        &self,
        delay: Duration,
        first_attempt: Instant,
        error: &DeliveryError,
    ) -> Result<Duration, Outcome> {
        let asked = error.retry_after.unwrap_or_default();
        let mut wait = with_jitter(delay).max(asked);
        let Some(limit) = self.policy.failure_timeout else {
            return Ok(wait);
        };

        let elapsed = first_attempt.elapsed();
        if elapsed >= limit {
            let reason = format!(
                "failure timeout of {} passed; last error: {}",
                humanize(limit),
                error.reason
            );
            return Err(self.give_up(reason));
        }
        if elapsed + asked > limit {
            let reason = format!(
                "the far side asked to wait {} before trying again (Retry-After), more than \
                 the {} left of the failure timeout of {}; last error: {}",
                humanize(asked),
                humanize(limit - elapsed),
                humanize(limit),
                error.reason
            );
            return Err(self.give_up(reason));
        }

        // The last attempt happens when the timeout ends, not a backoff later.
        wait = wait.min(limit - elapsed);
        Ok(wait)
    }

    /// Makes every worker of the operation wait `wait` from now before its next attempt.
    fn hold_back(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        *not_before = Some(not_before.map_or(until, |current| current.max(until)));
    }

    /// Waits until the operation's backoff instant; false when the production stops or
    /// the item is disabled first.
    async fn wait_for_turn(&self) -> bool {
        let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        match until.map(|until| until.saturating_duration_since(Instant::now())) {
            Some(wait) if !wait.is_zero() => self.wait(wait).await,
            _ => true,
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

    /// One attempt.
    async fn attempt(&self, lease: &Lease, body: &Body) -> Result<Delivered, DeliveryError> {
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
        self.item.counters.error(crate::counters::ErrorKind::Retry);
        self.item
            .set_failing(Some(format!("message {id}: {}", error.reason)));
        if let Err(store_error) = self.shared.store.record_attempt(lease, &error.reason, None) {
            tracing::error!(%store_error, "could not record a delivery attempt");
        }
        self.shared.events.record_repeating("retry", event);
    }

    /// The final state when the failure timeout ends the retries, per the operation's
    /// `on_failure`.
    fn give_up(&self, reason: String) -> Outcome {
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

/// `delay` lengthened by a random fraction of up to [`JITTER`], so the workers of several
/// operations failing at once do not come back in step.
fn with_jitter(delay: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let fraction = (random % 1_000) as f64 / 1_000.0;
    delay.mul_f64(1.0 + JITTER * fraction)
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
