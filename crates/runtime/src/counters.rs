//! What each item has done since the production started, counted twice over: in atomic
//! counters the admin surfaces read directly (the overview's error count), and through the
//! `metrics` facade for Prometheus. Labels are the production, the item and a bounded
//! error kind, never a message id.

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

/// Counts of one item since the production started, and its metric handles (labelled
/// once, when the item is set up, so counting costs no label lookup).
#[derive(Debug)]
pub(crate) struct ItemCounters {
    received: AtomicU64,
    processed: AtomicU64,
    errors: AtomicU64,
    metrics: ItemMetrics,
}

/// The Prometheus series of one item.
#[derive(Debug)]
struct ItemMetrics {
    received: metrics::Counter,
    processed: metrics::Counter,
    discarded: metrics::Counter,
    errors: [metrics::Counter; 4],
    processing: metrics::Histogram,
    ack: metrics::Histogram,
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

const ERROR_KINDS: [ErrorKind; 4] = [
    ErrorKind::Rejected,
    ErrorKind::Failed,
    ErrorKind::Suspended,
    ErrorKind::Retry,
];

impl ItemCounters {
    /// Counters for `item` of `production`, registered with the metrics recorder installed
    /// now (install it before the engine starts).
    pub(crate) fn new(production: &str, item: &ItemName) -> Self {
        let labels = [
            ("production", production.to_owned()),
            ("item", item.as_str().to_owned()),
        ];
        let errors = ERROR_KINDS.map(|kind| {
            let mut labels = labels.to_vec();
            labels.push(("kind", kind.label().to_owned()));
            metrics::counter!("ferry_message_errors_total", &labels)
        });
        let metrics = ItemMetrics {
            received: metrics::counter!("ferry_messages_in_total", &labels),
            processed: metrics::counter!("ferry_messages_out_total", &labels),
            discarded: metrics::counter!("ferry_messages_discarded_total", &labels),
            errors,
            processing: metrics::histogram!("ferry_processing_seconds", &labels),
            ack: metrics::histogram!("ferry_ack_seconds", &labels),
        };
        ItemCounters {
            received: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            metrics,
        }
    }

    pub(crate) fn snapshot(&self) -> ItemCounts {
        ItemCounts {
            received: self.received.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    /// A service stored `count` messages; the time until they were durable is how long
    /// its sender waited for the acknowledgement.
    pub(crate) fn received(&self, count: usize, until_durable: Duration) {
        self.received.fetch_add(count as u64, Ordering::Relaxed);
        self.metrics.received.increment(count as u64);
        self.metrics.ack.record(until_durable);
    }

    /// A process or operation finished a message after `took`.
    pub(crate) fn finished(&self, outcome: &Outcome, took: Duration) {
        self.metrics.processing.record(took);
        match outcome {
            Outcome::Completed => {
                self.processed.fetch_add(1, Ordering::Relaxed);
                self.metrics.processed.increment(1);
            }
            Outcome::Error(_) => self.error(ErrorKind::Failed),
            Outcome::Suspended(_) => self.error(ErrorKind::Suspended),
            Outcome::Discarded(_) => self.metrics.discarded.increment(1),
        }
    }

    /// One error of `kind`.
    pub(crate) fn error(&self, kind: ErrorKind) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let index = ERROR_KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        self.metrics.errors[index].increment(1);
    }
}
