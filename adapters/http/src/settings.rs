//! The HTTP adapter's settings, as a production writes them, and their checks.
//!
//! Every setting is read on its own, so one `ferry validate` run reports every problem of
//! an item. Secrets are never settings: the YAML names the environment variables that
//! hold them, and they are read when the item starts (building an adapter reads nothing).
//! Certificate files are only named here, and read when the item starts.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderName, Method};
use ferry_adapter::{
    CharsetChoice, DuplicatePolicy, InvalidText, ItemReference, ServerTlsFiles, charset_choice,
    connection_limit, duplicate_policy, duration_or, invalid_text, positive_duration,
    positive_size, require_secret_variable, setting_problem,
};
use ferry_message::{ContentKind, ItemName};
use ferry_production::{
    AddressSetting, Diagnostics, DurationSetting, Item, Setting, SettingsReader, SizeSetting,
};
use serde::Deserialize;

mod outbound;

pub(crate) use outbound::{AmbiguousTimeout, ClientTls, OutboundConfig, outbound};

/// The settings of `service: http`.
const INBOUND_KEYS: &[&str] = &[
    // The address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    "listen",
    // The path, or list of paths, that take messages (default /messages).
    "path",
    // The methods that take messages (default [POST]).
    "methods",
    // The kinds of body accepted: hl7v2, xml, json, text (default all four).
    "accept",
    // The charset of bodies whose Content-Type names none (default UTF-8).
    "charset",
    // reject (default) or replace, for bytes invalid in the body's charset.
    "invalid_charset",
    // flag (default), discard or off: what to do with a message received before.
    "duplicates",
    // The largest body, counted after decompression (default 16MiB).
    "max_body",
    // Whether `Content-Encoding: gzip` is accepted (default true).
    "gzip",
    // The longest silence while a request's head or body is read (default 30s).
    "read_timeout",
    // The longest time to read one request body, however it trickles (default 60s).
    "body_timeout",
    // The operation whose response is the answer (synchronous mode).
    "response_from",
    // How long to wait for that response before a 504 (default 30s).
    "response_timeout",
    // bearer_token_env, or basic_user and basic_password_env.
    "auth",
    // certificate, key and optionally client_ca (mutual TLS) files, in PEM.
    "tls",
    // How many connections at once (default 256); more wait in the listen backlog.
    "max_connections",
    // The Retry-After of a 503 when the queue limit is reached (default 5s).
    "retry_after",
    // The request header whose value identifies a delivery the sender may repeat
    // (default Idempotency-Key).
    "idempotency_header",
];

/// How the service answers a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    /// 202 with the message id once the message is durable.
    Accepted,
    /// The stored response of an operation, waiting at most `timeout`.
    From {
        operation: ItemName,
        timeout: Duration,
    },
}

/// Where the credentials of callers come from: names of environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthSettings {
    /// `Authorization: Bearer <token>`.
    Bearer { token_env: String },
    /// `Authorization: Basic <user:password>`.
    Basic { user: String, password_env: String },
}

/// The checked settings of `service: http`.
#[derive(Debug, Clone)]
pub(crate) struct InboundConfig {
    pub(crate) listen: String,
    pub(crate) paths: Vec<String>,
    pub(crate) methods: Vec<Method>,
    pub(crate) accept: Vec<ContentKind>,
    pub(crate) charset: CharsetChoice,
    pub(crate) invalid_charset: InvalidText,
    pub(crate) duplicates: DuplicatePolicy,
    pub(crate) max_body: usize,
    pub(crate) gzip: bool,
    pub(crate) read_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) response: ResponseMode,
    pub(crate) references: Vec<ItemReference>,
    pub(crate) auth: Option<AuthSettings>,
    pub(crate) tls: Option<ServerTlsFiles>,
    pub(crate) max_connections: usize,
    pub(crate) retry_after: Duration,
    pub(crate) idempotency_header: HeaderName,
}

/// One text or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// The `auth` mapping as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthWritten {
    bearer_token_env: Option<String>,
    basic_user: Option<String>,
    basic_password_env: Option<String>,
}

/// The `tls` mapping of a service as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerTlsWritten {
    certificate: String,
    key: String,
    client_ca: Option<String>,
}

const DEFAULT_MAX_BODY: usize = 16 << 20;
/// What a zero `max_body` or `max_response` is called in its problem.
pub(crate) const SIZE_LIMIT: &str = "a size limit";
const ACCEPTED_METHODS: [Method; 3] = [Method::POST, Method::PUT, Method::PATCH];
const DEFAULT_KINDS: [ContentKind; 4] = [
    ContentKind::Hl7v2,
    ContentKind::Xml,
    ContentKind::Json,
    ContentKind::Text,
];

/// Reads and checks an HTTP service's settings.
pub(crate) fn inbound(item: &Item) -> Result<InboundConfig, Diagnostics> {
    let mut reader = item.settings_reader(INBOUND_KEYS);
    let listen = reader.required::<AddressSetting>("listen");
    let path = reader.optional::<Setting<OneOrMany>>("path");
    let methods = reader.optional::<Setting<OneOrMany>>("methods");
    let accept = reader.optional::<Setting<OneOrMany>>("accept");
    let charset = reader.optional::<Setting<String>>("charset");
    let invalid_charset = reader.optional::<Setting<String>>("invalid_charset");
    let duplicates = reader.optional::<Setting<String>>("duplicates");
    let max_body = reader.optional::<SizeSetting>("max_body");
    let gzip = reader.optional::<bool>("gzip").unwrap_or(true);
    let read_timeout = reader.optional::<DurationSetting>("read_timeout");
    let body_timeout = reader.optional::<DurationSetting>("body_timeout");
    let response_from = reader.optional::<Setting<String>>("response_from");
    let response_timeout = reader.optional::<DurationSetting>("response_timeout");
    let auth = reader.optional::<Setting<AuthWritten>>("auth");
    let tls = reader.optional::<ServerTlsWritten>("tls");
    let max_connections = reader.optional::<Setting<u32>>("max_connections");
    let retry_after = reader.optional::<DurationSetting>("retry_after");
    let idempotency_header = reader.optional::<Setting<String>>("idempotency_header");

    let paths = paths_of(&mut reader, path);
    let methods = methods_of(&mut reader, methods);
    let accept = kinds_of(&mut reader, accept);
    let charset = charset_choice(&mut reader, charset.as_ref(), false);
    let invalid_charset = invalid_text(&mut reader, invalid_charset.as_ref());
    let duplicates = duplicate_policy(&mut reader, duplicates.as_ref());
    let max_body = positive_size(&mut reader, max_body, DEFAULT_MAX_BODY, SIZE_LIMIT);
    let references = response_from
        .iter()
        .map(|setting| ItemReference {
            name: ItemName::from(setting.value.as_str()),
            setting: "response_from",
            at: setting.at,
            downstream: true,
        })
        .collect();
    let response = match response_from {
        None => {
            if let Some(timeout) = &response_timeout {
                let message = "`response_timeout` is only used with `response_from`";
                setting_problem(&mut reader, timeout.at, message, None);
            }
            ResponseMode::Accepted
        }
        Some(operation) => ResponseMode::From {
            operation: ItemName::from(operation.value.as_str()),
            timeout: positive_duration(&mut reader, response_timeout, Duration::from_secs(30)),
        },
    };
    let auth = auth.and_then(|auth| auth_of(&mut reader, auth));
    let max_connections = connection_limit(&mut reader, max_connections.as_ref());
    let idempotency_header = header_name_of(&mut reader, idempotency_header);
    let body_timeout = positive_duration(&mut reader, body_timeout, Duration::from_secs(60));
    let read_timeout = positive_duration(&mut reader, read_timeout, Duration::from_secs(30));

    let config = listen.map(|listen| InboundConfig {
        listen: listen.text,
        paths,
        methods,
        accept,
        charset,
        invalid_charset,
        duplicates,
        max_body,
        gzip,
        read_timeout,
        body_timeout,
        response,
        references,
        auth,
        tls: tls.map(|tls| ServerTlsFiles {
            certificate: PathBuf::from(tls.certificate),
            key: PathBuf::from(tls.key),
            client_ca: tls.client_ca.map(PathBuf::from),
        }),
        max_connections,
        retry_after: duration_or(retry_after.as_ref(), Duration::from_secs(5)),
        idempotency_header,
    });
    reader.finish(config)
}

/// The `idempotency_header` setting, or `Idempotency-Key`.
pub(crate) fn header_name_of(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<String>>,
) -> HeaderName {
    let default = HeaderName::from_static("idempotency-key");
    let Some(setting) = setting else {
        return default;
    };
    match HeaderName::from_bytes(setting.value.as_bytes()) {
        Ok(name) => name,
        Err(_) => {
            let message = format!("'{}' is not a valid header name", setting.value);
            setting_problem(reader, setting.at, message, None);
            default
        }
    }
}

fn paths_of(reader: &mut SettingsReader<'_>, setting: Option<Setting<OneOrMany>>) -> Vec<String> {
    let Some(setting) = setting else {
        return vec!["/messages".to_owned()];
    };
    let paths = setting.value.into_vec();
    let mut problems = Vec::new();
    if paths.is_empty() {
        problems.push("`path` must be one or more literal paths starting with '/'".to_owned());
    }
    for (index, path) in paths.iter().enumerate() {
        if let Some(problem) = path_problem(path) {
            problems.push(format!(
                "`path` must be one or more literal paths starting with '/': '{path}' {problem}"
            ));
        } else if paths[..index].contains(path) {
            problems.push(format!("`path` lists '{path}' twice"));
        }
    }
    if problems.is_empty() {
        return paths;
    }
    for message in problems {
        setting_problem(reader, setting.at, message, Some("e.g. /messages"));
    }
    vec!["/messages".to_owned()]
}

/// What makes `path` unusable as a literal request path, if anything: it must start with
/// '/' and hold only characters a request path carries as they are (no query, fragment,
/// space or control character), and none of the route syntax of web frameworks (`:name`,
/// `*rest`, `{name}`), which would read as a pattern to a person even though Ferry matches
/// paths literally.
fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("does not start with '/'");
    }
    if path
        .bytes()
        .any(|b| !b.is_ascii_graphic() || matches!(b, b'?' | b'#' | b'{' | b'}' | b'*'))
    {
        return Some(
            "holds a character that is not literal in a request path \
             (?, #, {, }, *, a space, a control or non-ASCII character)",
        );
    }
    if path.split('/').any(|segment| segment.starts_with(':')) {
        return Some("has a segment starting with ':'");
    }
    None
}

fn methods_of(reader: &mut SettingsReader<'_>, setting: Option<Setting<OneOrMany>>) -> Vec<Method> {
    let Some(setting) = setting else {
        return vec![Method::POST];
    };
    let mut methods = Vec::new();
    for name in setting.value.into_vec() {
        match ACCEPTED_METHODS
            .iter()
            .find(|method| method.as_str().eq_ignore_ascii_case(&name))
        {
            Some(method) => methods.push(method.clone()),
            None => {
                let message = format!("method '{name}' cannot carry a message");
                setting_problem(reader, setting.at, message, Some("POST, PUT or PATCH"));
            }
        }
    }
    if methods.is_empty() {
        methods.push(Method::POST);
    }
    methods
}

fn kinds_of(
    reader: &mut SettingsReader<'_>,
    setting: Option<Setting<OneOrMany>>,
) -> Vec<ContentKind> {
    let Some(setting) = setting else {
        return DEFAULT_KINDS.to_vec();
    };
    let mut kinds = Vec::new();
    for name in setting.value.into_vec() {
        match DEFAULT_KINDS.into_iter().find(|kind| kind.as_str() == name) {
            Some(kind) => kinds.push(kind),
            None => {
                let message = format!("unknown body kind '{name}' in `accept`");
                setting_problem(
                    reader,
                    setting.at,
                    message,
                    Some("hl7v2, xml, json or text"),
                );
            }
        }
    }
    if kinds.is_empty() {
        return DEFAULT_KINDS.to_vec();
    }
    kinds
}

fn auth_of(reader: &mut SettingsReader<'_>, auth: Setting<AuthWritten>) -> Option<AuthSettings> {
    let written = auth.value;
    match (
        written.bearer_token_env,
        written.basic_user,
        written.basic_password_env,
    ) {
        (Some(token_env), None, None) => {
            require_secret_variable(reader, auth.at, &token_env, "the bearer token");
            Some(AuthSettings::Bearer { token_env })
        }
        (None, Some(user), Some(_)) if user.contains(':') => {
            let message = "`basic_user` cannot contain ':': HTTP Basic credentials are \
                           user:password, so the server could not tell where the user ends";
            setting_problem(reader, auth.at, message, Some("RFC 7617 section 2"));
            None
        }
        (None, Some(user), Some(password_env)) => {
            require_secret_variable(reader, auth.at, &password_env, "the Basic password");
            Some(AuthSettings::Basic { user, password_env })
        }
        _ => {
            let message = "`auth` needs either `bearer_token_env`, or `basic_user` and \
                           `basic_password_env`";
            let hint = "secrets come from environment variables: name the variable";
            setting_problem(reader, auth.at, message, Some(hint));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use ferry_production::{Source, parse};

    use super::*;

    /// The checked settings of item `A` (a service when `service` is true), or every
    /// problem found, one per line.
    fn read(service: bool, settings: &str) -> Result<String, String> {
        let (role, targets) = match service {
            true => ("service", "    targets: [X]\n"),
            false => ("operation", ""),
        };
        let text = format!(
            "production: p\nitems:\n  - name: A\n    {role}: http\n{targets}    settings:\n\
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
        let result = match service {
            true => inbound(item).map(|config| format!("{config:?}")),
            false => outbound(item).map(|config| format!("{config:?}")),
        };
        result.map_err(|problems| problems.to_string())
    }

    #[test]
    fn service_defaults_are_the_documented_ones() {
        let config = read(true, "      listen: 127.0.0.1:0\n").unwrap();
        for expected in [
            "paths: [\"/messages\"]",
            "methods: [POST]",
            "max_body: 16777216",
            "gzip: true",
            "read_timeout: 30s",
            "body_timeout: 60s",
            "response: Accepted",
            "max_connections: 256",
            "retry_after: 5s",
            "\"idempotency-key\"",
        ] {
            assert!(config.contains(expected), "{expected} in {config}");
        }
    }

    #[test]
    fn every_service_problem_is_reported_at_once() {
        let settings = [
            "listen: 127.0.0.1:0",
            "path: [messages, /a, /a, \"/b/:c\", \"/d/{e}\", /f/*g]",
            "methods: [GET]",
            "accept: [pdf]",
            "max_body: 0",
            "response_timeout: 5s",
            "auth: { bearer_token_env: T, basic_user: u }",
        ]
        .map(|line| format!("      {line}\n"))
        .concat();
        let problems = read(true, &settings).unwrap_err();
        for expected in [
            "'messages' does not start with '/'",
            "`path` lists '/a' twice",
            "'/b/:c' has a segment starting with ':'",
            "'/d/{e}' holds a character",
            "'/f/*g' holds a character",
            "method 'GET' cannot carry a message",
            "unknown body kind 'pdf'",
            "a size limit must be above 0",
            "`response_timeout` is only used with `response_from`",
            "`auth` needs either `bearer_token_env`",
        ] {
            assert!(problems.contains(expected), "{expected} in {problems}");
        }
    }

    #[test]
    fn zero_timeouts_and_ambiguous_basic_users_are_refused() {
        let settings = [
            "listen: 127.0.0.1:0",
            "read_timeout: 0s",
            "auth: { basic_user: \"us:er\", basic_password_env: P }",
        ]
        .map(|line| format!("      {line}\n"))
        .concat();
        let problems = read(true, &settings).unwrap_err();
        assert!(
            problems.contains("the duration must be above 0"),
            "{problems}"
        );
        assert!(
            problems.contains("`basic_user` cannot contain ':'"),
            "{problems}"
        );
    }

    #[test]
    fn operation_problems_name_the_setting() {
        let settings = [
            "url: \"https://{MSH-4}/x\"",
            "method: TRACE",
            "status_actions: { \"4xx\": suspend, \"700\": retry, \"409\": maybe }",
            "on_ambiguous_timeout: hope",
            "tls: { certificate: c.pem }",
            "timeout: 0s",
            "headers: { Host: elsewhere.example, X-Source: ferry }",
        ]
        .map(|line| format!("      {line}\n"))
        .concat();
        let problems = read(false, &settings).unwrap_err();
        for expected in [
            "bad `url`: placeholders may only stand in the path or query",
            "unknown method 'TRACE'",
            "unknown status `700`",
            "unknown action 'maybe' for 409",
            "unknown on_ambiguous_timeout 'hope'",
            "`tls.certificate` and `tls.key` go together",
            "the duration must be above 0",
            "header `host` is set by Ferry from the URL and the body",
        ] {
            assert!(problems.contains(expected), "{expected} in {problems}");
        }
    }
}
