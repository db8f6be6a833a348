//! Queue `arguments` as a production writes them, typed the way RabbitMQ reads them.
//!
//! RabbitMQ compares the arguments of an existing queue with a new declaration by type
//! class and value, and refuses a mismatch with 406 PRECONDITION_FAILED only when the
//! item starts. So the `x-` arguments RabbitMQ defines are checked when the production
//! loads: `x-max-length: '100'` (a quoted string) is a load error at its line and column,
//! never sent as a string (field case B37). Arguments Ferry does not know are passed on
//! with the type YAML gave them, for plugins and newer brokers.

use std::collections::BTreeMap;
use std::fmt;

use ferry_adapter::setting_problem;
use ferry_production::{Setting, SettingsReader};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// One argument value with the type YAML gave it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Written {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Written {
    fn describe(&self) -> String {
        match self {
            Written::Bool(value) => format!("the boolean {value}"),
            Written::Int(value) => format!("the integer {value}"),
            Written::Float(value) => format!("the number {value}"),
            Written::Text(value) => format!("the string '{value}'"),
        }
    }

    fn amqp(&self) -> AMQPValue {
        match self {
            Written::Bool(value) => AMQPValue::Boolean(*value),
            Written::Int(value) => AMQPValue::LongLongInt(*value),
            Written::Float(value) => AMQPValue::Double(*value),
            Written::Text(value) => AMQPValue::LongString(LongString::from(value.as_str())),
        }
    }
}

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WrittenVisitor)
    }
}

struct WrittenVisitor;

impl Visitor<'_> for WrittenVisitor {
    type Value = Written;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Written, E> {
        Ok(Written::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Written, E> {
        Ok(Written::Int(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Written, E> {
        i64::try_from(value)
            .map(Written::Int)
            .map_err(|_| E::custom(format!("{value} is too large for an AMQP argument")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Written, E> {
        Ok(Written::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Written, E> {
        Ok(Written::Text(value.to_owned()))
    }
}

/// The type RabbitMQ expects for one of its own arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// A whole number of at least 0 (milliseconds, counts, bytes).
    Count,
    /// A whole number of at least 1.
    Positive,
    /// A priority: 1 to 255.
    Priority,
    Text,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    Bool,
}

/// The queue arguments RabbitMQ documents, with their types.
const KNOWN: &[(&str, Expected)] = &[
    ("x-message-ttl", Expected::Count),
    ("x-expires", Expected::Positive),
    ("x-max-length", Expected::Count),
    ("x-max-length-bytes", Expected::Count),
    ("x-max-priority", Expected::Priority),
    ("x-delivery-limit", Expected::Count),
    ("x-quorum-initial-group-size", Expected::Positive),
    ("x-initial-cluster-size", Expected::Positive),
    ("x-stream-max-segment-size-bytes", Expected::Positive),
    ("x-dead-letter-exchange", Expected::Text),
    ("x-dead-letter-routing-key", Expected::Text),
    ("x-max-age", Expected::Text),
    (
        "x-overflow",
        Expected::OneOf(&["drop-head", "reject-publish", "reject-publish-dlx"]),
    ),
    (
        "x-queue-type",
        Expected::OneOf(&["classic", "quorum", "stream"]),
    ),
    ("x-queue-mode", Expected::OneOf(&["default", "lazy"])),
    (
        "x-dead-letter-strategy",
        Expected::OneOf(&["at-most-once", "at-least-once"]),
    ),
    (
        "x-queue-master-locator",
        Expected::OneOf(&["client-local", "min-masters", "random"]),
    ),
    (
        "x-queue-leader-locator",
        Expected::OneOf(&["client-local", "balanced"]),
    ),
    ("x-single-active-consumer", Expected::Bool),
];

/// Checked queue arguments, ready for `queue.declare`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueueArguments {
    values: BTreeMap<String, Written>,
}

impl QueueArguments {
    /// The argument table sent to the broker.
    pub(crate) fn table(&self) -> FieldTable {
        let mut table = FieldTable::default();
        for (name, value) in &self.values {
            table.insert(ShortString::from(name.as_str()), value.amqp());
        }
        table
    }

    /// Checks the `arguments` mapping; every problem is collected at its argument.
    pub(crate) fn read(
        reader: &mut SettingsReader<'_>,
        written: Option<BTreeMap<String, Setting<Written>>>,
    ) -> QueueArguments {
        let mut values = BTreeMap::new();
        for (name, value) in written.unwrap_or_default() {
            let known = KNOWN.iter().find(|(known, _)| *known == name);
            if let Some((_, expected)) = known
                && let Err((message, hint)) = check(&name, &value.value, *expected)
            {
                setting_problem(reader, value.at, message, hint.as_deref());
                continue;
            }
            values.insert(name, value.value);
        }
        QueueArguments { values }
    }
}

/// Whether `value` is what RabbitMQ expects for `name`: a message and a hint if not.
fn check(name: &str, value: &Written, expected: Expected) -> Result<(), (String, Option<String>)> {
    let wrong = |wanted: &str| {
        let message = format!("`{name}` must be {wanted}, not {}", value.describe());
        let hint = match value {
            Written::Text(text) if text.parse::<i64>().is_ok() => Some(format!(
                "write {text} without quotes: RabbitMQ compares argument types, and a string \
                 never equals a number"
            )),
            Written::Text(text) if text == "true" || text == "false" => {
                Some(format!("write {text} without quotes"))
            }
            _ => None,
        };
        Err((message, hint))
    };
    match (expected, value) {
        (Expected::Count, Written::Int(n)) if *n >= 0 => Ok(()),
        (Expected::Count, _) => wrong("an integer of at least 0"),
        (Expected::Positive, Written::Int(n)) if *n >= 1 => Ok(()),
        (Expected::Positive, _) => wrong("an integer of at least 1"),
        (Expected::Priority, Written::Int(n)) if (1..=255).contains(n) => Ok(()),
        (Expected::Priority, _) => wrong("an integer from 1 to 255"),
        (Expected::Text, Written::Text(_)) => Ok(()),
        (Expected::Text, _) => wrong("a string"),
        (Expected::Bool, Written::Bool(_)) => Ok(()),
        (Expected::Bool, _) => wrong("true or false"),
        (Expected::OneOf(words), Written::Text(text)) if words.contains(&text.as_str()) => Ok(()),
        (Expected::OneOf(words), _) => wrong(&format!("one of {}", words.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rabbitmq_arguments_must_have_their_type() {
        let count = Expected::Count;
        assert!(check("x-max-length", &Written::Int(100), count).is_ok());
        let (message, hint) =
            check("x-max-length", &Written::Text("100".into()), count).unwrap_err();
        assert_eq!(
            message,
            "`x-max-length` must be an integer of at least 0, not the string '100'"
        );
        assert!(hint.unwrap().starts_with("write 100 without quotes"));
        let overflow = Expected::OneOf(&["drop-head", "reject-publish"]);
        assert!(
            check(
                "x-overflow",
                &Written::Text("reject-publish".into()),
                overflow
            )
            .is_ok()
        );
        assert!(check("x-overflow", &Written::Text("reject".into()), overflow).is_err());
        assert!(check("x-max-priority", &Written::Int(256), Expected::Priority).is_err());
    }

    #[test]
    fn values_keep_their_yaml_type_on_the_wire() {
        assert_eq!(Written::Int(5).amqp(), AMQPValue::LongLongInt(5));
        assert_eq!(Written::Bool(true).amqp(), AMQPValue::Boolean(true));
        assert!(matches!(
            Written::Text("x".into()).amqp(),
            AMQPValue::LongString(_)
        ));
    }
}
