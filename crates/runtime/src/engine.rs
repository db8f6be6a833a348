//! Starting and stopping a production.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_adapter::{Registry, ServiceContext};
use ferry_message::{ItemName, MessageId};
use ferry_production::{
    Diagnostics, DurabilitySetting, Item, Otherwise, Production, Role, RuleAction,
};
use ferry_store::{
    Durability, EventKind, EventLevel, NewEvent, RecoveryReport, SledStore, Store, StoreConfig,
    StoreError,
};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::context::Shared;
use crate::events::{EventSink, item_event};
use crate::intake::ServiceIntake;
use crate::items::{ItemState, Items};
use crate::operation::OperationRunner;
use crate::reply::ReplyHub;
use crate::validate::{Built, build_items};
use crate::worker::{self, Processor};

/// How long a shutdown waits for items to finish what they hold.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why a production could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The production's items have errors (settings, kinds).
    #[error("the production has errors:\n{0}")]
    Invalid(Diagnostics),
    /// The store could not be opened (in use by another Ferry, unreadable, corrupt).
    #[error("cannot open the store at {path}: {source}")]
    Store {
        /// The store folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// No item has that name.
    #[error("no item named '{0}'")]
    UnknownItem(String),
    /// The store refused an admin action.
    #[error("{0}")]
    Admin(#[source] StoreError),
    /// The final store barrier failed: the last writes may not be durable.
    #[error("the store could not make the last writes durable: {0}")]
    Flush(#[source] StoreError),
}

/// One item's state, for status displays and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemStatus {
    /// Its name.
    pub name: ItemName,
    /// Service, process or operation.
    pub role: Role,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Messages waiting in its queue.
    pub queue_depth: u64,
    /// The address it listens on, for a service that listens and has bound.
    pub listening: Option<std::net::SocketAddr>,
    /// Why its adapter cannot work although it runs (a cancelled consumer, a broker
    /// blocking publishers, an operation that could not start).
    pub trouble: Option<ferry_adapter::Trouble>,
}

/// A running production.
pub struct Engine {
    shared: Arc<Shared>,
    tasks: TaskTracker,
    name: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("production", &self.name)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds every item, opens the store (which runs recovery before returning), then
    /// starts services, workers and the retention schedule.
    ///
    /// # Errors
    ///
    /// [`EngineError::Invalid`] when an item cannot be built, [`EngineError::Store`] when
    /// the store cannot be opened.
    pub async fn start(
        production: &Production,
        registry: &Registry,
    ) -> Result<Engine, EngineError> {
        let built = build_items(production, registry).map_err(EngineError::Invalid)?;
        let (store, recovery) = open_store(production).await?;

        let events = EventSink::new(store.clone());
        log_recovery(&recovery);
        let log: Arc<dyn ferry_adapter::EventLog> = Arc::new(events.clone());
        let states = production.items.iter().map(|item| item_state(item, &log));
        let shared = Arc::new(Shared {
            store,
            items: Items::new(states.collect()),
            events,
            replies: ReplyHub::default(),
            search_fields: production.store.search_fields.clone(),
            shutdown: CancellationToken::new(),
            failure: tokio::sync::watch::Sender::new(None),
        });

        let tasks = TaskTracker::new();
        for (item, built) in production.items.iter().zip(built) {
            spawn_item(&shared, &tasks, item, built);
        }
        if let Some(keep) = production.store.retention {
            let every = production.store.purge_every;
            tasks.spawn(crate::retention::run(shared.clone(), keep, every));
        }

        shared.events.record(NewEvent {
            level: EventLevel::Info,
            kind: EventKind::Started,
            item: None,
            message: None,
            actor: None,
            text: format!("production '{}' started", production.name),
        });
        tracing::info!(production = %production.name, items = production.items.len(), "ready");
        Ok(Engine {
            shared,
            tasks,
            name: production.name.clone(),
        })
    }

    /// Resolves when a service stops on its own with an error (it could not listen, a
    /// certificate file is missing), with the reason; never while all services run. The
    /// binary stops the production then, rather than run with a dead inbound.
    pub async fn failed(&self) -> String {
        let mut failure = self.shared.failure.subscribe();
        match failure.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }

    /// The store the production runs on.
    pub fn store(&self) -> Arc<dyn Store> {
        self.shared.store.clone()
    }

    /// Every item's state, in no particular order.
    pub fn items(&self) -> Vec<ItemStatus> {
        self.shared
            .items
            .all()
            .map(|state| ItemStatus {
                name: state.name.clone(),
                role: state.role,
                enabled: state.is_enabled(),
                queue_depth: self.shared.store.queue_depth(&state.name),
                listening: *state.listening.lock().unwrap_or_else(|e| e.into_inner()),
                trouble: state.report.current_trouble(),
            })
            .collect()
    }

    /// Enables or disables an item at run time; recorded in the event log with `actor`.
    /// A disabled service takes no input; a disabled process or operation takes nothing
    /// from its queue and returns a message waiting for a retry to the head of the queue.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownItem`].
    pub fn set_enabled(&self, item: &str, enabled: bool, actor: &str) -> Result<(), EngineError> {
        let name = ItemName::new(item);
        let state = self
            .shared
            .items
            .get(&name)
            .ok_or_else(|| EngineError::UnknownItem(item.to_owned()))?;
        state.enabled.send_replace(enabled);

        let verb = if enabled { "enabled" } else { "disabled" };
        let mut event = item_event(
            EventLevel::Info,
            EventKind::Admin,
            &name,
            None,
            format!("item {verb}"),
        );
        event.actor = Some(actor.to_owned());
        self.shared.events.record(event);
        Ok(())
    }

    /// Queues a copy of message `id` for its target again (a new header pointing back to
    /// it) and wakes the target.
    ///
    /// # Errors
    ///
    /// [`EngineError::Admin`] when the store refuses (unknown id, a write failure).
    pub fn resend(&self, id: MessageId, actor: &str) -> Result<MessageId, EngineError> {
        let store = &self.shared.store;
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

    /// Stops the production: services stop taking input, workers finish or return the
    /// message they hold, then a last barrier makes everything durable.
    ///
    /// # Errors
    ///
    /// [`EngineError::Flush`] when the last barrier fails.
    pub async fn shutdown(self) -> Result<(), EngineError> {
        tracing::info!(production = %self.name, "stopping");
        self.shared.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace = SHUTDOWN_GRACE.as_secs(),
                "items still busy after the grace period; what they hold returns to its \
                 queue at the next start"
            );
        }

        self.shared.events.record(NewEvent {
            level: EventLevel::Info,
            kind: EventKind::Stopped,
            item: None,
            message: None,
            actor: None,
            text: format!("production '{}' stopped", self.name),
        });
        self.shared
            .store
            .barrier()
            .await
            .map_err(EngineError::Flush)?;
        tracing::info!(production = %self.name, "stopped");
        Ok(())
    }
}

/// The store settings of a production, as the engine opens its store.
pub fn store_config(production: &Production) -> StoreConfig {
    let settings = &production.store;
    StoreConfig {
        path: settings.path.clone(),
        durability: match settings.durability {
            DurabilitySetting::Fsync => Durability::Fsync,
            DurabilitySetting::Os => Durability::Os,
        },
        cache_capacity: settings.cache_mb.saturating_mul(1024 * 1024),
        duplicate_window: settings.duplicate_window,
    }
}

/// Opens the store on a blocking thread (recovery may read a lot).
async fn open_store(
    production: &Production,
) -> Result<(Arc<dyn Store>, RecoveryReport), EngineError> {
    let config = store_config(production);
    let path = config.path.clone();
    let opened = tokio::task::spawn_blocking(move || SledStore::open(config)).await;
    let (store, recovery) = match opened {
        Ok(result) => result.map_err(|source| EngineError::Store {
            path: path.clone(),
            source,
        })?,
        Err(join) => {
            let source = StoreError::Io {
                context: "opening the store".to_owned(),
                source: std::io::Error::other(join.to_string()),
            };
            return Err(EngineError::Store { path, source });
        }
    };
    Ok((Arc::new(store), recovery))
}

/// Logs what recovery did; the store already wrote the events in its recovery batch.
fn log_recovery(recovery: &RecoveryReport) {
    for (item, count) in &recovery.returned {
        tracing::warn!(
            item = %item,
            count,
            "in-flight messages returned to the head of the queue after a restart"
        );
    }
}

/// The run-time state of an item, with the items it can send to.
fn item_state(item: &Item, log: &Arc<dyn ferry_adapter::EventLog>) -> ItemState {
    let mut downstream = item.targets.clone();
    if let Some(router) = &item.router {
        for rule in &router.rules {
            if let RuleAction::Send(targets) = &rule.action {
                downstream.extend(targets.iter().cloned());
            }
        }
        if let Otherwise::Send(targets) = &router.otherwise {
            downstream.extend(targets.iter().cloned());
        }
    }
    downstream.sort();
    downstream.dedup();

    ItemState {
        name: item.name.clone(),
        role: item.role,
        enabled: watch::Sender::new(item.enabled),
        work: Notify::new(),
        space: Notify::new(),
        queue_limit: item.queue_limit,
        downstream,
        listening: std::sync::Mutex::new(None),
        report: ferry_adapter::Reporter::new(item.name.clone(), log.clone()),
    }
}

/// Starts an item's tasks: the service, or `pool` workers.
fn spawn_item(shared: &Arc<Shared>, tasks: &TaskTracker, item: &Item, built: Built) {
    let Some(state) = shared.items.get(&item.name).cloned() else {
        return;
    };
    match built {
        Built::Service(service) => {
            let intake = ServiceIntake::new(shared.clone(), state.clone(), item.targets.clone());
            let context = ServiceContext {
                item: item.name.clone(),
                intake: Arc::new(intake),
                shutdown: shared.shutdown.clone(),
                enabled: state.enabled.subscribe(),
                report: state.report.clone(),
            };
            let shared = shared.clone();
            let name = item.name.clone();
            tasks.spawn(async move {
                if let Err(error) = service.run(context).await {
                    let text = format!("service stopped: {}", error.message);
                    shared.events.record(item_event(
                        EventLevel::Error,
                        EventKind::Failed,
                        &name,
                        None,
                        text,
                    ));
                    let failure = format!("service '{name}' stopped: {}", error.message);
                    shared.failure.send_replace(Some(failure));
                }
            });
        }
        Built::Router(router) => {
            for _ in 0..item.pool {
                let processor = Processor::Router(router.clone());
                tasks.spawn(worker::run(shared.clone(), state.clone(), processor));
            }
        }
        Built::Operation(operation) => {
            let runner =
                OperationRunner::new(shared.clone(), state.clone(), operation, item.retry.clone());
            let processor = Processor::Operation(Arc::new(runner));
            for _ in 0..item.pool {
                tasks.spawn(worker::run(
                    shared.clone(),
                    state.clone(),
                    processor.clone(),
                ));
            }
        }
    }
}
