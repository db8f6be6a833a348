//! `service: amqp`: a supervisor that keeps one consumer alive on the item's queue.
//!
//! It connects, declares (or checks) the exchange, the queue and its bindings on a fresh
//! channel, sets the prefetch limit and consumes; [`crate::consume`] stores and acks.
//! Whatever ends the consumer, the supervisor puts the item in trouble with a reason that
//! names the queue, waits (the `reconnect` backoff, doubling to its cap) and starts
//! again, so the item never shows Running while nothing can arrive and never retries in
//! a tight loop:
//! - a lost connection or broker restart: `disconnected`, then reconnect;
//! - a consumer the broker cancelled (queue deleted, field case B35): `consumer
//!   cancelled`, then declare (or check) the queue and its bindings again on the same
//!   connection and consume again;
//! - a declaration the broker refused (406, or 404 when passive, field case B37):
//!   `declare refused`, retried at the backoff's cap (only a change on the broker side
//!   helps), or held until the production changes with `on_declare_failure: stop`.
//!
//! On shutdown the connection is closed, so the broker requeues what was not acked.

use async_trait::async_trait;
use ferry_adapter::{AdapterError, Service, ServiceContext, ServiceFactory};
use ferry_production::{Diagnostics, Item};
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection, Consumer};

use crate::connection::{Delays, close, connect, humanize};
use crate::consume::{Consuming, Ended};
use crate::error::{AmqpError, within};
use crate::settings::{self, InboundConfig, OnDeclareFailure};
use crate::topology;

/// Builds `service: amqp` items.
#[derive(Debug, Clone, Copy, Default)]
pub struct AmqpServiceFactory;

impl ServiceFactory for AmqpServiceFactory {
    fn kind(&self) -> &'static str {
        "amqp"
    }

    fn build(&self, item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        let config = settings::inbound(item)?;
        Ok(Box::new(AmqpService { config }))
    }
}

struct AmqpService {
    config: InboundConfig,
}

/// What one connection's life ended with.
enum Outcome {
    Shutdown,
    /// Wait, then connect again; the item is in this trouble meanwhile.
    Retry {
        state: &'static str,
        reason: String,
        /// The broker refused: only a change on its side helps, so wait the full cap
        /// rather than the growing backoff meant for a connection coming back.
        refused: bool,
    },
    /// The broker refused a declaration and the production says to stop.
    Stop(String),
}

#[async_trait]
impl Service for AmqpService {
    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let mut delays = Delays::new(self.config.connection.reconnect);
        // Set from a broker cancel until a consumer runs again, across reconnects, so
        // the item keeps saying why nothing arrives.
        let mut cancelled = false;
        loop {
            let outcome = self.connection(&ctx, &mut delays, &mut cancelled).await;
            let (state, reason, refused) = match outcome {
                Outcome::Shutdown => return Ok(()),
                Outcome::Stop(reason) => {
                    let reason = format!("{reason}; stopped until the production changes");
                    ctx.report.trouble("declare refused", reason);
                    ctx.shutdown.cancelled().await;
                    return Ok(());
                }
                Outcome::Retry {
                    state,
                    reason,
                    refused,
                } => (state, reason, refused),
            };
            let wait = if refused {
                self.config.connection.reconnect.cap
            } else {
                delays.next_delay()
            };
            // The wait stays out of the reason: the trouble, and its event, change only
            // when what went wrong changes, not at every step of the backoff.
            tracing::debug!(item = %ctx.item, wait = %humanize(wait), "connecting again");
            ctx.report.trouble(state, reason);
            tokio::select! {
                () = ctx.shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

impl AmqpService {
    /// One connection: consume on it until it fails, re-subscribing after cancels.
    async fn connection(
        &self,
        ctx: &ServiceContext,
        delays: &mut Delays,
        cancelled: &mut bool,
    ) -> Outcome {
        let connection = tokio::select! {
            () = ctx.shutdown.cancelled() => return Outcome::Shutdown,
            connected = connect(&self.config.connection) => connected,
        };
        let connection = match connection {
            Ok(connection) => connection,
            Err(error) => return retry("disconnected", &error),
        };
        tracing::debug!(item = %ctx.item, name = %self.config.connection.name, "connected");

        let outcome = loop {
            let subscribed = tokio::select! {
                () = ctx.shutdown.cancelled() => break Outcome::Shutdown,
                subscribed = self.subscribe(&connection) => subscribed,
            };
            let (channel, mut consumer) = match subscribed {
                Ok(subscribed) => subscribed,
                Err(error) => break self.not_subscribed(error, *cancelled),
            };
            *cancelled = false;
            ctx.report.recovered();
            delays.reset();
            tracing::info!(item = %ctx.item, queue = %self.config.queue.name, "consuming");

            let consuming = Consuming {
                ctx,
                config: &self.config,
                connection: &connection,
                channel: &channel,
            };
            match consuming.run(&mut consumer).await {
                Ended::Shutdown => break Outcome::Shutdown,
                Ended::Lost(error) => break retry("disconnected", &error),
                Ended::Cancelled => {
                    *cancelled = true;
                    let wait = delays.next_delay();
                    let reason = format!(
                        "the broker cancelled the consumer of queue '{}' (deleted, or its \
                         node failed); declaring it again in {}",
                        self.config.queue.name,
                        humanize(wait)
                    );
                    ctx.report.trouble("consumer cancelled", reason);
                    tokio::select! {
                        () = ctx.shutdown.cancelled() => break Outcome::Shutdown,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        };
        close(&connection, self.config.connection.connect_timeout).await;
        outcome
    }

    /// How a failed subscription is reported: a refusal after a cancel keeps the
    /// "consumer cancelled" state, so the item shows why nothing arrives.
    fn not_subscribed(&self, error: AmqpError, cancelled: bool) -> Outcome {
        if !error.is_refusal() {
            return retry("disconnected", &error);
        }
        if cancelled {
            return retry("consumer cancelled", &error);
        }
        match self.config.connection.on_declare_failure {
            OnDeclareFailure::Stop => Outcome::Stop(error.to_string()),
            OnDeclareFailure::Retry => retry("declare refused", &error),
        }
    }

    /// Declares what the item uses on a fresh channel, sets the prefetch and consumes.
    async fn subscribe(&self, connection: &Connection) -> Result<(Channel, Consumer), AmqpError> {
        let config = &self.config;
        let timeout = config.connection.connect_timeout;
        let mode = config.connection.declare;
        let channel = within(
            "opening a channel",
            timeout,
            connection.create_channel(),
            |e| AmqpError::lost("opening a channel", e),
        )
        .await?;

        if let Some((exchange, _)) = &config.binding {
            topology::exchange(&channel, exchange, mode, timeout).await?;
        }
        topology::queue(&channel, &config.queue, mode, timeout).await?;
        if let Some((exchange, keys)) = &config.binding {
            topology::bind(&channel, &config.queue.name, &exchange.name, keys, timeout).await?;
        }

        let qos = channel.basic_qos(config.prefetch, BasicQosOptions::default());
        within("basic.qos", timeout, qos, |e| {
            AmqpError::lost("basic.qos", e)
        })
        .await?;
        let consume = channel.basic_consume(
            ShortString::from(config.queue.name.as_str()),
            ShortString::from(""),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        );
        let what = format!("consuming queue '{}'", config.queue.name);
        let consumer = within(&what, timeout, consume, |e| AmqpError::of_call(&what, e)).await?;
        Ok((channel, consumer))
    }
}

fn retry(state: &'static str, error: &AmqpError) -> Outcome {
    Outcome::Retry {
        state,
        reason: error.to_string(),
        refused: error.is_refusal(),
    }
}
