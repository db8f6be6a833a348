//! Starting and stopping a production.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_adapter::Registry;
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
use crate::events::EventSink;
use crate::handle::{EngineHandle, ItemInfo, ProductionInfo};
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
    /// The message cannot be queued again: it is input its service rejected (kept with
    /// the service as its target, which has no queue), or its target is gone.
    #[error(
        "message {id} cannot be resent: '{target}' has no queue (rejected input stays as \
         the record of what came in; have the sender send it again, corrected)"
    )]
    NotResendable {
        /// The message.
        id: MessageId,
        /// Its target.
        target: ItemName,
    },
    /// A search names an HL7 field the production does not index.
    #[error(
        "`{field}` is not indexed: this production indexes {indexed}; add it to \
         `store.search_fields` to search by it"
    )]
    NotIndexed {
        /// The field as asked for.
        field: String,
        /// The indexed fields, comma-separated.
        indexed: String,
    },
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
    /// When the message at the head of its queue was created.
    pub oldest_queued: Option<jiff::Timestamp>,
    /// The address it listens on, for a service that listens and has bound.
    pub listening: Option<std::net::SocketAddr>,
    /// Why its adapter cannot work although it runs (a cancelled consumer, a broker
    /// blocking publishers, an operation that could not start).
    pub trouble: Option<ferry_adapter::Trouble>,
    /// What it has done since the production started.
    pub counts: crate::ItemCounts,
}

/// A running production.
pub struct Engine {
    handle: EngineHandle,
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
        registry: Arc<Registry>,
    ) -> Result<Engine, EngineError> {
        let built = build_items(production, &registry).map_err(EngineError::Invalid)?;
        let (store, recovery) = open_store(production).await?;

        let events = EventSink::new(store.clone());
        log_recovery(&recovery);
        let log: Arc<dyn ferry_adapter::EventLog> = Arc::new(events.clone());
        let states = (production.items.iter()).map(|item| item_state(&production.name, item, &log));
        let shared = Arc::new(Shared {
            store,
            items: Items::new(states.collect()),
            events,
            replies: ReplyHub::default(),
            search_fields: production.store.search_fields.clone(),
            shutdown: CancellationToken::new(),
            failure: tokio::sync::watch::Sender::new(None),
            registry,
        });
        let handle = EngineHandle {
            shared: shared.clone(),
            info: Arc::new(production_info(production)),
            live: tokio::sync::broadcast::Sender::new(crate::live::CHANNEL_SIZE),
        };

        let tasks = TaskTracker::new();
        for (item, built) in production.items.iter().zip(built) {
            spawn_item(&shared, &tasks, item, built);
        }
        tasks.spawn(crate::live::run(handle.clone()));
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
            handle,
            tasks,
            name: production.name.clone(),
        })
    }

    /// Resolves when a service stops on its own with an error (it could not listen, a
    /// certificate file is missing), with the reason; never while all services run. The
    /// binary stops the production then, rather than run with a dead inbound.
    pub async fn failed(&self) -> String {
        let mut failure = self.handle.shared.failure.subscribe();
        match failure.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }

    /// A handle for the admin surfaces, valid while the engine runs.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// The store the production runs on.
    pub fn store(&self) -> Arc<dyn Store> {
        self.handle.store()
    }

    /// Every item's state, in production order.
    pub fn items(&self) -> Vec<ItemStatus> {
        self.handle.items()
    }

    /// See [`EngineHandle::set_enabled`].
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownItem`].
    pub fn set_enabled(&self, item: &str, enabled: bool, actor: &str) -> Result<(), EngineError> {
        self.handle.set_enabled(item, enabled, actor)
    }

    /// See [`EngineHandle::resend`].
    ///
    /// # Errors
    ///
    /// [`EngineError::Admin`] when the store refuses (unknown id, a write failure).
    pub fn resend(&self, id: MessageId, actor: &str) -> Result<MessageId, EngineError> {
        self.handle.resend(id, actor)
    }

    /// See [`EngineHandle::suspend`].
    ///
    /// # Errors
    ///
    /// [`EngineError::Admin`] when the message is unknown or not queued.
    pub fn suspend(&self, id: MessageId, actor: &str) -> Result<(), EngineError> {
        self.handle.suspend(id, actor)
    }

    /// See [`EngineHandle::discard`].
    ///
    /// # Errors
    ///
    /// [`EngineError::Admin`] when the message is unknown, in flight or already final.
    pub fn discard(&self, id: MessageId, actor: &str) -> Result<(), EngineError> {
        self.handle.discard(id, actor)
    }

    /// Stops the production: services stop taking input, workers finish or return the
    /// message they hold, then a last barrier makes everything durable.
    ///
    /// # Errors
    ///
    /// [`EngineError::Flush`] when the last barrier fails.
    pub async fn shutdown(self) -> Result<(), EngineError> {
        tracing::info!(production = %self.name, "stopping");
        let shared = self.handle.shared.clone();
        shared.shutdown.cancel();
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

        shared.events.record(NewEvent {
            level: EventLevel::Info,
            kind: EventKind::Stopped,
            item: None,
            message: None,
            actor: None,
            text: format!("production '{}' stopped", self.name),
        });
        shared.store.barrier().await.map_err(EngineError::Flush)?;
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

/// The production as the admin surfaces show it.
fn production_info(production: &Production) -> ProductionInfo {
    let items = production.items.iter().map(|item| ItemInfo {
        name: item.name.clone(),
        role: item.role,
        kind: item.kind.clone(),
        targets: downstream(item),
    });
    ProductionInfo {
        search_fields: production.store.search_fields.clone(),
        name: production.name.clone(),
        description: production.description.clone(),
        file: production.source.name.clone(),
        started: jiff::Timestamp::now(),
        items: items.collect(),
    }
}

/// The items `item` can send to: its targets, or its router's, sorted and once each.
fn downstream(item: &Item) -> Vec<ItemName> {
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
    downstream
}

/// The run-time state of an item, with the items it can send to.
fn item_state(production: &str, item: &Item, log: &Arc<dyn ferry_adapter::EventLog>) -> ItemState {
    ItemState {
        name: item.name.clone(),
        role: item.role,
        enabled: watch::Sender::new(item.enabled),
        work: Notify::new(),
        space: Notify::new(),
        queue_limit: item.queue_limit,
        downstream: downstream(item),
        listening: std::sync::Mutex::new(None),
        report: ferry_adapter::Reporter::new(item.name.clone(), log.clone()),
        restarts: watch::Sender::new(0),
        counters: crate::counters::ItemCounters::new(production, &item.name),
        failing: std::sync::Mutex::new(None),
    }
}

/// Starts an item's tasks: the service, or `pool` workers.
fn spawn_item(shared: &Arc<Shared>, tasks: &TaskTracker, item: &Item, built: Built) {
    let Some(state) = shared.items.get(&item.name).cloned() else {
        return;
    };
    match built {
        Built::Service(service) => {
            let intake = Arc::new(ServiceIntake::new(
                shared.clone(),
                state.clone(),
                item.targets.clone(),
            ));
            tasks.spawn(crate::restart::run_service(
                shared.clone(),
                state,
                intake,
                item.clone(),
                service,
            ));
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
