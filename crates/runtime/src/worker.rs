//! Queue workers: the loop that takes messages off an item's queue and hands them to the
//! item's processor (a router or an operation).
//!
//! A worker takes a message only while its item is enabled and every item it can send to
//! has room (back-pressure travels upstream queue by queue). It arms its wake-up before
//! looking at the queue, so a message queued in between is never missed.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::{EventKind, EventLevel, Lease, Outcome, Output, OutputBody, Step};
use tracing::Instrument;

use crate::context::Shared;
use crate::events::item_event;
use crate::items::ItemState;
use crate::operation::OperationRunner;
use crate::router::{Route, Router};

/// How long an idle worker sleeps before looking at its queue again, woken or not.
const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// How long a worker waits after the store failed before trying again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// What a worker does with each message it takes.
#[derive(Clone)]
pub(crate) enum Processor {
    Router(Arc<Router>),
    Operation(Arc<OperationRunner>),
}

/// Runs one worker of `item` until the production stops.
pub(crate) async fn run(shared: Arc<Shared>, item: Arc<ItemState>, processor: Processor) {
    let shutdown = shared.shutdown.clone();
    loop {
        // Once the production stops, a worker finishes the message in its hands and
        // takes no other, even when its queue is not empty.
        if shutdown.is_cancelled() || !item.wait_enabled(&shutdown).await {
            break;
        }
        if let Processor::Operation(runner) = &processor
            && !runner.ensure_started().await
        {
            continue;
        }
        let store = shared.store.as_ref();
        if !shared
            .items
            .wait_for_room(store, &item.downstream, &shutdown)
            .await
        {
            break;
        }

        let work = item.work.notified();
        tokio::pin!(work);
        work.as_mut().enable();
        match shared.store.take(&item.name) {
            Ok(Some(lease)) => {
                item.space.notify_waiters();
                handle(&shared, &item, &processor, lease).await;
            }
            Ok(None) => {
                let mut enabled = item.enabled.subscribe();
                tokio::select! {
                    _ = work => {}
                    _ = enabled.changed() => {}
                    // Whatever queued a message without waking us costs a second, not a stall.
                    _ = tokio::time::sleep(IDLE_RECHECK) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
            Err(error) => {
                let text = format!("cannot take from the queue: {error}");
                shared.events.record_repeating(
                    "store",
                    item_event(EventLevel::Error, EventKind::Failed, &item.name, None, text),
                );
                tokio::select! {
                    _ = tokio::time::sleep(STORE_RETRY) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
    }
}

/// Processes one leased message inside a `hop` span.
async fn handle(shared: &Arc<Shared>, item: &ItemState, processor: &Processor, lease: Lease) {
    let header = &lease.header;
    let span = tracing::info_span!(
        "hop",
        item = %item.name,
        message = header.id.0,
        session = header.session.0,
        source = %header.source,
    );
    match processor {
        Processor::Router(router) => route(shared, router, lease).instrument(span).await,
        Processor::Operation(runner) => runner.deliver(lease).instrument(span).await,
    }
}

/// Routes one message and finishes it: outputs queued for their targets in the same step.
async fn route(shared: &Arc<Shared>, router: &Router, lease: Lease) {
    let body = match shared.store.body(lease.header.body) {
        Ok(Some(body)) => body,
        Ok(None) => {
            let reason = format!("body {} is missing from the store", lease.header.body);
            finish(shared, lease, Outcome::Error(reason), Vec::new()).await;
            return;
        }
        Err(error) => {
            let reason = format!("cannot read the body: {error}");
            finish(shared, lease, Outcome::Error(reason), Vec::new()).await;
            return;
        }
    };

    match router.route(&lease.header, &body) {
        Route::Send(targets) => {
            tracing::trace!(targets = targets.len(), "routed");
            let outputs = targets
                .into_iter()
                .map(|target| Output {
                    target,
                    body: OutputBody::Same,
                    doc_type: lease.header.doc_type.clone(),
                    search: Vec::new(),
                })
                .collect();
            finish(shared, lease, Outcome::Completed, outputs).await;
        }
        Route::Discard(reason) => {
            tracing::debug!(%reason, "discarded");
            let session = lease.header.session;
            finish(shared, lease, Outcome::Discarded(reason), Vec::new()).await;
            shared.replies.not_routed(session);
        }
    }
}

/// Writes a process step, retrying while the store fails; wakes the outputs' targets.
pub(crate) async fn finish(
    shared: &Arc<Shared>,
    lease: Lease,
    outcome: Outcome,
    outputs: Vec<Output>,
) {
    let targets: Vec<_> = outputs.iter().map(|o| o.target.clone()).collect();
    let step = Step {
        lease,
        outcome,
        response: None,
        outputs,
        events: Vec::new(),
    };
    if complete(shared, step).await {
        shared.items.wake(&targets);
    }
}

/// Writes `step`, retrying while the store fails. Returns false when the production
/// stopped first; the lease then stays in the store and recovery returns it.
pub(crate) async fn complete(shared: &Arc<Shared>, step: Step) -> bool {
    loop {
        match shared.store.complete(&step) {
            Ok(_) => {
                if let Some(state) = shared.items.get(&step.lease.item) {
                    let took = step.lease.taken.elapsed();
                    state.counters.finished(&step.outcome, took);
                }
                return true;
            }
            Err(error) => {
                let item = step.lease.item.clone();
                let text = format!("cannot finish message {}: {error}", step.lease.header.id);
                shared.events.record_repeating(
                    "store",
                    item_event(EventLevel::Error, EventKind::Failed, &item, None, text),
                );
                tokio::select! {
                    _ = tokio::time::sleep(STORE_RETRY) => {}
                    _ = shared.shutdown.cancelled() => return false,
                }
            }
        }
    }
}
