//! The AMQP adapter's settings, as a production writes them, and their checks.
//!
//! Every setting is read on its own, so one `ferry validate` run reports every problem of
//! an item at its line and column. The broker is never consulted here: whether a queue
//! exists, or exists with other arguments, is found out when the item starts (field case
//! B37). The URL usually comes from the environment (`${FERRY_AMQP_URL}`), and its
//! password never appears in a message or a log line.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ferry_adapter::{CharsetChoice, charset_choice, choice, positive_duration, setting_problem};
use ferry_message::ContentKind;
use ferry_production::{DurationSetting, Item, Setting, SettingsReader};
use lapin::ExchangeKind;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use serde::Deserialize;

use crate::arguments::{QueueArguments, Written};
use crate::reply_actions::{REPLY_ACTIONS, ReplyActions};
use crate::template::Template;

/// Settings both sides share: how to reach the broker and what to do about topology.
const CONNECTION_KEYS: &[&str] = &[
    // amqp:// or amqps:// URL with user, password, host, port and vhost.
    "url",
    // The name the broker shows for the connection (default "ferry <item>").
    "connection_name",
    // The heartbeat asked of the broker (default 30s; 0s turns it off).
    "heartbeat",
    // How long connecting and the AMQP handshake may take (default 10s).
    "connect_timeout",
    // { initial: 1s, cap: 30s }: the wait between reconnects and re-declarations.
    "reconnect",
    // declare (default) or passive (only check that the objects exist).
    "declare",
    // retry (default, at the reconnect cap) or stop, after the broker refused a declaration.
    "on_declare_failure",
    // The exchange, its type (direct) and durability (true).
    "exchange",
    "exchange_type",
    "exchange_durable",
];

/// The settings of `service: amqp`, besides [`CONNECTION_KEYS`].
const INBOUND_KEYS: &[&str] = &[
    // The queue to consume.
    "queue",
    // Queue properties for declare: durable (true), exclusive (false), auto_delete (false).
    "durable",
    "exclusive",
    "auto_delete",
    // Queue arguments, typed as RabbitMQ defines them (x-message-ttl, x-dead-letter-exchange…).
    "arguments",
    // Routing keys binding the queue to `exchange` (default: the queue's name).
    "routing_keys",
    // Deliveries in flight at once, unacknowledged (default 50).
    "prefetch",
    // The kind of bodies whose message has no content type (default hl7v2).
    "content_type",
    // The charset of text that declares none (default UTF-8), and whether to force it.
    "charset",
    "force_charset",
];

/// The settings of `operation: amqp`, besides [`CONNECTION_KEYS`].
const OUTBOUND_KEYS: &[&str] = &[
    // The routing key template, e.g. hl7.{MSH-9.1}.{MSH-9.2} (default: empty).
    "routing_key",
    // Ask the broker to return a message no queue takes (default true).
    "mandatory",
    // delivery_mode 2, kept on disk by durable queues (default true).
    "persistent",
    // How long to wait for the broker's confirm of a publish (default 30s).
    "confirm_timeout",
    // Headers added to every message.
    "headers",
    // What returned, nacked and timeout do: complete, retry, suspend or error.
    "reply_actions",
];

/// Whether the item creates what it uses or only checks that it is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclareMode {
    Declare,
    Passive,
}

/// What an item does after the broker refused a declaration (406, or 404 when passive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDeclareFailure {
    /// Try again at the reconnect cap, so a fix on the broker side is picked up.
    Retry,
    /// Stay in trouble until the production is changed and restarted.
    Stop,
}

/// The wait between attempts, doubling from `initial` to `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) initial: Duration,
    pub(crate) cap: Duration,
}

/// How to reach the broker.
#[derive(Clone)]
pub(crate) struct ConnectionConfig {
    pub(crate) uri: AMQPUri,
    /// The URL without its password, for messages.
    pub(crate) shown: String,
    pub(crate) name: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect: Backoff,
    pub(crate) declare: DeclareMode,
    pub(crate) on_declare_failure: OnDeclareFailure,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("url", &self.shown)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An exchange to declare or check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExchangeSpec {
    pub(crate) name: String,
    pub(crate) kind: ExchangeKind,
    pub(crate) durable: bool,
}

/// The queue a service consumes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueueSpec {
    pub(crate) name: String,
    pub(crate) durable: bool,
    pub(crate) exclusive: bool,
    pub(crate) auto_delete: bool,
    pub(crate) arguments: QueueArguments,
}

/// The checked settings of `service: amqp`.
#[derive(Debug, Clone)]
pub(crate) struct InboundConfig {
    pub(crate) connection: ConnectionConfig,
    pub(crate) queue: QueueSpec,
    /// The exchange and the routing keys binding the queue to it.
    pub(crate) binding: Option<(ExchangeSpec, Vec<String>)>,
    pub(crate) prefetch: u16,
    pub(crate) default_kind: ContentKind,
    pub(crate) charset: CharsetChoice,
}

/// The checked settings of `operation: amqp`.
#[derive(Debug, Clone)]
pub(crate) struct OutboundConfig {
    pub(crate) connection: ConnectionConfig,
    /// `None` for the default exchange (`exchange: ''`), which is never declared.
    pub(crate) exchange: Option<ExchangeSpec>,
    pub(crate) routing_key: Template,
    pub(crate) mandatory: bool,
    pub(crate) persistent: bool,
    pub(crate) confirm_timeout: Duration,
    pub(crate) headers: FieldTable,
    pub(crate) reply_actions: ReplyActions,
}

/// The `reconnect` mapping as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconnectWritten {
    initial: Option<DurationSetting>,
    cap: Option<DurationSetting>,
}

const DEFAULT_PREFETCH: u16 = 50;

/// Reads and checks an AMQP service's settings.
pub(crate) fn inbound(item: &Item) -> Result<InboundConfig, ferry_production::Diagnostics> {
    let keys: Vec<&str> = CONNECTION_KEYS
        .iter()
        .chain(INBOUND_KEYS)
        .copied()
        .collect();
    let mut reader = item.settings_reader(&keys);
    let connection = connection(&mut reader);
    let exchange = exchange(&mut reader, false);
    let queue = reader.required::<Setting<String>>("queue");
    let durable = reader.optional::<bool>("durable").unwrap_or(true);
    let exclusive = reader.optional::<bool>("exclusive").unwrap_or(false);
    let auto_delete = reader.optional::<bool>("auto_delete").unwrap_or(false);
    let arguments = reader.optional::<BTreeMap<String, Setting<Written>>>("arguments");
    let routing_keys = reader.optional::<Setting<Vec<String>>>("routing_keys");
    let prefetch = reader.optional::<Setting<u32>>("prefetch");
    let content_type = reader.optional::<Setting<String>>("content_type");
    let charset = reader.optional::<Setting<String>>("charset");
    let force_charset = reader.optional::<bool>("force_charset").unwrap_or(false);

    let arguments = QueueArguments::read(&mut reader, arguments);
    let queue = queue.and_then(|queue| named(&mut reader, queue, "queue"));
    let binding = binding(&mut reader, exchange, routing_keys, queue.as_deref());
    let prefetch = prefetch_of(&mut reader, prefetch.as_ref());
    let default_kind = kind_setting(&mut reader, content_type.as_ref());
    let charset = charset_choice(&mut reader, charset.as_ref(), force_charset);

    let config = connection
        .zip(queue)
        .map(|(connection, name)| InboundConfig {
            connection,
            queue: QueueSpec {
                name,
                durable,
                exclusive,
                auto_delete,
                arguments,
            },
            binding,
            prefetch,
            default_kind,
            charset,
        });
    reader.finish(config)
}

/// Reads and checks an AMQP operation's settings.
pub(crate) fn outbound(item: &Item) -> Result<OutboundConfig, ferry_production::Diagnostics> {
    let keys: Vec<&str> = CONNECTION_KEYS
        .iter()
        .chain(OUTBOUND_KEYS)
        .copied()
        .collect();
    let mut reader = item.settings_reader(&keys);
    let connection = connection(&mut reader);
    let exchange = exchange(&mut reader, true);
    let routing_key = reader.optional::<Setting<String>>("routing_key");
    let mandatory = reader.optional::<bool>("mandatory").unwrap_or(true);
    let persistent = reader.optional::<bool>("persistent").unwrap_or(true);
    let confirm_timeout = reader.optional::<DurationSetting>("confirm_timeout");
    let headers = reader.optional::<BTreeMap<String, Setting<Written>>>("headers");
    let reply_actions = reader.optional("reply_actions");

    let routing_key = template_of(&mut reader, routing_key);
    let confirm_timeout = positive_duration(&mut reader, confirm_timeout, Duration::from_secs(30));
    let headers = headers_of(headers);
    let reply_actions = ReplyActions::read(&mut reader, reply_actions, &REPLY_ACTIONS);
    let exchange = exchange.map(|exchange| exchange.filter(|spec| !spec.name.is_empty()));

    let config =
        connection
            .zip(exchange)
            .zip(routing_key)
            .map(|((connection, exchange), routing_key)| OutboundConfig {
                connection,
                exchange,
                routing_key,
                mandatory,
                persistent,
                confirm_timeout,
                headers,
                reply_actions,
            });
    reader.finish(config)
}

/// Reads the settings of [`CONNECTION_KEYS`] but the exchange ones.
fn connection(reader: &mut SettingsReader<'_>) -> Option<ConnectionConfig> {
    let url = reader.required::<Setting<String>>("url");
    let name = reader.optional::<String>("connection_name");
    let heartbeat = reader.optional::<DurationSetting>("heartbeat");
    let connect_timeout = reader.optional::<DurationSetting>("connect_timeout");
    let reconnect = reader.optional::<Setting<ReconnectWritten>>("reconnect");
    let declare = reader.optional::<Setting<String>>("declare");
    let on_failure = reader.optional::<Setting<String>>("on_declare_failure");

    let heartbeat = heartbeat_of(reader, heartbeat);
    let connect_timeout = positive_duration(reader, connect_timeout, Duration::from_secs(10));
    let reconnect = reconnect_of(reader, reconnect);
    let declares = [
        ("declare", DeclareMode::Declare),
        ("passive", DeclareMode::Passive),
    ];
    let declare = choice(reader, declare.as_ref(), "declare", &declares);
    let on_failures = [
        ("retry", OnDeclareFailure::Retry),
        ("stop", OnDeclareFailure::Stop),
    ];
    let on_failure = choice(
        reader,
        on_failure.as_ref(),
        "on_declare_failure",
        &on_failures,
    );
    let name = name.unwrap_or_else(|| format!("ferry {}", reader.item().name));
    let (mut uri, shown) = uri_of(reader, url?)?;

    uri.query.heartbeat = Some(heartbeat);
    uri.query.connection_timeout = u64::try_from(connect_timeout.as_millis()).ok();
    Some(ConnectionConfig {
        uri,
        shown,
        name,
        connect_timeout,
        reconnect,
        declare: declare.unwrap_or(DeclareMode::Declare),
        on_declare_failure: on_failure.unwrap_or(OnDeclareFailure::Retry),
    })
}

/// The URL, parsed, and its text without the password.
fn uri_of(reader: &mut SettingsReader<'_>, url: Setting<String>) -> Option<(AMQPUri, String)> {
    let parsed = url::Url::parse(&url.value);
    let shown = match &parsed {
        Ok(parsed) => {
            let mut shown = parsed.clone();
            if parsed.password().is_some() {
                let _ = shown.set_password(Some("***"));
            }
            shown.to_string()
        }
        Err(_) => "(unreadable URL)".to_owned(),
    };
    let refuse = |reader: &mut SettingsReader<'_>, why: String| {
        let hint = "e.g. amqp://user:password@host:5672/%2f, or ${FERRY_AMQP_URL}";
        setting_problem(
            reader,
            url.at,
            format!("bad AMQP url {shown}: {why}"),
            Some(hint),
        );
        None
    };
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return refuse(reader, error.to_string()),
    };
    if !matches!(parsed.scheme(), "amqp" | "amqps") {
        return refuse(reader, "the scheme must be amqp or amqps".to_owned());
    }
    let Some(host) = parsed.host_str().filter(|host| !host.is_empty()) else {
        return refuse(reader, "it names no host".to_owned());
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut uri = match AMQPUri::from_str(&url.value) {
        Ok(uri) => uri,
        Err(error) => return refuse(reader, error),
    };
    // lapin's parser keeps only domain names and falls back to "localhost" for an IP
    // address, which may resolve elsewhere (::1); the host as written is what was meant.
    uri.authority.host = host;
    Some((uri, shown))
}

/// Reads `exchange`, `exchange_type` and `exchange_durable`. The outer `None` means the
/// settings could not be read; `Some(None)` that no exchange is written.
fn exchange(reader: &mut SettingsReader<'_>, required: bool) -> Option<Option<ExchangeSpec>> {
    let name = if required {
        reader.required::<Setting<String>>("exchange").map(Some)
    } else if reader.failed("exchange") {
        None
    } else {
        Some(reader.optional::<Setting<String>>("exchange"))
    };
    let kind = reader.optional::<Setting<String>>("exchange_type");
    let durable = reader.optional::<bool>("exchange_durable").unwrap_or(true);

    let kind = kind.map_or(ExchangeKind::Direct, |kind| match kind.value.as_str() {
        "direct" => ExchangeKind::Direct,
        "fanout" => ExchangeKind::Fanout,
        "topic" => ExchangeKind::Topic,
        "headers" => ExchangeKind::Headers,
        other if other.starts_with("x-") => ExchangeKind::Custom(other.to_owned()),
        other => {
            let message = format!("unknown exchange_type '{other}'");
            let hint = "direct, fanout, topic, headers, or a plugin's x-… type";
            setting_problem(reader, kind.at, message, Some(hint));
            ExchangeKind::Direct
        }
    });
    let name = name?;
    if !required && name.as_ref().is_some_and(|name| name.value.is_empty()) {
        let at = name
            .as_ref()
            .map_or(reader.item().settings_location(), |n| n.at);
        let message = "a service binds its queue to a named exchange; leave `exchange` out \
                       to consume without declaring a binding";
        setting_problem(reader, at, message, None);
    }
    Some(name.map(|name| ExchangeSpec {
        name: name.value,
        kind,
        durable,
    }))
}

fn binding(
    reader: &mut SettingsReader<'_>,
    exchange: Option<Option<ExchangeSpec>>,
    routing_keys: Option<Setting<Vec<String>>>,
    queue: Option<&str>,
) -> Option<(ExchangeSpec, Vec<String>)> {
    let Some(exchange) = exchange.flatten() else {
        if let Some(keys) = routing_keys {
            let message = "`routing_keys` bind the queue to `exchange`, which is not set";
            setting_problem(reader, keys.at, message, None);
        }
        return None;
    };
    let keys = match routing_keys {
        Some(keys) => keys.value,
        None => vec![queue.unwrap_or_default().to_owned()],
    };
    Some((exchange, keys))
}

/// A queue or exchange name: at most 255 bytes, as AMQP's short strings are.
fn named(reader: &mut SettingsReader<'_>, name: Setting<String>, what: &str) -> Option<String> {
    if name.value.is_empty() || name.value.len() > 255 {
        let message = format!("`{what}` must be a name of 1 to 255 bytes");
        setting_problem(reader, name.at, message, None);
        return None;
    }
    Some(name.value)
}

/// The heartbeat in whole seconds, as AMQP negotiates it.
fn heartbeat_of(reader: &mut SettingsReader<'_>, setting: Option<DurationSetting>) -> u16 {
    let Some(setting) = setting else {
        return 30;
    };
    let seconds = setting.value.as_secs();
    if setting.value.subsec_millis() != 0 || seconds > u64::from(u16::MAX) {
        let message = "the heartbeat is whole seconds, at most 65535s (0s turns it off)";
        setting_problem(reader, setting.at, message, None);
        return 30;
    }
    u16::try_from(seconds).unwrap_or(30)
}

fn reconnect_of(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<ReconnectWritten>>,
) -> Backoff {
    let default = Backoff {
        initial: Duration::from_secs(1),
        cap: Duration::from_secs(30),
    };
    let Some(setting) = setting else {
        return default;
    };
    let initial = positive_duration(reader, setting.value.initial, default.initial);
    let cap = positive_duration(reader, setting.value.cap, default.cap.max(initial));
    if cap < initial {
        let message = "`reconnect.cap` must be at least `reconnect.initial`";
        setting_problem(reader, setting.at, message, None);
    }
    Backoff {
        initial,
        cap: cap.max(initial),
    }
}

fn prefetch_of(reader: &mut SettingsReader<'_>, setting: Option<&Setting<u32>>) -> u16 {
    match setting {
        None => DEFAULT_PREFETCH,
        Some(count) => match u16::try_from(count.value) {
            Ok(prefetch) if prefetch > 0 => prefetch,
            _ => {
                let message = "prefetch must be from 1 to 65535";
                setting_problem(reader, count.at, message, None);
                DEFAULT_PREFETCH
            }
        },
    }
}

fn kind_setting(reader: &mut SettingsReader<'_>, setting: Option<&Setting<String>>) -> ContentKind {
    let Some(setting) = setting else {
        return ContentKind::Hl7v2;
    };
    crate::content::kind_of(&setting.value).unwrap_or_else(|| {
        let message = format!("unknown content_type '{}'", setting.value);
        let hint = "hl7v2, xml, json, text, binary, or a MIME type such as application/json";
        setting_problem(reader, setting.at, message, Some(hint));
        ContentKind::Hl7v2
    })
}

fn template_of(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<String>>,
) -> Option<Template> {
    if reader.failed("routing_key") {
        return None;
    }
    let Some(setting) = setting else {
        return Template::parse("").ok();
    };
    match Template::parse(&setting.value) {
        Ok(template) => Some(template),
        Err(error) => {
            let message = format!("bad routing_key template '{}': {error}", setting.value);
            let hint = "e.g. hl7.{MSH-9.1}.{MSH-9.2}; placeholders: HL7 fields, {doctype}, {id}, \
                        {session}, {source}";
            setting_problem(reader, setting.at, message, Some(hint));
            None
        }
    }
}

fn headers_of(written: Option<BTreeMap<String, Setting<Written>>>) -> FieldTable {
    let mut table = FieldTable::default();
    for (name, value) in written.unwrap_or_default() {
        let value = match value.value {
            Written::Bool(value) => AMQPValue::Boolean(value),
            Written::Int(value) => AMQPValue::LongLongInt(value),
            Written::Float(value) => AMQPValue::Double(value),
            Written::Text(value) => AMQPValue::LongString(LongString::from(value.as_str())),
        };
        table.insert(ShortString::from(name.as_str()), value);
    }
    table
}

#[cfg(test)]
mod tests {
    use ferry_production::{Source, parse};

    use super::*;

    fn item_settings(kind: &str, settings: &str) -> Result<String, String> {
        let role = if kind == "in" { "service" } else { "operation" };
        let targets = if kind == "in" {
            "    targets: [X]\n"
        } else {
            ""
        };
        let text = format!(
            "production: p\nitems:\n  - name: A\n    {role}: amqp\n{targets}    settings:\n\
             {settings}  - name: X\n    operation: file\n    settings: {{ path: ./x }}\n"
        );
        let loaded = parse(Source::new("p.yaml", text), &|_| None);
        let production = loaded.production.expect("loads");
        let item = production
            .items
            .iter()
            .chain(&production.rejected)
            .find(|item| item.name.as_str() == "A")
            .expect("item A");
        if kind == "in" {
            inbound(item)
                .map(|config| format!("{config:?}"))
                .map_err(|e| e.to_string())
        } else {
            outbound(item)
                .map(|config| format!("{config:?}"))
                .map_err(|e| e.to_string())
        }
    }

    #[test]
    fn a_quoted_number_for_an_integer_argument_is_a_load_error() {
        let settings = "      url: amqp://guest:guest@127.0.0.1:5672/%2f\n      queue: t.in\n      \
                        arguments:\n        x-max-length: '100'\n        x-custom: '7'\n";
        let error = item_settings("in", settings).unwrap_err();
        assert!(
            error.starts_with("p.yaml:10:23: `x-max-length` must be an integer"),
            "{error}"
        );
        assert!(!error.contains("x-custom"), "{error}");
    }

    #[test]
    fn the_password_never_shows() {
        let settings = "      url: http://user:secret@127.0.0.1/\n      queue: q\n";
        let error = item_settings("in", settings).unwrap_err();
        assert!(
            error.contains("the scheme must be amqp or amqps"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
        let ok = "      url: amqp://user:secret@127.0.0.1:5672/%2f\n      queue: q\n";
        let config = item_settings("in", ok).unwrap();
        assert!(!config.contains("secret"), "{config}");
    }

    #[test]
    fn operation_settings_are_checked_together() {
        let settings = "      url: amqp://127.0.0.1\n      exchange: t.out\n      \
                        exchange_type: topical\n      routing_key: 'hl7.{MSH-9.1'\n      \
                        reply_actions: { returned: resend }\n";
        let error = item_settings("out", settings).unwrap_err();
        assert_eq!(
            error.lines().filter(|l| l.starts_with("p.yaml")).count(),
            3,
            "{error}"
        );
    }

    #[test]
    fn defaults_are_filled_in() {
        let settings = "      url: amqp://127.0.0.1\n      exchange: ''\n";
        let config = item_settings("out", settings).unwrap();
        assert!(config.contains("exchange: None"), "{config}");
        assert!(config.contains("confirm_timeout: 30s"), "{config}");
    }
}
