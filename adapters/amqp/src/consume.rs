//! Taking deliveries off one consumer: store them, then acknowledge them.
//!
//! Invariants, whatever the broker or the store do:
//! - a delivery is acked only after [`ferry_adapter::Intake::submit`] returned it as
//!   stored (durable); deliveries that arrived together are submitted together (one store
//!   flush) and acked with one `basic.ack multiple` per run of stored ones;
//! - a body the engine keeps with status Error is rejected with `requeue=false`, so the
//!   broker dead-letters it when the queue has `x-dead-letter-exchange` and drops it
//!   otherwise; it never comes round again (field case B38);
//! - when the store cannot write, the deliveries stay unacknowledged and the submit is
//!   retried with a growing wait: no nack, no requeue, and the prefetch limit stops the
//!   broker from sending more meanwhile;
//! - a redelivery carries the message id of the first delivery (`delivery_id`), so one
//!   stored before its ack was lost is acked without being stored again.

use std::time::Duration;

use ferry_adapter::{InboundMessage, IntakeError, ServiceContext, Submitted};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::{Channel, Connection, Consumer};

use crate::error::{AmqpError, within};
use crate::settings::InboundConfig;

/// Why consuming stopped.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The production is stopping.
    Shutdown,
    /// The broker cancelled the consumer (queue deleted) while the channel stayed open.
    Cancelled,
    /// The channel or connection failed.
    Lost(AmqpError),
}

/// The first wait after a failed submit, and the longest.
const STORE_RETRY_FIRST: Duration = Duration::from_millis(100);
const STORE_RETRY_CAP: Duration = Duration::from_secs(5);

/// One consumer and what it needs to store and acknowledge.
pub(crate) struct Consuming<'a> {
    pub(crate) ctx: &'a ServiceContext,
    pub(crate) config: &'a InboundConfig,
    pub(crate) connection: &'a Connection,
    pub(crate) channel: &'a Channel,
}

impl Consuming<'_> {
    /// Stores and acknowledges deliveries until the consumer ends.
    pub(crate) async fn run(&self, consumer: &mut Consumer) -> Ended {
        use futures_lite::StreamExt;

        loop {
            let first = tokio::select! {
                () = self.ctx.shutdown.cancelled() => return Ended::Shutdown,
                next = consumer.next() => next,
            };
            let mut batch = Vec::new();
            let mut ending = self.take(first, &mut batch);
            while ending.is_none() && batch.len() < usize::from(self.config.prefetch) {
                match futures_lite::future::poll_once(consumer.next()).await {
                    Some(next) => ending = self.take(next, &mut batch),
                    None => break,
                }
            }

            if !batch.is_empty()
                && let Err(ended) = self.store_and_ack(batch).await
            {
                return ended;
            }
            if let Some(ending) = ending {
                return ending;
            }
        }
    }

    /// Adds a delivery to the batch, or says how the consumer ended.
    fn take(
        &self,
        next: Option<lapin::Result<Delivery>>,
        batch: &mut Vec<Delivery>,
    ) -> Option<Ended> {
        match next {
            Some(Ok(delivery)) => {
                batch.push(delivery);
                None
            }
            Some(Err(error)) => Some(Ended::Lost(AmqpError::lost("consuming", &error))),
            None if self.channel.status().connected() && self.connection.status().connected() => {
                Some(Ended::Cancelled)
            }
            None => Some(Ended::Lost(AmqpError::Lost(
                "the connection closed while consuming".to_owned(),
            ))),
        }
    }

    /// Submits the batch until it is stored, then acks or rejects each delivery.
    async fn store_and_ack(&self, batch: Vec<Delivery>) -> Result<(), Ended> {
        let messages: Vec<InboundMessage> = batch.iter().map(|d| self.message(d)).collect();
        let results = self.submit(messages).await?;

        crate::hooks::abort_before_ack(
            batch
                .iter()
                .map(|d| d.properties.message_id().as_ref().map(|id| id.as_str())),
        );

        let stored: Vec<bool> = results
            .iter()
            .map(|result| matches!(result, Submitted::Accepted { .. }))
            .collect();
        let tags: Vec<u64> = batch.iter().map(|d| d.delivery_tag).collect();
        for step in settle_plan(&tags, &stored) {
            match step {
                Settle::AckUpTo(tag) => self.ack_up_to(tag).await?,
                Settle::Reject(index) => {
                    let reason = match results.get(index) {
                        Some(Submitted::Rejected { reason, .. }) => reason.as_str(),
                        _ => "",
                    };
                    if let Some(delivery) = batch.get(index) {
                        self.reject(delivery, reason).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Submits until the store takes the messages; `Err` only on shutdown.
    async fn submit(&self, messages: Vec<InboundMessage>) -> Result<Vec<Submitted>, Ended> {
        let mut wait = STORE_RETRY_FIRST;
        let mut failing = false;
        loop {
            if !self.ctx.intake.ready().await {
                return Err(Ended::Shutdown);
            }
            match self.ctx.intake.submit(messages.clone()).await {
                Ok(results) => {
                    if failing {
                        self.ctx.report.recovered();
                    }
                    return Ok(results);
                }
                Err(IntakeError::ShuttingDown) => return Err(Ended::Shutdown),
                Err(error) => {
                    // One event per change of the failure, not one per retry: the
                    // reporter writes a trouble only when it differs from the last.
                    let reason = format!(
                        "{} deliveries from queue '{}' stay unacknowledged: {error}",
                        messages.len(),
                        self.config.queue.name
                    );
                    self.ctx.report.trouble("cannot store", reason);
                    failing = true;
                }
            }
            tokio::select! {
                () = self.ctx.shutdown.cancelled() => return Err(Ended::Shutdown),
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(STORE_RETRY_CAP);
        }
    }

    /// The message the engine gets for a delivery.
    fn message(&self, delivery: &Delivery) -> InboundMessage {
        let properties = &delivery.properties;
        let content_type = properties.content_type().as_ref().map(|t| t.as_str());
        let kind = match content_type {
            Some(content_type) => {
                crate::content::kind_of(content_type).unwrap_or(ferry_message::ContentKind::Binary)
            }
            None => self.config.default_kind,
        };
        let label = content_type.and_then(crate::content::charset_of);
        let charset = label
            .as_deref()
            .and_then(|label| ferry_hl7::encoding_rs::Encoding::for_label(label.as_bytes()));
        if let (Some(label), None) = (&label, charset) {
            // Not a reason to refuse the message (the broker would drop it), but a person
            // should know its text was read with the service's charset instead.
            self.ctx.intake.warn(format!(
                "queue '{}': content type names an unknown charset '{label}'; the text is \
                 read as {}",
                self.config.queue.name,
                charset_name(self.config.charset)
            ));
        }
        let mut message = InboundMessage::new(kind, delivery.data.clone());
        message.charset = match (charset, self.config.charset) {
            (Some(declared), ferry_adapter::CharsetChoice::Declared { .. }) => {
                ferry_adapter::CharsetChoice::Declared { default: declared }
            }
            (_, configured) => configured,
        };
        message.delivery_id = properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str().to_owned());
        message.properties = delivery_properties(delivery);
        message.origin = Some(format!(
            "queue '{}' delivery {}{}",
            self.config.queue.name,
            delivery.delivery_tag,
            if delivery.redelivered {
                " (redelivered)"
            } else {
                ""
            }
        ));
        message
    }

    async fn ack_up_to(&self, tag: u64) -> Result<(), Ended> {
        let call = self
            .channel
            .basic_ack(tag, BasicAckOptions { multiple: true });
        within(
            "basic.ack",
            self.config.connection.connect_timeout,
            call,
            |e| AmqpError::lost("basic.ack", e),
        )
        .await
        .map_err(Ended::Lost)
    }

    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), Ended> {
        tracing::warn!(
            item = %self.ctx.item,
            queue = %self.config.queue.name,
            delivery_tag = delivery.delivery_tag,
            %reason,
            "rejected without requeue: kept with status Error, dead-lettered by the broker \
             if the queue has a dead-letter exchange"
        );
        let call = self
            .channel
            .basic_reject(delivery.delivery_tag, BasicRejectOptions { requeue: false });
        within(
            "basic.reject",
            self.config.connection.connect_timeout,
            call,
            |e| AmqpError::lost("basic.reject", e),
        )
        .await
        .map_err(Ended::Lost)
    }
}

/// One acknowledgement of a stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// `basic.ack multiple` up to and including this delivery tag.
    AckUpTo(u64),
    /// `basic.reject requeue=false` of the batch's delivery at this index.
    Reject(usize),
}

/// The acknowledgements for a batch in delivery order: one `multiple` ack per run of
/// stored deliveries, sent before the reject that ends the run, so an ack never covers a
/// delivery that is to be rejected.
fn settle_plan(tags: &[u64], stored: &[bool]) -> Vec<Settle> {
    let mut plan = Vec::new();
    let mut run_end = None;
    for (index, (tag, stored)) in tags.iter().zip(stored).enumerate() {
        if *stored {
            run_end = Some(*tag);
            continue;
        }
        if let Some(tag) = run_end.take() {
            plan.push(Settle::AckUpTo(tag));
        }
        plan.push(Settle::Reject(index));
    }
    plan.extend(run_end.map(Settle::AckUpTo));
    plan
}

/// The name of the charset a choice decodes with when the message declares none.
fn charset_name(choice: ferry_adapter::CharsetChoice) -> &'static str {
    match choice {
        ferry_adapter::CharsetChoice::Forced(encoding)
        | ferry_adapter::CharsetChoice::Declared { default: encoding } => encoding.name(),
    }
}

/// The AMQP facts kept with a message: where it was published and what the publisher
/// said about it.
fn delivery_properties(delivery: &Delivery) -> Vec<(String, String)> {
    let properties = &delivery.properties;
    let mut kept = vec![
        (
            "amqp.exchange".to_owned(),
            delivery.exchange.as_str().to_owned(),
        ),
        (
            "amqp.routing_key".to_owned(),
            delivery.routing_key.as_str().to_owned(),
        ),
    ];
    let named = [
        ("amqp.app_id", properties.app_id()),
        ("amqp.message_id", properties.message_id()),
        ("amqp.correlation_id", properties.correlation_id()),
        ("amqp.type", properties.kind()),
        ("amqp.user_id", properties.user_id()),
        ("amqp.content_type", properties.content_type()),
    ];
    for (name, value) in named {
        if let Some(value) = value {
            kept.push((name.to_owned(), value.as_str().to_owned()));
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_stored_deliveries_are_acked_together_around_rejects() {
        let all = settle_plan(&[5, 6, 7], &[true, true, true]);
        assert_eq!(all, [Settle::AckUpTo(7)]);
        let mixed = settle_plan(&[1, 2, 3, 4, 5], &[true, false, true, true, false]);
        assert_eq!(
            mixed,
            [
                Settle::AckUpTo(1),
                Settle::Reject(1),
                Settle::AckUpTo(4),
                Settle::Reject(4),
            ]
        );
        assert_eq!(settle_plan(&[9], &[false]), [Settle::Reject(0)]);
    }
}
