//! The engine's event log: every event goes to the store's durable log and to `tracing`
//! at the level the style guide's policy gives it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_message::{ItemName, MessageId};
use ferry_store::{EventKind, EventLevel, NewEvent, Store};

/// How often one kind of repeating event (a retry of one item) is written at most.
const REPEAT_WINDOW: Duration = Duration::from_secs(10);

/// Writes events to the store and the log.
#[derive(Clone)]
pub(crate) struct EventSink {
    store: Arc<dyn Store>,
    repeats: Arc<Mutex<HashMap<RepeatKey, Repeat>>>,
}

/// What makes two events "the same" for the repeat limit: item, topic and text.
type RepeatKey = (ItemName, &'static str, String);

struct Repeat {
    last_written: Instant,
    suppressed: u64,
}

impl EventSink {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        EventSink {
            store,
            repeats: Arc::default(),
        }
    }

    /// Logs `event` and appends it to the durable log. A store failure is logged, not
    /// returned: losing an event must not stop message processing.
    pub(crate) fn record(&self, event: NewEvent) {
        log(&event);
        if let Err(error) = self.store.append_events(vec![event]) {
            tracing::error!(%error, "could not write to the event log");
        }
    }

    /// Records a repeating event (same item, `topic` and text) at most once per window,
    /// with the count of those left out since the last one written. Events that differ in
    /// their text (another file, another message) are never merged.
    pub(crate) fn record_repeating(&self, topic: &'static str, mut event: NewEvent) {
        let Some(item) = event.item.clone() else {
            self.record(event);
            return;
        };
        let suppressed = {
            let mut repeats = self.repeats.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let key = (item, topic, event.text.clone());
            let entry = repeats.entry(key).or_insert(Repeat {
                last_written: now - REPEAT_WINDOW,
                suppressed: 0,
            });
            if now.duration_since(entry.last_written) < REPEAT_WINDOW {
                entry.suppressed += 1;
                return;
            }
            entry.last_written = now;
            std::mem::take(&mut entry.suppressed)
        };

        if suppressed > 0 {
            event.text = format!("{} ({suppressed} more like it not logged)", event.text);
        }
        self.record(event);
    }
}

/// Adapters' events go to the same log; warnings and errors are rate-limited per text, as
/// an adapter reports the same failure on every reconnect.
impl ferry_adapter::EventLog for EventSink {
    fn record(&self, item: &ItemName, level: ferry_adapter::ReportLevel, text: String) {
        let (level, kind) = match level {
            ferry_adapter::ReportLevel::Info => (EventLevel::Info, EventKind::Started),
            ferry_adapter::ReportLevel::Warn => (EventLevel::Warn, EventKind::Warning),
            ferry_adapter::ReportLevel::Error => (EventLevel::Error, EventKind::Failed),
        };
        let event = item_event(level, kind, item, None, text);
        if level == EventLevel::Info {
            EventSink::record(self, event);
        } else {
            self.record_repeating("adapter", event);
        }
    }
}

/// Builds an event about an item.
pub(crate) fn item_event(
    level: EventLevel,
    kind: EventKind,
    item: &ItemName,
    message: Option<MessageId>,
    text: String,
) -> NewEvent {
    NewEvent {
        level,
        kind,
        item: Some(item.clone()),
        message,
        actor: None,
        text,
    }
}

/// Writes the event to the log at its level, with key/value fields.
pub(crate) fn log(event: &NewEvent) {
    let item = event.item.as_ref().map(ItemName::as_str).unwrap_or("-");
    // `message` is the log line's own text in tracing's JSON output: the id needs its own
    // field name.
    let message_id = event.message.map(|id| id.0);
    let kind = format!("{:?}", event.kind);
    match event.level {
        EventLevel::Info => tracing::info!(item, message_id, kind, "{}", event.text),
        EventLevel::Warn => tracing::warn!(item, message_id, kind, "{}", event.text),
        EventLevel::Error => tracing::error!(item, message_id, kind, "{}", event.text),
    }
}
