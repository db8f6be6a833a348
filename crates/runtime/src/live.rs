//! The production's live picture: a task that watches the event log, every queue and
//! every item's state, publishes what changed to subscribers (the UI's live overview, the
//! gRPC event stream) and keeps the gauges Prometheus reads.
//!
//! It samples rather than hooks every write: a queue that changes a thousand times a
//! second shows as one change per tick, which is what a person watching can read, and
//! the engine's hot path stays free of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_message::ItemName;
use jiff::Timestamp;
use tokio::sync::broadcast;

use crate::ItemStatus;
use crate::context::Shared;
use crate::handle::{EngineHandle, LiveEvent};

/// How often the queues and the log are looked at.
const TICK: Duration = Duration::from_millis(250);

/// How many log entries one tick forwards at most; the rest follow on the next ticks.
const LOG_BATCH: usize = 500;

/// Events a slow subscriber may fall behind by before it is told it lagged.
pub(crate) const CHANNEL_SIZE: usize = 4096;

/// Runs until the production stops.
pub(crate) async fn run(handle: EngineHandle) {
    let shutdown = handle.shared.shutdown.clone();
    let mut last_event = latest_event_id(&handle.shared);
    let mut queues: HashMap<ItemName, (u64, Option<Timestamp>)> = HashMap::new();
    let mut states: HashMap<ItemName, (bool, Option<ferry_adapter::Trouble>)> = HashMap::new();

    loop {
        last_event = forward_log(&handle, last_event);
        for item in handle.items() {
            publish_gauges(&handle.info.name, &item);
            publish_queue(&handle.live, &mut queues, &item);
            publish_state(&handle.live, &mut states, item);
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    forward_log(&handle, last_event);
}

fn latest_event_id(shared: &Arc<Shared>) -> Option<u64> {
    match shared.store.recent_events(None, 1) {
        Ok(events) => events.first().map(|event| event.id),
        Err(error) => {
            tracing::warn!(%error, "the live view cannot read the event log");
            None
        }
    }
}

/// Sends log entries written since `after`; returns the last id sent.
fn forward_log(handle: &EngineHandle, after: Option<u64>) -> Option<u64> {
    match handle.shared.store.events(after, LOG_BATCH) {
        Ok(events) => {
            let last = events.last().map(|event| event.id).or(after);
            for event in events {
                // No subscriber is not an error: nobody is watching.
                let _ = handle.live.send(LiveEvent::Logged(event));
            }
            last
        }
        Err(error) => {
            tracing::warn!(%error, "the live view cannot read the event log");
            after
        }
    }
}

fn publish_gauges(production: &str, item: &ItemStatus) {
    let labels = [
        ("production", production.to_owned()),
        ("item", item.name.as_str().to_owned()),
    ];
    let age = item.oldest_queued.map_or(0.0, |oldest| {
        let waited = Timestamp::now().duration_since(oldest);
        waited.as_secs_f64().max(0.0)
    });
    let flag = |on: bool| if on { 1.0 } else { 0.0 };

    metrics::gauge!("ferry_queue_depth", &labels).set(item.queue_depth as f64);
    metrics::gauge!("ferry_queue_oldest_age_seconds", &labels).set(age);
    metrics::gauge!("ferry_item_enabled", &labels).set(flag(item.enabled));
    metrics::gauge!("ferry_item_in_trouble", &labels).set(flag(item.trouble.is_some()));
}

fn publish_queue(
    live: &broadcast::Sender<LiveEvent>,
    seen: &mut HashMap<ItemName, (u64, Option<Timestamp>)>,
    item: &ItemStatus,
) {
    let now = (item.queue_depth, item.oldest_queued);
    if seen.get(&item.name) == Some(&now) {
        return;
    }
    seen.insert(item.name.clone(), now);
    let _ = live.send(LiveEvent::QueueDepth {
        item: item.name.clone(),
        depth: item.queue_depth,
        oldest: item.oldest_queued,
    });
}

fn publish_state(
    live: &broadcast::Sender<LiveEvent>,
    seen: &mut HashMap<ItemName, (bool, Option<ferry_adapter::Trouble>)>,
    item: ItemStatus,
) {
    let now = (item.enabled, item.trouble.clone());
    if seen.get(&item.name) == Some(&now) {
        return;
    }
    seen.insert(item.name.clone(), now);
    let _ = live.send(LiveEvent::ItemState(item));
}
