//! Declaring (or, with `declare: passive`, checking) the exchanges, queues and bindings an
//! item uses, and explaining a refusal.
//!
//! A refused declaration closes the channel it was made on, never the connection, so each
//! attempt uses a fresh channel and a closed one is never reused. When RabbitMQ refuses a
//! declaration because the object exists with other properties (406 PRECONDITION_FAILED,
//! "inequivalent arg"), its reply text names the property and both values; the message
//! built here puts them in words a person can act on (field case B37).

use std::time::Duration;

use lapin::Channel;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};

use crate::error::{AmqpError, within};
use crate::settings::{DeclareMode, ExchangeSpec, QueueSpec};

/// Declares or checks `exchange`.
///
/// # Errors
///
/// [`AmqpError::Refused`] naming the exchange when the broker refuses; otherwise a lost
/// channel or a timeout.
pub(crate) async fn exchange(
    channel: &Channel,
    exchange: &ExchangeSpec,
    mode: DeclareMode,
    timeout: Duration,
) -> Result<(), AmqpError> {
    let options = ExchangeDeclareOptions {
        passive: mode == DeclareMode::Passive,
        durable: exchange.durable,
        ..ExchangeDeclareOptions::default()
    };
    let object = format!("exchange '{}'", exchange.name);
    let call = channel.exchange_declare(
        ShortString::from(exchange.name.as_str()),
        exchange.kind.clone(),
        options,
        FieldTable::default(),
    );
    within(&format!("declaring {object}"), timeout, call, |error| {
        refusal(&object, mode, error)
    })
    .await
}

/// Declares or checks `queue`.
///
/// # Errors
///
/// As [`exchange`].
pub(crate) async fn queue(
    channel: &Channel,
    queue: &QueueSpec,
    mode: DeclareMode,
    timeout: Duration,
) -> Result<(), AmqpError> {
    let options = QueueDeclareOptions {
        passive: mode == DeclareMode::Passive,
        durable: queue.durable,
        exclusive: queue.exclusive,
        auto_delete: queue.auto_delete,
        nowait: false,
    };
    let object = format!("queue '{}'", queue.name);
    let arguments = match mode {
        DeclareMode::Declare => queue.arguments.table(),
        DeclareMode::Passive => FieldTable::default(),
    };
    let call = channel.queue_declare(ShortString::from(queue.name.as_str()), options, arguments);
    within(&format!("declaring {object}"), timeout, call, |error| {
        refusal(&object, mode, error)
    })
    .await
    .map(drop)
}

/// Binds `queue` to `exchange` with each routing key. A passive production binds too:
/// a binding is not a property of either object, and binding twice is harmless.
///
/// # Errors
///
/// As [`exchange`].
pub(crate) async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    keys: &[String],
    timeout: Duration,
) -> Result<(), AmqpError> {
    for key in keys {
        let object = format!("binding of queue '{queue}' to exchange '{exchange}' key '{key}'");
        let call = channel.queue_bind(
            ShortString::from(queue),
            ShortString::from(exchange),
            ShortString::from(key.as_str()),
            QueueBindOptions::default(),
            FieldTable::default(),
        );
        within(&object, timeout, call, |error| {
            refusal(&object, DeclareMode::Declare, error)
        })
        .await?;
    }
    Ok(())
}

/// Turns a broker's refusal into a message naming `object`; other errors are a lost
/// channel.
fn refusal(object: &str, mode: DeclareMode, error: &lapin::Error) -> AmqpError {
    let lapin::ErrorKind::ProtocolError(amqp) = error.kind() else {
        return AmqpError::lost(&format!("declaring {object}"), error);
    };
    let text = amqp.get_message().as_str();
    let message = match amqp.get_id() {
        406 => match inequivalent(text) {
            Some(found) => format!(
                "{object} exists with other properties: `{}` is {} in this production but \
                 {} on the broker (406 PRECONDITION_FAILED); delete or change the {}, change \
                 the production, or use `declare: passive`",
                found.property,
                found.wanted,
                found.current,
                object.split(' ').next().unwrap_or("object"),
            ),
            None => format!("the broker refused {object}: {text}"),
        },
        404 if mode == DeclareMode::Passive => {
            format!("{object} does not exist (404 NOT_FOUND; `declare: passive` only checks)")
        }
        404 => format!("{object} refers to something missing: {text}"),
        403 => format!("the broker's user may not declare {object}: {text}"),
        405 => format!("{object} is locked by another connection (exclusive): {text}"),
        code if matches!(amqp.kind(), lapin::protocol::AMQPErrorKind::Soft(_)) => {
            format!("the broker refused {object} ({code}): {text}")
        }
        _ => return AmqpError::lost(&format!("declaring {object}"), error),
    };
    AmqpError::Refused(message)
}

/// The parts of RabbitMQ's "inequivalent arg" reply text.
#[derive(Debug, PartialEq, Eq)]
struct Inequivalent<'a> {
    property: &'a str,
    wanted: &'a str,
    current: &'a str,
}

/// Reads `… inequivalent arg 'P' for queue 'N' in vhost 'V': received W but current is C`.
fn inequivalent(text: &str) -> Option<Inequivalent<'_>> {
    let rest = text.split_once("inequivalent arg '")?.1;
    let (property, rest) = rest.split_once('\'')?;
    let rest = rest.split_once("': received ")?.1;
    let (wanted, current) = rest.split_once(" but current is ")?;
    Some(Inequivalent {
        property,
        wanted: wanted.trim(),
        current: current.trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rabbitmq_inequivalent_arg_texts() {
        let ttl = "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 't.in' in \
                   vhost '/': received none but current is the value '60000' of type 'signedint'";
        assert_eq!(
            inequivalent(ttl),
            Some(Inequivalent {
                property: "x-message-ttl",
                wanted: "none",
                current: "the value '60000' of type 'signedint'",
            })
        );
        let kind = "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 't.out' in vhost \
                    '/': received 'topic' but current is 'direct'";
        let found = inequivalent(kind).unwrap();
        assert_eq!(
            (found.property, found.wanted, found.current),
            ("type", "'topic'", "'direct'")
        );
        assert_eq!(inequivalent("PRECONDITION_FAILED - something else"), None);
    }
}
