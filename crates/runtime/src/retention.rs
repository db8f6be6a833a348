//! The retention schedule: purges old finished sessions while the production runs.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::{EventKind, EventLevel, NewEvent};

use crate::context::Shared;

/// Every `every`, removes Completed/Discarded sessions older than `keep`.
pub(crate) async fn run(shared: Arc<Shared>, keep: Duration, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shared.shutdown.cancelled() => return,
        }

        let Some(cutoff) = cutoff(keep) else {
            continue;
        };
        let store = shared.store.clone();
        let result = tokio::task::spawn_blocking(move || store.purge(cutoff)).await;
        let (level, text) = match result {
            Ok(Ok(report)) if report.sessions == 0 => continue,
            Ok(Ok(report)) => (
                EventLevel::Info,
                format!(
                    "retention purge removed {} sessions ({} messages, {} bodies) older than {}",
                    report.sessions, report.headers, report.bodies, cutoff
                ),
            ),
            Ok(Err(error)) => (
                EventLevel::Error,
                format!("retention purge failed: {error}"),
            ),
            Err(error) => (
                EventLevel::Error,
                format!("retention purge stopped: {error}"),
            ),
        };
        shared.events.record(NewEvent {
            level,
            kind: EventKind::Admin,
            item: None,
            message: None,
            actor: Some("retention".to_owned()),
            text,
        });
    }
}

/// Now minus `keep`, or `None` if that is before the epoch or not representable.
pub fn cutoff(keep: Duration) -> Option<jiff::Timestamp> {
    let keep = jiff::SignedDuration::try_from(keep).ok()?;
    jiff::Timestamp::now().checked_sub(keep).ok()
}
