//! The production file's sections as serde reads them, before any check.
//!
//! Owns the serde shapes and the key lists of every mapping a production defines. The
//! shapes are loose on purpose: values that need a semantic check (durations, names,
//! enumerations, ranges) are read as spanned text or numbers and checked afterwards, so
//! that one bad value does not hide the others; only a wrong YAML type (a list where a
//! number belongs) stops the reading of its section. Unknown keys are not refused here:
//! [`crate::schema`] reports them all from the outline, with the key lists below.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::Location;

pub(crate) const TOP_KEYS: &[&str] = &["production", "description", "store", "admin", "items"];

pub(crate) const ADMIN_KEYS: &[&str] = &["http", "grpc", "token_env", "users", "tls"];

pub(crate) const ADMIN_TLS_KEYS: &[&str] = &["certificate", "key"];

pub(crate) const STORE_KEYS: &[&str] = &[
    "path",
    "durability",
    "retention",
    "purge_every",
    "duplicate_window",
    "search_fields",
    "cache_mb",
];

pub(crate) const ITEM_KEYS: &[&str] = &[
    "name",
    "service",
    "process",
    "operation",
    "enabled",
    "targets",
    "settings",
    "pool",
    "queue_limit",
    "rules",
    "otherwise",
    "retry",
];

pub(crate) const RULE_KEYS: &[&str] = &["name", "when", "send", "discard", "continue"];

pub(crate) const OTHERWISE_KEYS: &[&str] = &["send"];

pub(crate) const RETRY_KEYS: &[&str] = &[
    "interval",
    "backoff",
    "max_interval",
    "failure_timeout",
    "on_failure",
];

/// `store:`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "the store settings (a mapping)")]
pub(crate) struct StoreRaw {
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) durability: Option<Spanned<String>>,
    pub(crate) retention: Option<Spanned<String>>,
    pub(crate) purge_every: Option<Spanned<String>>,
    pub(crate) duplicate_window: Option<Spanned<String>>,
    pub(crate) search_fields: Option<Vec<Spanned<String>>>,
    pub(crate) cache_mb: Option<Spanned<i64>>,
}

/// `admin:`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "the admin settings (a mapping)")]
pub(crate) struct AdminRaw {
    pub(crate) http: Option<Spanned<String>>,
    pub(crate) grpc: Option<Spanned<String>>,
    pub(crate) token_env: Option<Spanned<String>>,
    pub(crate) users: Option<Spanned<String>>,
    pub(crate) tls: Option<Spanned<AdminTlsRaw>>,
}

/// `admin.tls:`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "the admin TLS settings (a mapping with certificate and key)")]
pub(crate) struct AdminTlsRaw {
    pub(crate) certificate: Option<Spanned<String>>,
    pub(crate) key: Option<Spanned<String>>,
}

/// One entry of `items:`; `settings:` is left to the adapter.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an item (a mapping)")]
pub(crate) struct ItemRaw {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) service: Option<Spanned<String>>,
    pub(crate) process: Option<Spanned<String>>,
    pub(crate) operation: Option<Spanned<String>>,
    pub(crate) enabled: Option<bool>,
    pub(crate) targets: Option<Spanned<Names>>,
    pub(crate) pool: Option<Spanned<i64>>,
    pub(crate) queue_limit: Option<Spanned<i64>>,
    pub(crate) rules: Option<Spanned<Vec<Spanned<RuleRaw>>>>,
    pub(crate) otherwise: Option<Spanned<OtherwiseRaw>>,
    pub(crate) retry: Option<Spanned<RetryRaw>>,
}

/// One routing rule.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a rule (a mapping)")]
pub(crate) struct RuleRaw {
    pub(crate) name: Option<String>,
    pub(crate) when: Option<Spanned<String>>,
    pub(crate) send: Option<Spanned<Names>>,
    pub(crate) discard: Option<Spanned<bool>>,
    #[serde(rename = "continue")]
    pub(crate) continue_after: Option<bool>,
}

/// `retry:`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "the retry settings (a mapping)")]
pub(crate) struct RetryRaw {
    pub(crate) interval: Option<Spanned<String>>,
    pub(crate) backoff: Option<Spanned<f64>>,
    pub(crate) max_interval: Option<Spanned<String>>,
    pub(crate) failure_timeout: Option<Spanned<String>>,
    pub(crate) on_failure: Option<Spanned<String>>,
}

/// Item names: a list, or one name on its own.
#[derive(Debug, Default)]
pub(crate) struct Names(Vec<(String, Option<Location>)>);

impl Names {
    /// The names with their positions; a single name written without a list is at `at`.
    pub(crate) fn located(&self, at: Location) -> Vec<(String, Location)> {
        self.0
            .iter()
            .map(|(name, location)| (name.clone(), location.unwrap_or(at)))
            .collect()
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Names, D::Error> {
        deserializer.deserialize_any(NamesVisitor)
    }
}

struct NamesVisitor;

impl<'de> Visitor<'de> for NamesVisitor {
    type Value = Names;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("item names: a list such as [Archive, Lab out], or one name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Names, E> {
        Ok(Names(vec![(name.to_owned(), None)]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<Spanned<String>>()? {
            names.push((name.value, Some(name.referenced.into())));
        }
        Ok(Names(names))
    }
}

/// `otherwise: discard` or `otherwise: { send: [...] }`.
#[derive(Debug)]
pub(crate) enum OtherwiseRaw {
    Word(String),
    Send(Option<Spanned<Names>>),
}

impl<'de> Deserialize<'de> for OtherwiseRaw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OtherwiseRaw, D::Error> {
        deserializer.deserialize_any(OtherwiseVisitor)
    }
}

struct OtherwiseVisitor;

impl<'de> Visitor<'de> for OtherwiseVisitor {
    type Value = OtherwiseRaw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`discard` or a mapping with `send:`")
    }

    fn visit_str<E: de::Error>(self, word: &str) -> Result<OtherwiseRaw, E> {
        Ok(OtherwiseRaw::Word(word.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, word: bool) -> Result<OtherwiseRaw, E> {
        Ok(OtherwiseRaw::Word(word.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OtherwiseRaw, A::Error> {
        let mut send = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "send" {
                send = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(OtherwiseRaw::Send(send))
    }
}
