//! The MLLP adapter's settings, as a production writes them, and their checks.
//!
//! Every setting is read on its own, so one `ferry validate` run reports every problem
//! of an item. Certificate files are only named here; they are read when the item starts
//! (building an adapter does no I/O).

use std::path::PathBuf;
use std::time::Duration;

use ferry_adapter::{
    CharsetChoice, DuplicatePolicy, InvalidText, ItemReference, ServerTlsFiles, charset_choice,
    connection_limit, duplicate_policy, duration_or, invalid_text, positive_size, setting_problem,
    tls_identity,
};
use ferry_hl7::AckCode;
use ferry_message::ItemName;
use ferry_production::{
    AddressSetting, Diagnostics, DurationSetting, Item, Setting, SettingsReader, SizeSetting,
};
use serde::Deserialize;

use crate::reply_actions::{REPLY_ACTIONS, ReplyActions};

/// The settings of `service: mllp`.
const INBOUND_KEYS: &[&str] = &[
    // The address to listen on, e.g. 127.0.0.1:2575 (port 0 picks a free port).
    "listen",
    // immediate (default), application, never or msh.
    "ack_mode",
    // The operation whose reply is the ACK in application and msh modes.
    "response_from",
    // How long to wait for that reply before a NAK (default 30s).
    "response_timeout",
    // ack_mode msh: the operation that carries enhanced-mode application ACKs back.
    "application_ack_to",
    // The code of a NAK for content errors: AE (default) or AR.
    "nak_code",
    // MSH-3 and MSH-4 of generated ACKs (default: the inbound MSH-5 and MSH-6).
    "local_application",
    "local_facility",
    // The largest message accepted (default 64MiB); a larger one gets an AR.
    "max_message",
    // How many connections at once (default 256); more wait in the listen backlog.
    "max_connections",
    // Close a connection that sends nothing for this long (default 10m).
    "idle_timeout",
    // The charset of messages whose MSH-18 is empty (default UTF-8).
    "charset",
    // Use `charset` even when MSH-18 names another.
    "force_charset",
    // reject (default: NAK, stored with status Error) or replace (replacement characters
    // and a warning) for bytes invalid in the message's charset.
    "invalid_charset",
    // Split FHS/BHS batches into messages (default true), or keep a batch as one body.
    "split_batches",
    // flag (default), discard or off: what to do with a message received before.
    "duplicates",
    // certificate, key and optionally client_ca (mutual TLS) files, in PEM.
    "tls",
];

/// The settings of `operation: mllp`.
const OUTBOUND_KEYS: &[&str] = &[
    // The receiver's address, host:port.
    "address",
    // How long a connection attempt may take (default 10s).
    "connect_timeout",
    // How long to wait for the ACK of a sent message (default 30s).
    "response_timeout",
    // What each reply kind does: AA, AE, AR, CA, CE, CR, timeout, invalid.
    "reply_actions",
    // The largest reply read (default 16MiB).
    "max_message",
    // ca (the receiver's certificate authority), optionally certificate and key (mutual
    // TLS) and server_name, in PEM.
    "tls",
];

/// When the inbound service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckMode {
    /// An ACK as soon as the message is durable.
    Immediate,
    /// The reply of the `response_from` operation.
    Application,
    /// No reply at all.
    Never,
    /// MSH-15 and MSH-16 of each message decide.
    Msh,
}

/// Certificate files of the connecting side.
#[derive(Debug, Clone)]
pub(crate) struct ClientTlsFiles {
    pub(crate) ca: PathBuf,
    /// Our own certificate and key, for receivers that ask for one.
    pub(crate) identity: Option<(PathBuf, PathBuf)>,
    pub(crate) server_name: String,
}

/// The checked settings of `service: mllp`.
#[derive(Debug, Clone)]
pub(crate) struct InboundConfig {
    pub(crate) listen: String,
    pub(crate) ack_mode: AckMode,
    pub(crate) response_from: Option<ItemName>,
    pub(crate) response_timeout: Duration,
    pub(crate) application_ack_to: Option<ItemName>,
    /// `response_from` and `application_ack_to`, for the production-wide check.
    pub(crate) references: Vec<ItemReference>,
    pub(crate) nak_code: AckCode,
    pub(crate) local_application: Option<String>,
    pub(crate) local_facility: Option<String>,
    pub(crate) max_message: usize,
    pub(crate) max_connections: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) charset: CharsetChoice,
    pub(crate) invalid_charset: InvalidText,
    pub(crate) split_batches: bool,
    pub(crate) duplicates: DuplicatePolicy,
    pub(crate) tls: Option<ServerTlsFiles>,
}

/// The checked settings of `operation: mllp`.
#[derive(Debug, Clone)]
pub(crate) struct OutboundConfig {
    pub(crate) address: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) reply_actions: ReplyActions,
    pub(crate) max_message: usize,
    pub(crate) tls: Option<ClientTlsFiles>,
}

/// The `tls` mapping as written; which keys a side needs is checked after reading.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsWritten {
    certificate: Option<Setting<String>>,
    key: Option<Setting<String>>,
    client_ca: Option<Setting<String>>,
    ca: Option<Setting<String>>,
    server_name: Option<String>,
}

const DEFAULT_MAX_MESSAGE: usize = 64 << 20;
const DEFAULT_MAX_REPLY: usize = 16 << 20;

/// Reads and checks an MLLP service's settings.
pub(crate) fn inbound(item: &Item) -> Result<InboundConfig, Diagnostics> {
    let mut reader = item.settings_reader(INBOUND_KEYS);
    let listen = reader.required::<AddressSetting>("listen");
    let ack_mode = reader.optional::<Setting<String>>("ack_mode");
    let response_from = reader.optional::<Setting<String>>("response_from");
    let response_timeout = reader.optional::<DurationSetting>("response_timeout");
    let application_ack_to = reader.optional::<Setting<String>>("application_ack_to");
    let nak_code = reader.optional::<Setting<String>>("nak_code");
    let local_application = reader.optional::<String>("local_application");
    let local_facility = reader.optional::<String>("local_facility");
    let max_message = reader.optional::<SizeSetting>("max_message");
    let max_connections = reader.optional::<Setting<u32>>("max_connections");
    let idle_timeout = reader.optional::<DurationSetting>("idle_timeout");
    let charset = reader.optional::<Setting<String>>("charset");
    let force_charset = reader.optional::<bool>("force_charset").unwrap_or(false);
    let invalid_charset = reader.optional::<Setting<String>>("invalid_charset");
    let split_batches = reader.optional::<bool>("split_batches").unwrap_or(true);
    let duplicates = reader.optional::<Setting<String>>("duplicates");
    let tls = reader.optional::<Setting<TlsWritten>>("tls");

    let duplicates = duplicate_policy(&mut reader, duplicates.as_ref());
    let ack_mode = ack_mode_of(&mut reader, ack_mode.as_ref());
    let references = [
        (&response_from, "response_from", true),
        (&application_ack_to, "application_ack_to", false),
    ]
    .into_iter()
    .filter_map(|(setting, name, downstream)| {
        setting.as_ref().map(|setting| ItemReference {
            name: ItemName::from(setting.value.as_str()),
            setting: name,
            at: setting.at,
            downstream,
        })
    })
    .collect();
    let response_from = response_from_of(&mut reader, ack_mode, response_from);
    let application_ack_to = application_ack_to_of(
        &mut reader,
        ack_mode,
        response_from.is_some(),
        application_ack_to,
    );
    let nak_code = nak_code_of(&mut reader, nak_code.as_ref());
    let max_message = positive_size(&mut reader, max_message, DEFAULT_MAX_MESSAGE, "max_message");
    let max_connections = connection_limit(&mut reader, max_connections.as_ref());
    let charset = charset_choice(&mut reader, charset.as_ref(), force_charset);
    let invalid_charset = invalid_text(&mut reader, invalid_charset.as_ref());
    let tls = tls.map(|tls| server_tls(&mut reader, tls));

    let config = listen.map(|listen| InboundConfig {
        listen: listen.text,
        ack_mode,
        response_from,
        response_timeout: duration_or(response_timeout.as_ref(), Duration::from_secs(30)),
        application_ack_to,
        references,
        nak_code,
        local_application,
        local_facility,
        max_message,
        max_connections,
        idle_timeout: duration_or(idle_timeout.as_ref(), Duration::from_secs(600)),
        charset,
        invalid_charset,
        split_batches,
        duplicates,
        tls: tls.flatten(),
    });
    reader.finish(config)
}

/// Reads and checks an MLLP operation's settings.
pub(crate) fn outbound(item: &Item) -> Result<OutboundConfig, Diagnostics> {
    let mut reader = item.settings_reader(OUTBOUND_KEYS);
    let address = reader.required::<AddressSetting>("address");
    let connect_timeout = reader.optional::<DurationSetting>("connect_timeout");
    let response_timeout = reader.optional::<DurationSetting>("response_timeout");
    let reply_actions = reader.optional("reply_actions");
    let max_message = reader.optional::<SizeSetting>("max_message");
    let tls = reader.optional::<Setting<TlsWritten>>("tls");

    let reply_actions = ReplyActions::read(&mut reader, reply_actions, &REPLY_ACTIONS);
    let max_message = positive_size(&mut reader, max_message, DEFAULT_MAX_REPLY, "max_message");
    let host = address.as_ref().map(|address| address.host.clone());
    let tls = tls.map(|tls| client_tls(&mut reader, tls, host.as_deref().unwrap_or("")));

    let config = address.map(|address| OutboundConfig {
        address: address.text,
        connect_timeout: duration_or(connect_timeout.as_ref(), Duration::from_secs(10)),
        response_timeout: duration_or(response_timeout.as_ref(), Duration::from_secs(30)),
        reply_actions,
        max_message,
        tls: tls.flatten(),
    });
    reader.finish(config)
}

fn ack_mode_of(reader: &mut SettingsReader<'_>, setting: Option<&Setting<String>>) -> AckMode {
    let Some(setting) = setting else {
        return AckMode::Immediate;
    };
    match setting.value.as_str() {
        "immediate" => AckMode::Immediate,
        "application" => AckMode::Application,
        "never" => AckMode::Never,
        "msh" => AckMode::Msh,
        other => {
            let message = format!("unknown ack_mode '{other}'");
            let hint = "one of immediate, application, never, msh";
            setting_problem(reader, setting.at, message, Some(hint));
            AckMode::Immediate
        }
    }
}

fn response_from_of(
    reader: &mut SettingsReader<'_>,
    ack_mode: AckMode,
    setting: Option<Setting<String>>,
) -> Option<ItemName> {
    if ack_mode == AckMode::Application && setting.is_none() && !reader.failed("response_from") {
        let at = reader.item().settings_location();
        let message = "ack_mode application needs `response_from`: the operation whose reply \
                       is the ACK";
        setting_problem(reader, at, message, None);
    }
    if let Some(setting) = &setting
        && matches!(ack_mode, AckMode::Immediate | AckMode::Never)
    {
        let message = "`response_from` is only used with `ack_mode: application` or `msh`";
        setting_problem(reader, setting.at, message, None);
    }
    setting.map(|setting| ItemName::from(setting.value.as_str()))
}

fn application_ack_to_of(
    reader: &mut SettingsReader<'_>,
    ack_mode: AckMode,
    has_response_from: bool,
    setting: Option<Setting<String>>,
) -> Option<ItemName> {
    let setting = setting?;
    if ack_mode != AckMode::Msh {
        let message = "`application_ack_to` is only used with `ack_mode: msh`";
        setting_problem(reader, setting.at, message, None);
    } else if !has_response_from {
        let message = "`application_ack_to` needs `response_from`: the operation whose \
                       verdict the application ACK carries";
        setting_problem(reader, setting.at, message, None);
    }
    Some(ItemName::from(setting.value.as_str()))
}

fn nak_code_of(reader: &mut SettingsReader<'_>, setting: Option<&Setting<String>>) -> AckCode {
    let Some(setting) = setting else {
        return AckCode::AE;
    };
    match setting.value.as_str() {
        "AE" => AckCode::AE,
        "AR" => AckCode::AR,
        other => {
            let message = format!("nak_code must be AE or AR, not '{other}'");
            setting_problem(reader, setting.at, message, None);
            AckCode::AE
        }
    }
}

fn server_tls(reader: &mut SettingsReader<'_>, tls: Setting<TlsWritten>) -> Option<ServerTlsFiles> {
    let at = tls.at;
    let written = tls.value;
    for (name, setting) in [("ca", &written.ca)] {
        if let Some(setting) = setting {
            let message = format!("`tls.{name}` is for operations; a service uses `client_ca`");
            setting_problem(reader, setting.at, message, None);
        }
    }
    match (written.certificate, written.key) {
        (Some(certificate), Some(key)) => Some(ServerTlsFiles {
            certificate: PathBuf::from(certificate.value),
            key: PathBuf::from(key.value),
            client_ca: written.client_ca.map(|ca| PathBuf::from(ca.value)),
        }),
        _ => {
            let message = "a listening `tls` needs `certificate` and `key` (PEM files)";
            setting_problem(reader, at, message, None);
            None
        }
    }
}

fn client_tls(
    reader: &mut SettingsReader<'_>,
    tls: Setting<TlsWritten>,
    host: &str,
) -> Option<ClientTlsFiles> {
    let at = tls.at;
    let written = tls.value;
    if let Some(client_ca) = &written.client_ca {
        let message = "`tls.client_ca` is for services; an operation trusts `ca`";
        setting_problem(reader, client_ca.at, message, None);
    }
    let certificate = written.certificate.map(|setting| setting.value);
    let key = written.key.map(|setting| setting.value);
    let identity = tls_identity(reader, at, certificate, key);
    let Some(ca) = written.ca else {
        let message = "`tls` needs `ca`: the PEM file of the authority that signed the \
                       receiver's certificate";
        setting_problem(reader, at, message, None);
        return None;
    };
    Some(ClientTlsFiles {
        ca: PathBuf::from(ca.value),
        identity,
        server_name: written.server_name.unwrap_or_else(|| host.to_owned()),
    })
}
