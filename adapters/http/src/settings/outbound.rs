//! The settings of `operation: http`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use ferry_adapter::{
    choice, positive_duration, positive_size, require_secret_variable, setting_problem,
    tls_identity,
};
use ferry_production::{Diagnostics, DurationSetting, Item, Setting, SettingsReader, SizeSetting};
use serde::Deserialize;

use super::{SIZE_LIMIT, header_name_of};
use crate::status_actions::StatusActions;
use crate::template::UrlTemplate;

const OUTBOUND_KEYS: &[&str] = &[
    // The URL, with placeholders from the message in its path and query.
    "url",
    // POST (default), PUT, PATCH, DELETE or GET.
    "method",
    // Headers sent with every request, as written.
    "headers",
    // Headers whose values come from environment variables (secrets), by variable name.
    "headers_env",
    // The Content-Type sent (default: from the body's kind and charset).
    "content_type",
    // How long connecting (TCP and TLS) may take (default 10s).
    "connect_timeout",
    // How long the whole exchange may take once connected (default 30s).
    "timeout",
    // ca, certificate and key (PEM), verify (default true).
    "tls",
    // The header carrying the message id on every attempt (default Idempotency-Key).
    "idempotency_header",
    // What each status or class does: complete, retry, suspend, error.
    "status_actions",
    // retry (default) or suspend, after a timeout once the request was sent.
    "on_ambiguous_timeout",
    // The largest response body kept (default 16MiB).
    "max_response",
];

/// What to do after a timeout once the request was on its way: the server may have
/// acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmbiguousTimeout {
    /// Send again; the idempotency header lets the server drop the duplicate.
    Retry,
    /// Hold the message for a person, for servers that cannot deduplicate.
    Suspend,
}

/// TLS options of the connecting side.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientTls {
    /// Trust only this authority instead of the system's roots.
    pub(crate) ca: Option<PathBuf>,
    /// Our own certificate and key, for servers that ask for one.
    pub(crate) identity: Option<(PathBuf, PathBuf)>,
    /// False only when a production says so explicitly.
    pub(crate) verify: bool,
}

/// The checked settings of `operation: http`.
#[derive(Debug, Clone)]
pub(crate) struct OutboundConfig {
    pub(crate) url: UrlTemplate,
    pub(crate) method: Method,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) headers_env: Vec<(HeaderName, String)>,
    pub(crate) content_type: Option<HeaderValue>,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) tls: ClientTls,
    pub(crate) idempotency_header: HeaderName,
    pub(crate) status_actions: StatusActions,
    pub(crate) on_ambiguous_timeout: AmbiguousTimeout,
    pub(crate) max_response: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsWritten {
    ca: Option<String>,
    certificate: Option<String>,
    key: Option<String>,
    verify: Option<bool>,
}

const METHODS: [Method; 5] = [
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::GET,
];

/// Reads and checks an HTTP operation's settings.
pub(crate) fn outbound(item: &Item) -> Result<OutboundConfig, Diagnostics> {
    let mut reader = item.settings_reader(OUTBOUND_KEYS);
    let url = reader.required::<Setting<String>>("url");
    let method = reader.optional::<Setting<String>>("method");
    let headers = reader.optional::<Setting<BTreeMap<String, String>>>("headers");
    let headers_env = reader.optional::<Setting<BTreeMap<String, String>>>("headers_env");
    let content_type = reader.optional::<Setting<String>>("content_type");
    let connect_timeout = reader.optional::<DurationSetting>("connect_timeout");
    let timeout = reader.optional::<DurationSetting>("timeout");
    // A timeout of 0 would fail every attempt before it began.
    let connect_timeout = positive_duration(&mut reader, connect_timeout, Duration::from_secs(10));
    let timeout = positive_duration(&mut reader, timeout, Duration::from_secs(30));
    let tls = reader.optional::<Setting<TlsWritten>>("tls");
    let idempotency_header = reader.optional::<Setting<String>>("idempotency_header");
    let status_actions = reader.optional("status_actions");
    let on_ambiguous_timeout = reader.optional::<Setting<String>>("on_ambiguous_timeout");
    let max_response = reader.optional::<SizeSetting>("max_response");

    let url = url.and_then(|url| match UrlTemplate::parse(&url.value) {
        Ok(template) => Some(template),
        Err(error) => {
            setting_problem(&mut reader, url.at, format!("bad `url`: {error}"), None);
            None
        }
    });
    let method = method_of(&mut reader, method);
    let headers = header_values(&mut reader, headers);
    let headers_env = header_names(&mut reader, headers_env);
    let content_type = content_type.and_then(|setting| {
        let value = HeaderValue::from_str(&setting.value).ok();
        if value.is_none() {
            let message = "`content_type` is not a valid header value";
            setting_problem(&mut reader, setting.at, message, None);
        }
        value
    });
    let tls = tls
        .map(|tls| client_tls(&mut reader, tls))
        .unwrap_or(ClientTls {
            verify: true,
            ..ClientTls::default()
        });
    let idempotency_header = header_name_of(&mut reader, idempotency_header);
    let status_actions = StatusActions::read(&mut reader, status_actions);
    let on_ambiguous_timeout = ambiguous_of(&mut reader, on_ambiguous_timeout);
    let max_response = positive_size(&mut reader, max_response, 16 << 20, SIZE_LIMIT);

    let config = url.map(|url| OutboundConfig {
        url,
        method,
        headers,
        headers_env,
        content_type,
        connect_timeout,
        timeout,
        tls,
        idempotency_header,
        status_actions,
        on_ambiguous_timeout,
        max_response,
    });
    reader.finish(config)
}

fn method_of(reader: &mut SettingsReader<'_>, setting: Option<Setting<String>>) -> Method {
    let Some(setting) = setting else {
        return Method::POST;
    };
    let found = METHODS
        .iter()
        .find(|method| method.as_str().eq_ignore_ascii_case(&setting.value));
    match found {
        Some(method) => method.clone(),
        None => {
            let message = format!("unknown method '{}'", setting.value);
            let hint = "POST, PUT, PATCH, DELETE or GET";
            setting_problem(reader, setting.at, message, Some(hint));
            Method::POST
        }
    }
}

fn header_values(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<BTreeMap<String, String>>>,
) -> Vec<(HeaderName, HeaderValue)> {
    let Some(setting) = setting else {
        return Vec::new();
    };
    let mut headers = Vec::new();
    for (name, value) in setting.value {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), _) if is_framing(&name) => framing_problem(reader, setting.at, &name),
            (Ok(name), Ok(value)) => headers.push((name, value)),
            _ => {
                let message = format!("header `{name}` has an invalid name or value");
                setting_problem(reader, setting.at, message, None);
            }
        }
    }
    headers
}

/// Headers the client sets from the URL and the body: set by hand they would send the
/// request to another virtual host or frame the body wrongly.
fn is_framing(name: &HeaderName) -> bool {
    use axum::http::header;
    [
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
        header::TE,
    ]
    .contains(name)
}

fn framing_problem(
    reader: &mut SettingsReader<'_>,
    at: ferry_production::Location,
    name: &HeaderName,
) {
    let message = format!("header `{name}` is set by Ferry from the URL and the body");
    setting_problem(reader, at, message, None);
}

fn header_names(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<BTreeMap<String, String>>>,
) -> Vec<(HeaderName, String)> {
    let Some(setting) = setting else {
        return Vec::new();
    };
    let mut headers = Vec::new();
    for (name, variable) in setting.value {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(header) if is_framing(&header) => framing_problem(reader, setting.at, &header),
            Ok(header) if !variable.trim().is_empty() => {
                let holds = format!("the value of header `{header}`");
                require_secret_variable(reader, setting.at, &variable, &holds);
                headers.push((header, variable));
            }
            _ => {
                let message = format!(
                    "`headers_env` maps a header name to an environment variable name; \
                     `{name}: {variable}` is not one"
                );
                setting_problem(reader, setting.at, message, None);
            }
        }
    }
    headers
}

fn client_tls(reader: &mut SettingsReader<'_>, tls: Setting<TlsWritten>) -> ClientTls {
    let written = tls.value;
    let identity = tls_identity(reader, tls.at, written.certificate, written.key);
    ClientTls {
        ca: written.ca.map(PathBuf::from),
        identity,
        verify: written.verify.unwrap_or(true),
    }
}

fn ambiguous_of(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<String>>,
) -> AmbiguousTimeout {
    let choices = [
        ("retry", AmbiguousTimeout::Retry),
        ("suspend", AmbiguousTimeout::Suspend),
    ];
    choice(reader, setting.as_ref(), "on_ambiguous_timeout", &choices)
        .unwrap_or(AmbiguousTimeout::Retry)
}
