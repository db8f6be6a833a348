//! Per-item run-time state: enabled flag, queue signals and the back-pressure wait.
//!
//! Queue depth lives in the store (exact, in memory); this module only wakes the tasks
//! that wait on it. Every wait re-checks the depth after arming its wake-up, so a signal
//! sent between the check and the wait is never lost, and every wait also gives up after
//! a second so a missed signal costs at most a second, never a stall.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_message::ItemName;
use ferry_production::Role;
use ferry_store::Store;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// The trouble state of an operation whose current message is being retried.
pub(crate) const DELIVERY_FAILING: &str = "delivery failing";

/// The longest any queue wait sleeps without re-checking.
const RECHECK: Duration = Duration::from_secs(1);

/// Run-time state of one item.
pub(crate) struct ItemState {
    pub(crate) name: ItemName,
    pub(crate) role: Role,
    pub(crate) enabled: watch::Sender<bool>,
    /// Notified when a message is queued for this item.
    pub(crate) work: Notify,
    /// Notified when this item's queue shrank (a worker took a message).
    pub(crate) space: Notify,
    pub(crate) queue_limit: u64,
    /// Items this one can queue messages for (its targets, or its router's targets).
    pub(crate) downstream: Vec<ItemName>,
    /// The address a listening service bound.
    pub(crate) listening: std::sync::Mutex<Option<std::net::SocketAddr>>,
    /// The item's events and its adapter's trouble.
    pub(crate) report: ferry_adapter::Reporter,
    /// Raised by one for each restart an admin asks for; the service task and the
    /// operation runner watch it.
    pub(crate) restarts: watch::Sender<u64>,
    /// What it has done since the production started.
    pub(crate) counters: crate::counters::ItemCounters,
    /// Why the operation's last delivery attempt failed, while that message is still
    /// being retried: a message stuck in retries must show, though it left the queue.
    pub(crate) failing: std::sync::Mutex<Option<String>>,
}

/// Every item's state, by name.
pub(crate) struct Items {
    by_name: HashMap<ItemName, Arc<ItemState>>,
}

impl Items {
    pub(crate) fn new(states: Vec<ItemState>) -> Self {
        let by_name = states
            .into_iter()
            .map(|state| (state.name.clone(), Arc::new(state)))
            .collect();
        Items { by_name }
    }

    pub(crate) fn get(&self, name: &ItemName) -> Option<&Arc<ItemState>> {
        self.by_name.get(name)
    }

    /// Wakes the workers of every named item: something was queued for them.
    pub(crate) fn wake(&self, targets: &[ItemName]) {
        for target in targets {
            if let Some(state) = self.by_name.get(target) {
                state.work.notify_waiters();
            }
        }
    }

    /// Whether every one of `targets` has room in its queue now.
    pub(crate) fn has_room(&self, store: &dyn Store, targets: &[ItemName]) -> bool {
        targets
            .iter()
            .filter_map(|t| self.by_name.get(t))
            .all(|state| store.queue_depth(&state.name) < state.queue_limit)
    }

    /// Waits until every one of `targets` has room in its queue. Returns false when
    /// `shutdown` fired first.
    pub(crate) async fn wait_for_room(
        &self,
        store: &dyn Store,
        targets: &[ItemName],
        shutdown: &CancellationToken,
    ) -> bool {
        loop {
            let full = targets
                .iter()
                .filter_map(|t| self.by_name.get(t))
                .find(|state| store.queue_depth(&state.name) >= state.queue_limit);
            let Some(state) = full else {
                return true;
            };

            let space = state.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            if store.queue_depth(&state.name) < state.queue_limit {
                continue;
            }
            tokio::select! {
                _ = space => {}
                _ = tokio::time::sleep(RECHECK) => {}
                _ = shutdown.cancelled() => return false,
            }
        }
    }
}

impl ItemState {
    /// Waits until the item is enabled. Returns false when `shutdown` fired first.
    pub(crate) async fn wait_enabled(&self, shutdown: &CancellationToken) -> bool {
        let mut enabled = self.enabled.subscribe();
        tokio::select! {
            result = enabled.wait_for(|on| *on) => result.is_ok(),
            _ = shutdown.cancelled() => false,
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        *self.enabled.borrow()
    }

    /// Notes why a delivery attempt failed (`None` once that message is finished).
    pub(crate) fn set_failing(&self, reason: Option<String>) {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    /// The item's trouble as shown: its adapter's, or else a delivery being retried.
    pub(crate) fn shown_trouble(&self) -> Option<ferry_adapter::Trouble> {
        if let Some(trouble) = self.report.current_trouble() {
            return Some(trouble);
        }
        let failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        failing.as_ref().map(|reason| ferry_adapter::Trouble {
            state: DELIVERY_FAILING.to_owned(),
            reason: reason.clone(),
        })
    }
}
