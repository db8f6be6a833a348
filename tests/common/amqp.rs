//! Helpers the AMQP tests share: a small test client for the broker and waiting on an
//! engine item's state.

use std::time::{Duration, Instant};

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};

/// The content type of HL7 v2 bodies.
pub const HL7: &str = "x-application/hl7-v2+er7";

/// A message read back from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A test's own connection and a channel in confirm mode.
#[derive(Debug)]
pub struct Client {
    pub connection: Connection,
    pub channel: Channel,
}

impl Client {
    pub async fn connect(url: &str, name: &str) -> Client {
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        let connection = Connection::connect(url, properties).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        Client {
            connection,
            channel,
        }
    }

    /// A fresh channel: a refused declaration closes the one it was made on.
    async fn fresh(&self) -> Channel {
        self.connection.create_channel().await.unwrap()
    }

    pub async fn queue(&self, name: &str, arguments: &[(&str, AMQPValue)]) {
        let mut table = FieldTable::default();
        for (key, value) in arguments {
            table.insert(ShortString::from(*key), value.clone());
        }
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        self.fresh()
            .await
            .queue_declare(name.into(), options, table)
            .await
            .unwrap();
    }

    pub async fn exchange(&self, name: &str, kind: ExchangeKind) {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        self.fresh()
            .await
            .exchange_declare(name.into(), kind, options, FieldTable::default())
            .await
            .unwrap();
    }

    pub async fn bind(&self, queue: &str, exchange: &str, key: &str) {
        self.fresh()
            .await
            .queue_bind(
                queue.into(),
                exchange.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    }

    pub async fn delete_queue(&self, name: &str) {
        self.fresh()
            .await
            .queue_delete(name.into(), QueueDeleteOptions::default())
            .await
            .unwrap();
    }

    /// Publishes and waits for the confirm, which must be a plain ack.
    pub async fn publish(
        &self,
        exchange: &str,
        key: &str,
        body: &[u8],
        content_type: Option<&str>,
        message_id: Option<&str>,
    ) {
        let mut properties = BasicProperties::default().with_delivery_mode(2);
        if let Some(content_type) = content_type {
            properties = properties.with_content_type(content_type.into());
        }
        if let Some(id) = message_id {
            properties = properties.with_message_id(id.into());
        }
        let confirm = self
            .channel
            .basic_publish(
                exchange.into(),
                key.into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(
            confirm,
            Confirmation::Ack(None),
            "publish to {exchange}/{key}"
        );
    }

    /// Messages ready in a queue; `None` when it does not exist.
    pub async fn count(&self, queue: &str) -> Option<u32> {
        self.look_at(queue).await.map(|queue| queue.message_count())
    }

    /// How many consumers `queue` has; `None` when it does not exist.
    pub async fn consumers(&self, queue: &str) -> Option<u32> {
        self.look_at(queue)
            .await
            .map(|queue| queue.consumer_count())
    }

    /// A passive declare of `queue` on a fresh channel (a missing queue closes it).
    async fn look_at(&self, queue: &str) -> Option<lapin::Queue> {
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        self.fresh()
            .await
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .ok()
    }

    /// Waits until `queue` has a consumer: the service has declared its queue, exchange
    /// and bindings, which it does before it consumes.
    pub async fn wait_for_consumer(&self, queue: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.consumers(queue).await.unwrap_or(0) == 0 {
            assert!(
                Instant::now() < deadline,
                "no consumer on {queue} in {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `queue` holds at least `n` ready messages.
    pub async fn wait_for(&self, queue: &str, n: u32, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.count(queue).await.unwrap_or(0);
            if count >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{queue} holds {count} messages, not {n}, after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Takes every ready message off `queue`, acking each.
    pub async fn drain(&self, queue: &str) -> Vec<Got> {
        let channel = self.fresh().await;
        let mut got = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            let properties = &message.delivery.properties;
            let text = |value: &Option<ShortString>| value.as_ref().map(|v| v.to_string());
            got.push(Got {
                message_id: text(properties.message_id()),
                correlation_id: text(properties.correlation_id()),
                content_type: text(properties.content_type()),
                body: message.delivery.data.clone(),
            });
        }
        got
    }

    pub async fn close(self) {
        let _ = self.connection.close(200, "test done".into()).await;
    }
}

/// An integer queue argument as RabbitMQ stores one.
pub fn int(value: i64) -> AMQPValue {
    AMQPValue::LongLongInt(value)
}

/// A string queue argument.
pub fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

/// The MSH-10 of an HL7 body.
pub fn control_id(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split('\r')
        .next()
        .and_then(|msh| msh.split('|').nth(9))
        .unwrap_or_default()
        .to_owned()
}

/// The trouble of an item of an engine running in this process.
pub fn trouble(engine: &ferry_runtime::Engine, item: &str) -> Option<ferry_adapter::Trouble> {
    engine
        .items()
        .into_iter()
        .find(|status| status.name.as_str() == item)
        .and_then(|status| status.trouble)
}

/// Waits until `condition` holds for the item's trouble.
pub async fn wait_trouble(
    engine: &ferry_runtime::Engine,
    item: &str,
    timeout: Duration,
    what: &str,
    condition: impl Fn(Option<&ferry_adapter::Trouble>) -> bool,
) -> Option<ferry_adapter::Trouble> {
    let deadline = Instant::now() + timeout;
    loop {
        let current = trouble(engine, item);
        if condition(current.as_ref()) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "{item}: no {what} within {timeout:?}; trouble is {current:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
