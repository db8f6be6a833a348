//! What the admin surfaces (gRPC, web UI, metrics) may ask of a running production.
//!
//! [`EngineHandle`] is a cheap clone that outlives nothing: once the production stops, its
//! calls still answer from the store, and actions are refused by the store or find their
//! items stopped. Every state-changing call names its actor, which the event log keeps.

use std::sync::Arc;

use ferry_message::{Body, Header, ItemName, MessageId, SessionId};
use ferry_production::Role;
use ferry_store::{Event, EventKind, EventLevel, Query, SearchValue, Store, StoreError};
use jiff::Timestamp;
use tokio::sync::broadcast;

use crate::context::Shared;
use crate::engine::EngineError;
use crate::events::item_event;

/// The production as a whole, for the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionInfo {
    /// Its name.
    pub name: String,
    /// What it is for, as written.
    pub description: Option<String>,
    /// The production file it was loaded from.
    pub file: String,
    /// When this run started.
    pub started: Timestamp,
    /// Every item, in production order.
    pub items: Vec<ItemInfo>,
    /// The HL7 fields the store indexes, as `store.search_fields` lists them.
    pub search_fields: Vec<ferry_hl7::FieldPath>,
}

/// One item as the production defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInfo {
    /// Its name.
    pub name: ItemName,
    /// Service, process or operation.
    pub role: Role,
    /// Its adapter or process kind (`mllp`, `router`, …).
    pub kind: String,
    /// The items it can send to, sorted.
    pub targets: Vec<ItemName>,
}

/// One stored message with everything the detail view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDetail {
    /// Its header.
    pub header: Header,
    /// Its body; `None` if a purge removed it meanwhile.
    pub body: Option<Body>,
    /// The far side's answer, when one was kept.
    pub response: Option<Body>,
    /// Its indexed search values and the properties its service recorded.
    pub fields: Vec<SearchValue>,
}

/// Something that changed, for live views and the gRPC event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// A new entry in the durable event log (errors, retries, admin actions, starts).
    Logged(Event),
    /// An item's queue depth changed.
    QueueDepth {
        /// The item.
        item: ItemName,
        /// Messages waiting now.
        depth: u64,
        /// When the oldest of them was created.
        oldest: Option<Timestamp>,
    },
    /// An item was enabled or disabled, or its trouble began or ended.
    ItemState(crate::ItemStatus),
}

/// A handle on a running production for the admin surfaces.
#[derive(Clone)]
pub struct EngineHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) info: Arc<ProductionInfo>,
    pub(crate) live: broadcast::Sender<LiveEvent>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("production", &self.info.name)
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// The production and its items as defined.
    pub fn production(&self) -> &ProductionInfo {
        &self.info
    }

    /// The store the production runs on.
    pub fn store(&self) -> Arc<dyn Store> {
        self.shared.store.clone()
    }

    /// Every item's state, in production order.
    pub fn items(&self) -> Vec<crate::ItemStatus> {
        self.info
            .items
            .iter()
            .filter_map(|item| self.item(item.name.as_str()))
            .collect()
    }

    /// One item's state, or `None` for an unknown name.
    pub fn item(&self, name: &str) -> Option<crate::ItemStatus> {
        let state = self.shared.items.get(&ItemName::new(name))?;
        let store = &self.shared.store;
        Some(crate::ItemStatus {
            name: state.name.clone(),
            role: state.role,
            enabled: state.is_enabled(),
            queue_depth: store.queue_depth(&state.name),
            oldest_queued: store.oldest_queued(&state.name).ok().flatten(),
            listening: *state.listening.lock().unwrap_or_else(|e| e.into_inner()),
            trouble: state.shown_trouble(),
            counts: state.counters.snapshot(),
        })
    }

    /// Whether the production is ready for traffic: recovery is done (it is, once the
    /// handle exists), no service stopped on its own, and no enabled item is in trouble.
    /// A delivery being retried does not count: the production still takes and keeps
    /// messages, and taking it out of service would only stop its senders too.
    pub fn ready(&self) -> Result<(), String> {
        if let Some(failure) = self.shared.failure.borrow().clone() {
            return Err(failure);
        }
        if self.shared.shutdown.is_cancelled() {
            return Err("the production is stopping".to_owned());
        }
        for item in self.items() {
            if let (true, Some(trouble)) = (item.enabled, &item.trouble)
                && trouble.state != crate::items::DELIVERY_FAILING
            {
                return Err(format!("item '{}': {}", item.name, trouble.state));
            }
        }
        Ok(())
    }

    /// Enables or disables an item; recorded in the event log with `actor`.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownItem`].
    pub fn set_enabled(&self, item: &str, enabled: bool, actor: &str) -> Result<(), EngineError> {
        let state = self.state(item)?;
        state.enabled.send_replace(enabled);

        let verb = if enabled { "enabled" } else { "disabled" };
        self.admin_event(&state.name, actor, format!("item {verb}"));
        Ok(())
    }

    /// Restarts an item's adapter: a service stops receiving (its connections close) and
    /// is built again from its settings; an operation's adapter is started again (new
    /// connections) before its next delivery. A process has no adapter: its restart is
    /// only recorded. Problems starting again show as the item's trouble and events.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownItem`].
    pub fn restart(&self, item: &str, actor: &str) -> Result<(), EngineError> {
        let state = self.state(item)?;
        state.restarts.send_modify(|generation| *generation += 1);
        self.admin_event(&state.name, actor, "item restarted".to_owned());
        Ok(())
    }

    /// The run-time state of the item named `item`.
    fn state(&self, item: &str) -> Result<&Arc<crate::items::ItemState>, EngineError> {
        self.shared
            .items
            .get(&ItemName::new(item))
            .ok_or_else(|| EngineError::UnknownItem(item.to_owned()))
    }

    /// Queues a copy of message `id` for its target again and wakes the target.
    ///
    /// # Errors
    ///
    /// [`EngineError::NotResendable`] for input a service rejected (its target is the
    /// service, which has no queue) or a target no longer in the production;
    /// [`EngineError::Admin`] when the store refuses (unknown id, a write failure).
    pub fn resend(&self, id: MessageId, actor: &str) -> Result<MessageId, EngineError> {
        let store = &self.shared.store;
        let target = store
            .header(id)
            .map_err(EngineError::Admin)?
            .map(|h| h.target);
        let takes_messages = |name: &ItemName| {
            (self.shared.items.get(name)).is_some_and(|state| state.role != Role::Service)
        };
        if let Some(target) = target.filter(|target| !takes_messages(target)) {
            return Err(EngineError::NotResendable { id, target });
        }
        let resent = store.resend(id, actor).map_err(EngineError::Admin)?;
        if let Ok(Some(header)) = store.header(resent) {
            self.shared.items.wake(&[header.target]);
        }
        Ok(resent)
    }

    /// Takes a queued message off its queue and holds it (Suspended).
    ///
    /// # Errors
    ///
    /// [`EngineError::Admin`] when the message is unknown or not queued.
    pub fn suspend(&self, id: MessageId, actor: &str) -> Result<(), EngineError> {
        self.shared
            .store
            .suspend(id, actor)
            .map_err(EngineError::Admin)
    }

    /// Discards a queued, suspended or failed message.
    ///
    /// # Errors
    ///
    /// [`EngineError::Admin`] when the message is unknown, in flight or already final.
    pub fn discard(&self, id: MessageId, actor: &str) -> Result<(), EngineError> {
        self.shared
            .store
            .discard(id, actor)
            .map_err(EngineError::Admin)
    }

    /// Messages found by `query`, newest first. An HL7 field name is matched however it
    /// is spelt (`PID[1]-3.1` finds what `PID-3.1` indexed); other names (`origin`,
    /// `amqp.app_id`) as written.
    ///
    /// # Errors
    ///
    /// [`EngineError::NotIndexed`] for an HL7 field the production does not index (the
    /// answer would always be empty), [`EngineError::Admin`] when the store cannot be read.
    pub fn search(&self, query: &Query) -> Result<Vec<Header>, EngineError> {
        let mut query = query.clone();
        if let Some(wanted) = &mut query.field
            && let Ok(path) = ferry_hl7::FieldPath::parse(&wanted.field)
        {
            if !self.info.search_fields.contains(&path) {
                let indexed: Vec<String> = self
                    .info
                    .search_fields
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                return Err(EngineError::NotIndexed {
                    field: wanted.field.clone(),
                    indexed: indexed.join(", "),
                });
            }
            wanted.field = path.to_string();
        }
        self.shared.store.search(&query).map_err(EngineError::Admin)
    }

    /// A message with its body, response and fields; `None` for an unknown id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    pub fn message(&self, id: MessageId) -> Result<Option<MessageDetail>, StoreError> {
        let store = &self.shared.store;
        let Some(header) = store.header(id)? else {
            return Ok(None);
        };
        let body = store.body(header.body)?;
        let response = match header.response {
            Some(response) => store.body(response)?,
            None => None,
        };
        let fields = store.search_values(id)?;
        Ok(Some(MessageDetail {
            header,
            body,
            response,
            fields,
        }))
    }

    /// Every header of a session, in id order: each hop of its trace.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    pub fn trace(&self, session: SessionId) -> Result<Vec<Header>, StoreError> {
        self.shared.store.session(session)
    }

    /// Events after `after`, oldest first (to follow the log).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    pub fn events_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.shared.store.events(after, limit)
    }

    /// Events before `before`, newest first (to page back through the log).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    pub fn events_before(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.shared.store.recent_events(before, limit)
    }

    /// Live changes from now on. A receiver that falls behind by more than the channel
    /// holds gets `Lagged` and should read the log and depths again.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    /// Records a refused admin request (a cross-site form, a bad CSRF token) in the log.
    pub fn record_refusal(&self, actor: &str, text: String) {
        self.shared.events.record(ferry_store::NewEvent {
            level: EventLevel::Warn,
            kind: EventKind::Admin,
            item: None,
            message: None,
            actor: Some(actor.to_owned()),
            text,
        });
    }

    fn admin_event(&self, item: &ItemName, actor: &str, text: String) {
        let mut event = item_event(EventLevel::Info, EventKind::Admin, item, None, text);
        event.actor = Some(actor.to_owned());
        self.shared.events.record(event);
    }
}
