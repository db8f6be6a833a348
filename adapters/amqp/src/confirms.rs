//! One publish and what the broker's answer makes of it.
//!
//! Only a positive confirm with no return before it is a delivery (lapin's `Ack(None)`).
//! A return (mandatory publish no queue took, 312 NO_ROUTE) comes before its confirm and
//! is the `returned` reply action, with exchange, routing key and reply text in the
//! reason; a nack is `nacked`; no confirm within `confirm_timeout` is `timeout` (field case
//! B34). lapin settles confirms by delivery tag (`multiple` covers every pending tag up to
//! it) and the operation keeps one publish per channel, so an answer always belongs to
//! the message waiting for it. A resend is the same header, so it carries the same
//! `message_id` and a copy the broker did take can be recognised.

use ferry_adapter::{Delivered, Delivery, DeliveryError};
use ferry_message::NewBody;
use lapin::options::BasicPublishOptions;
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation, PublisherConfirm};

use crate::error::{AmqpError, within};
use crate::outbound::{AmqpOperation, Link, lock};
use crate::reply_actions::ReplyKind;

/// AMQP short strings, routing keys among them, hold at most 255 bytes.
const MAX_ROUTING_KEY: usize = 255;

/// A publish whose confirm is still out, kept for the resend of the same message.
pub(crate) struct Parked {
    generation: u64,
    channel: Channel,
    confirm: PublisherConfirm,
}

/// One message on its way to the broker.
pub(crate) struct Publish<'a> {
    pub(crate) message_id: String,
    routing_key: String,
    delivery: Delivery<'a>,
}

impl<'a> Publish<'a> {
    /// Renders the routing key.
    ///
    /// # Errors
    ///
    /// A failure without retry when the key is longer than AMQP allows.
    pub(crate) fn new(
        operation: &AmqpOperation,
        delivery: Delivery<'a>,
    ) -> Result<Self, DeliveryError> {
        let routing_key = operation
            .config
            .routing_key
            .render(delivery.header, delivery.body);
        if routing_key.len() > MAX_ROUTING_KEY {
            return Err(DeliveryError::fail(format!(
                "the routing key is {} bytes, over AMQP's {MAX_ROUTING_KEY}",
                routing_key.len()
            )));
        }
        Ok(Publish {
            message_id: delivery.header.id.to_string(),
            routing_key,
            delivery,
        })
    }

    /// Publishes (or, for a message whose earlier publish was parked, waits for that
    /// confirm) and judges the answer.
    pub(crate) async fn run(
        &self,
        operation: &AmqpOperation,
        link: &Link,
    ) -> Result<Delivered, DeliveryError> {
        let parked = lock(&operation.parked).remove(&self.message_id);
        let (channel, confirm) = match parked.filter(|p| p.generation == link.generation) {
            Some(parked) => (parked.channel, parked.confirm),
            None => self.publish(operation, link).await?,
        };
        self.settle(operation, link, channel, confirm).await
    }

    async fn publish(
        &self,
        operation: &AmqpOperation,
        link: &Link,
    ) -> Result<(Channel, PublisherConfirm), DeliveryError> {
        let config = &operation.config;
        let retry = |error: AmqpError| DeliveryError::retry(error.to_string());
        let channel = link.channel(config).await.map_err(retry)?;
        let exchange = config.exchange.as_ref().map_or("", |e| e.name.as_str());
        let options = BasicPublishOptions {
            mandatory: config.mandatory,
            immediate: false,
        };
        let call = channel.basic_publish(
            ShortString::from(exchange),
            ShortString::from(self.routing_key.as_str()),
            options,
            &self.delivery.body.bytes,
            self.properties(operation),
        );
        let confirm = within("basic.publish", config.confirm_timeout, call, |e| {
            AmqpError::lost("basic.publish", e)
        })
        .await
        .map_err(retry)?;
        Ok((channel, confirm))
    }

    fn properties(&self, operation: &AmqpOperation) -> BasicProperties {
        let config = &operation.config;
        let header = self.delivery.header;
        let body = self.delivery.body;
        let content_type = ferry_adapter::content_type_for(body.kind, body.charset.as_deref());
        let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or_default();
        BasicProperties::default()
            .with_message_id(ShortString::from(self.message_id.as_str()))
            .with_correlation_id(ShortString::from(header.session.to_string()))
            .with_content_type(ShortString::from(content_type))
            .with_timestamp(now)
            .with_app_id(ShortString::from("ferry"))
            .with_delivery_mode(if config.persistent { 2 } else { 1 })
            .with_headers(config.headers.clone())
    }

    /// Waits for the confirm and turns it into the delivery's result.
    async fn settle(
        &self,
        operation: &AmqpOperation,
        link: &Link,
        channel: Channel,
        mut confirm: PublisherConfirm,
    ) -> Result<Delivered, DeliveryError> {
        let config = &operation.config;
        let answer = tokio::time::timeout(config.confirm_timeout, &mut confirm).await;
        let confirmation = match answer {
            Err(_) => {
                let mut reason = format!(
                    "no confirm from the broker within {}s",
                    config.confirm_timeout.as_secs_f32()
                );
                if let Some(blocked) = link.blocked() {
                    reason.push_str(&format!(" ({blocked}; the publish waits for its confirm)"));
                    let parked = Parked {
                        generation: link.generation,
                        channel,
                        confirm,
                    };
                    lock(&operation.parked).insert(self.message_id.clone(), parked);
                }
                return self.judge(operation, ReplyKind::Timeout, reason, None);
            }
            Ok(Err(error)) => {
                let reason = format!("the publish was not confirmed: {error}");
                return Err(DeliveryError::retry(reason));
            }
            Ok(Ok(confirmation)) => confirmation,
        };

        match confirmation {
            Confirmation::Ack(None) => {
                link.put_back(channel);
                Ok(Delivered {
                    response: None,
                    note: Some(format!("confirmed, routing key '{}'", self.routing_key)),
                })
            }
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                link.put_back(channel);
                let returned_id = returned
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|id| id.as_str());
                if returned_id != Some(self.message_id.as_str()) {
                    let reason = format!(
                        "the broker returned another message ({returned_id:?}) on this \
                         message's channel; publishing again"
                    );
                    return Err(DeliveryError::retry(reason));
                }
                let reason = format!(
                    "returned by the broker: {} {} (exchange '{}', routing key '{}')",
                    returned.reply_code,
                    returned.reply_text,
                    returned.exchange,
                    returned.routing_key
                );
                let response = NewBody::new(ferry_message::ContentKind::Text, reason.clone());
                self.judge(operation, ReplyKind::Returned, reason, Some(response))
            }
            Confirmation::Nack(None) => {
                link.put_back(channel);
                let reason = format!(
                    "nacked by the broker (exchange '{}', routing key '{}'): it could not \
                     take the message, e.g. a full queue with x-overflow reject-publish",
                    config.exchange.as_ref().map_or("", |e| e.name.as_str()),
                    self.routing_key
                );
                self.judge(operation, ReplyKind::Nacked, reason, None)
            }
            Confirmation::NotRequested => Err(DeliveryError::retry(
                "the channel was not in confirm mode; publishing again on another",
            )),
        }
    }

    /// Applies the operation's reply action for `kind`.
    fn judge(
        &self,
        operation: &AmqpOperation,
        kind: ReplyKind,
        reason: String,
        response: Option<NewBody>,
    ) -> Result<Delivered, DeliveryError> {
        let action = operation.config.reply_actions.action(kind);
        action.outcome(reason, response)
    }
}
