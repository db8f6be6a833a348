//! What each item has done since the production started, counted twice over: in atomic
//! counters the admin surfaces read directly (the overview's error count), and through the
//! `metrics` facade for Prometheus. Labels are the item and a bounded error kind, never a
//! message id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferry_message::ItemName;
use ferry_store::Outcome;

/// Why a message counts as an error, as the `kind` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Input a service could not use, kept with status Error.
    Rejected,
    /// A message that ended in Error.
    Failed,
    /// A message held for a person.
    Suspended,
    /// A delivery attempt that failed and will be tried again.
    Retry,
}

impl ErrorKind {
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Rejected => "rejected",
            ErrorKind::Failed => "failed",
            ErrorKind::Suspended => "suspended",
            ErrorKind::Retry => "retry",
        }
    }
}

/// Counts of one item since the production started.
#[derive(Debug, Default)]
pub(crate) struct ItemCounters {
    received: AtomicU64,
    processed: AtomicU64,
    errors: AtomicU64,
}

/// A snapshot of [`ItemCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// Messages a service stored (its input, kept even when rejected).
    pub received: u64,
    /// Messages a process or operation finished as Completed.
    pub processed: u64,
    /// Rejected inputs, failed and suspended messages, and failed delivery attempts.
    pub errors: u64,
}

impl ItemCounters {
    pub(crate) fn snapshot(&self) -> ItemCounts {
        ItemCounts {
            received: self.received.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    /// A service stored `count` messages; the time until they were durable is how long
    /// its sender waited for the acknowledgement.
    pub(crate) fn received(&self, item: &ItemName, count: usize, until_durable: Duration) {
        self.received.fetch_add(count as u64, Ordering::Relaxed);
        let label = item.as_str().to_owned();
        metrics::counter!("ferry_messages_in_total", "item" => label.clone())
            .increment(count as u64);
        metrics::histogram!("ferry_ack_seconds", "item" => label).record(until_durable);
    }

    /// A process or operation finished a message after `took`.
    pub(crate) fn finished(&self, item: &ItemName, outcome: &Outcome, took: Duration) {
        let label = item.as_str().to_owned();
        metrics::histogram!("ferry_processing_seconds", "item" => label.clone()).record(took);
        match outcome {
            Outcome::Completed => {
                self.processed.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("ferry_messages_out_total", "item" => label).increment(1);
            }
            Outcome::Error(_) => self.error(item, ErrorKind::Failed),
            Outcome::Suspended(_) => self.error(item, ErrorKind::Suspended),
            Outcome::Discarded(_) => {
                metrics::counter!("ferry_messages_discarded_total", "item" => label).increment(1);
            }
        }
    }

    /// One error of `kind` for `item`.
    pub(crate) fn error(&self, item: &ItemName, kind: ErrorKind) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(
            "ferry_message_errors_total",
            "item" => item.as_str().to_owned(),
            "kind" => kind.label()
        )
        .increment(1);
    }
}
