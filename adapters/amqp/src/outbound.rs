//! `operation: amqp`: publish each message to an exchange and count it delivered only when
//! the broker confirms it.
//!
//! The item has one connection (the [`Link`]), opened and its exchange declared (or
//! checked) in [`Operation::start`], and rebuilt by the next delivery when it failed; the
//! item's retry policy paces those attempts. Each worker publishes on a channel of its
//! own, taken from the link's idle channels and given back after a confirm, so a channel
//! never has two publishes in flight: lapin hands a basic.return to whichever confirm
//! comes next on the channel, and with one publish per channel that is always the
//! message returned. A channel that failed or timed out is dropped, never reused.
//! What [`crate::confirms`] makes of the broker's answer decides the delivery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use ferry_adapter::{
    AdapterError, Delivered, Delivery, DeliveryError, Operation, OperationFactory, Reporter,
};
use ferry_message::ItemName;
use ferry_production::{Diagnostics, Item};
use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection};

use crate::confirms::{Parked, Publish};
use crate::connection::{BlockedWatch, close, connect};
use crate::error::{AmqpError, within};
use crate::settings::{self, OnDeclareFailure, OutboundConfig};
use crate::topology;

/// Builds `operation: amqp` items.
#[derive(Debug, Clone, Copy, Default)]
pub struct AmqpOperationFactory;

impl OperationFactory for AmqpOperationFactory {
    fn kind(&self) -> &'static str {
        "amqp"
    }

    fn build(&self, item: &Item) -> Result<Arc<dyn Operation>, Diagnostics> {
        let config = settings::outbound(item)?;
        Ok(Arc::new(AmqpOperation {
            item: item.name.clone(),
            config,
            link: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            report: OnceLock::new(),
            refused: Mutex::new(None),
            parked: Mutex::new(HashMap::new()),
        }))
    }
}

pub(crate) struct AmqpOperation {
    item: ItemName,
    pub(crate) config: OutboundConfig,
    link: tokio::sync::Mutex<Option<Arc<Link>>>,
    /// Counts links, so a publish parked on an old one is recognised as dead.
    generation: AtomicU64,
    report: OnceLock<Reporter>,
    /// A declaration the broker refused, kept with `on_declare_failure: stop`.
    refused: Mutex<Option<String>>,
    /// Publishes whose confirm did not come in time while the broker blocked publishers,
    /// by message id: the resend of the same message waits for that confirm instead of
    /// publishing a second copy (field case B34).
    pub(crate) parked: Mutex<HashMap<String, Parked>>,
}

/// The item's connection and its idle channels, all in confirm mode.
pub(crate) struct Link {
    connection: Connection,
    pub(crate) generation: u64,
    idle: Mutex<Vec<Channel>>,
    blocked: BlockedWatch,
}

impl Link {
    /// Why the broker blocks publishers on this connection, while it does.
    pub(crate) fn blocked(&self) -> Option<String> {
        self.blocked.blocked()
    }

    /// An idle channel, or a new one in confirm mode.
    pub(crate) async fn channel(&self, config: &OutboundConfig) -> Result<Channel, AmqpError> {
        let idle = lock(&self.idle).pop();
        if let Some(channel) = idle.filter(|channel| channel.status().connected()) {
            return Ok(channel);
        }
        let timeout = config.connection.connect_timeout;
        let open = self.connection.create_channel();
        let channel = within("opening a channel", timeout, open, |e| {
            AmqpError::lost("opening a channel", e)
        })
        .await?;
        let select = channel.confirm_select(ConfirmSelectOptions::default());
        within("confirm.select", timeout, select, |e| {
            AmqpError::lost("confirm.select", e)
        })
        .await?;
        Ok(channel)
    }

    /// Gives back a channel whose publish is settled.
    pub(crate) fn put_back(&self, channel: Channel) {
        if channel.status().connected() {
            lock(&self.idle).push(channel);
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.connection.status().connected()
    }
}

#[async_trait]
impl Operation for AmqpOperation {
    async fn start(&self, report: &Reporter) -> Result<(), AdapterError> {
        let _ = self.report.set(report.clone());
        if let Some(refusal) = lock(&self.refused).clone() {
            return Err(AdapterError::new(&self.item, refusal));
        }
        match self.link().await {
            Ok(_) => Ok(()),
            Err(error) => {
                let stop = self.config.connection.on_declare_failure == OnDeclareFailure::Stop;
                if error.is_refusal() && stop {
                    let text = format!("{error}; stopped until the production changes");
                    *lock(&self.refused) = Some(text.clone());
                    return Err(AdapterError::new(&self.item, text));
                }
                Err(AdapterError::new(&self.item, error.to_string()))
            }
        }
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let publish = Publish::new(self, delivery)?;
        let link = self
            .link()
            .await
            .map_err(|error| DeliveryError::retry(error.to_string()))?;
        if let Some(reason) = link.blocked() {
            return Err(DeliveryError::retry(format!(
                "not published: {reason}; message {} waits until it unblocks",
                publish.message_id
            )));
        }
        publish.run(self, &link).await
    }
}

impl AmqpOperation {
    /// The open link, or a new one: connect, then declare or check the exchange.
    pub(crate) async fn link(&self) -> Result<Arc<Link>, AmqpError> {
        let mut slot = self.link.lock().await;
        if let Some(link) = slot.as_ref().filter(|link| link.connected()) {
            return Ok(Arc::clone(link));
        }
        if let Some(old) = slot.take() {
            lock(&self.parked).clear();
            close(&old.connection, self.config.connection.connect_timeout).await;
        }

        let config = &self.config.connection;
        let connection = connect(config).await?;
        if let Some(exchange) = &self.config.exchange {
            let timeout = config.connect_timeout;
            let channel = within(
                "opening a channel",
                timeout,
                connection.create_channel(),
                |e| AmqpError::lost("opening a channel", e),
            )
            .await?;
            let declared = topology::exchange(&channel, exchange, config.declare, timeout).await;
            if let Err(error) = declared {
                close(&connection, timeout).await;
                return Err(error);
            }
            let _ = channel.close(200, "declared".into()).await;
        }

        let report = self.report.get().cloned();
        // A new connection starts unblocked; the old one's block no longer applies.
        if let Some(report) = &report
            && report
                .current_trouble()
                .is_some_and(|trouble| trouble.state == "blocked by broker")
        {
            report.recovered();
        }
        let link = Arc::new(Link {
            blocked: BlockedWatch::start(&connection, report, &config.shown),
            connection,
            generation: self.generation.fetch_add(1, Ordering::AcqRel) + 1,
            idle: Mutex::new(Vec::new()),
        });
        tracing::debug!(item = %self.item, name = %config.name, "connected");
        *slot = Some(Arc::clone(&link));
        Ok(link)
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
