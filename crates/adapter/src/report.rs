//! How an adapter tells people about itself between messages: events for the log, and a
//! *trouble* that changes the item's state while the far side will not let it work.
//!
//! A broker that cancelled a consumer or blocks publishers leaves the connection up, so
//! "Running" would be a lie; the adapter sets a [`Trouble`] ("consumer cancelled",
//! "blocked by broker") and clears it when work resumes. The engine shows it in the item's
//! status, and each change is written to the event log once, not on every retry.

use std::sync::Arc;

use ferry_message::ItemName;
use tokio::sync::watch;

/// How serious an event is, per the style guide's level policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportLevel {
    /// Lifecycle: started, resumed.
    Info,
    /// A recovered problem, or one a person may want to know about.
    Warn,
    /// A person must act, or the item cannot work.
    Error,
}

/// Where a [`Reporter`]'s events go: the engine's durable event log.
pub trait EventLog: Send + Sync {
    /// Records one event about `item`. Repeated identical warnings and errors may be
    /// rate-limited by the log.
    fn record(&self, item: &ItemName, level: ReportLevel, text: String);
}

/// Why an item cannot do its work right now, although it is enabled and running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trouble {
    /// A short state name for status displays: `consumer cancelled`, `blocked by broker`.
    pub state: String,
    /// What happened, naming the object concerned (queue, exchange, address).
    pub reason: String,
}

/// An item's voice: events and its current trouble. Cheap to clone; every clone speaks
/// for the same item.
#[derive(Clone)]
pub struct Reporter {
    item: ItemName,
    log: Arc<dyn EventLog>,
    trouble: Arc<watch::Sender<Option<Trouble>>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("item", &self.item)
            .field("trouble", &*self.trouble.borrow())
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// A reporter for `item` writing to `log`.
    pub fn new(item: ItemName, log: Arc<dyn EventLog>) -> Self {
        Reporter {
            item,
            log,
            trouble: Arc::new(watch::Sender::new(None)),
        }
    }

    /// A reporter whose events only go to `tracing`: for adapters used outside an engine
    /// (tests, tools).
    pub fn detached(item: ItemName) -> Self {
        Reporter::new(item, Arc::new(TracingLog))
    }

    /// The item this reporter speaks for.
    pub fn item(&self) -> &ItemName {
        &self.item
    }

    /// Records a lifecycle event.
    pub fn info(&self, text: impl Into<String>) {
        self.log.record(&self.item, ReportLevel::Info, text.into());
    }

    /// Records a warning.
    pub fn warn(&self, text: impl Into<String>) {
        self.log.record(&self.item, ReportLevel::Warn, text.into());
    }

    /// Records an error.
    pub fn error(&self, text: impl Into<String>) {
        self.log.record(&self.item, ReportLevel::Error, text.into());
    }

    /// Puts the item in trouble. The first call, and any call that changes the state or
    /// the reason, writes an error event; repeating the same trouble writes nothing.
    pub fn trouble(&self, state: impl Into<String>, reason: impl Into<String>) {
        let trouble = Trouble {
            state: state.into(),
            reason: reason.into(),
        };
        let text = format!("{}: {}", trouble.state, trouble.reason);
        let changed = self.trouble.send_if_modified(|current| {
            if current.as_ref() == Some(&trouble) {
                return false;
            }
            *current = Some(trouble);
            true
        });
        if changed {
            self.error(text);
        }
    }

    /// Clears the trouble, if any, and records that the item works again.
    pub fn recovered(&self) {
        let mut ended = None;
        self.trouble.send_if_modified(|current| {
            ended = current.take();
            ended.is_some()
        });
        if let Some(trouble) = ended {
            self.info(format!(
                "resumed after '{}' ({})",
                trouble.state, trouble.reason
            ));
        }
    }

    /// The current trouble, if any.
    pub fn current_trouble(&self) -> Option<Trouble> {
        self.trouble.borrow().clone()
    }

    /// A receiver that sees every change of the trouble (for live status displays).
    pub fn watch(&self) -> watch::Receiver<Option<Trouble>> {
        self.trouble.subscribe()
    }
}

/// The log of a detached reporter.
struct TracingLog;

impl EventLog for TracingLog {
    fn record(&self, item: &ItemName, level: ReportLevel, text: String) {
        let item = item.as_str();
        match level {
            ReportLevel::Info => tracing::info!(item, "{text}"),
            ReportLevel::Warn => tracing::warn!(item, "{text}"),
            ReportLevel::Error => tracing::error!(item, "{text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<(ReportLevel, String)>>);

    impl EventLog for Recorded {
        fn record(&self, _item: &ItemName, level: ReportLevel, text: String) {
            self.0.lock().unwrap().push((level, text));
        }
    }

    #[test]
    fn a_trouble_is_logged_once_per_change_and_its_end_once() {
        let log = Arc::new(Recorded::default());
        let reporter = Reporter::new(ItemName::new("in"), log.clone());

        reporter.trouble("consumer cancelled", "queue 't.in' was deleted");
        reporter.trouble("consumer cancelled", "queue 't.in' was deleted");
        reporter.trouble("consumer cancelled", "queue 't.in' does not exist");
        reporter.recovered();
        reporter.recovered();

        let recorded = log.0.lock().unwrap().clone();
        let levels: Vec<_> = recorded.iter().map(|(level, _)| *level).collect();
        assert_eq!(
            levels,
            [ReportLevel::Error, ReportLevel::Error, ReportLevel::Info]
        );
        assert_eq!(
            recorded[2].1,
            "resumed after 'consumer cancelled' (queue 't.in' does not exist)"
        );
        assert_eq!(reporter.current_trouble(), None);
    }
}
