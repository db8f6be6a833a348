//! `operation: http`: one request per message, judged by its status.
//!
//! Every attempt for a message carries the same idempotency key, the message's header id,
//! so a server that deduplicates can tell a resend from a new message. Failures are told
//! apart by when they happened: before the request left (refused connection, name
//! lookup, TLS handshake, connect timeout) nothing reached the server and a retry is
//! plainly safe; after it left (a response timeout, a connection lost while waiting) the
//! server may have acted on it, so the reason says "outcome unknown" and the
//! `on_ambiguous_timeout` setting decides between resending and suspending. A response is
//! judged by `status_actions`, and kept with the message whatever it said. A server's
//! `Retry-After` reaches the engine, which waits at least that long before the next try.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use ferry_adapter::{
    AdapterError, Delivered, Delivery, DeliveryError, Operation, OperationFactory, Reporter,
};
use ferry_message::{ContentKind, ItemName, NewBody};
use ferry_production::{Diagnostics, Item};
use reqwest::redirect::Policy;
use reqwest::{Client, Response};

use crate::settings::{self, AmbiguousTimeout, OutboundConfig};
use crate::status_actions::StatusAction;
use ferry_adapter::{MediaType, content_type_for};

/// Builds `operation: http` items.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpOperationFactory;

impl OperationFactory for HttpOperationFactory {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn build(&self, item: &Item) -> Result<Arc<dyn Operation>, Diagnostics> {
        let config = settings::outbound(item)?;
        Ok(Arc::new(HttpOperation {
            item: item.name.clone(),
            config,
            ready: RwLock::new(None),
        }))
    }
}

struct HttpOperation {
    item: ItemName,
    config: OutboundConfig,
    /// Set by `start`: the client and what was read from the environment.
    ready: RwLock<Option<Ready>>,
}

#[derive(Clone)]
struct Ready {
    client: Client,
    /// Static headers and those whose values came from the environment.
    headers: HeaderMap,
    report: Reporter,
}

/// How far a failed exchange got.
enum Failure {
    /// Nothing reached the server.
    BeforeSending(String),
    /// The request left; the server may have acted on it.
    AfterSending(String),
}

#[async_trait]
impl Operation for HttpOperation {
    async fn start(&self, report: &Reporter) -> Result<(), AdapterError> {
        if !self.config.tls.verify {
            report.warn(
                "TLS certificate verification is OFF (tls.verify: false): any server can \
                 pose as the receiver",
            );
        }
        let headers = self
            .headers()
            .map_err(|e| AdapterError::new(&self.item, e))?;
        let builder = Client::builder()
            .connect_timeout(self.config.connect_timeout)
            .timeout(self.config.timeout)
            .redirect(Policy::none())
            .no_proxy();
        let client = crate::tls::client(builder, &self.config.tls)
            .and_then(|builder| builder.build().map_err(|error| error_chain(&error)))
            .map_err(|error| AdapterError::new(&self.item, error))?;
        let ready = Ready {
            client,
            headers,
            report: report.clone(),
        };
        *self.ready.write().unwrap_or_else(|e| e.into_inner()) = Some(ready);
        Ok(())
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let ready = self.ready.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(ready) = ready else {
            return Err(DeliveryError::retry(
                "the HTTP client is not set up: the item did not start",
            ));
        };
        let url = self.config.url.render(delivery.header, delivery.body);
        let target = host_of(&url);

        let response = match self.send(&ready, &url, delivery).await {
            Ok(response) => response,
            Err(Failure::BeforeSending(reason)) => {
                let reason = format!("{target}: {reason} (nothing was sent)");
                return Err(DeliveryError::retry(reason));
            }
            Err(Failure::AfterSending(reason)) => {
                let reason = format!("{target}: {reason}, outcome unknown");
                return Err(match self.config.on_ambiguous_timeout {
                    AmbiguousTimeout::Retry => DeliveryError::retry(reason),
                    AmbiguousTimeout::Suspend => DeliveryError::suspend(reason),
                });
            }
        };
        ready.report.recovered();
        self.judge(response, &target).await
    }
}

impl HttpOperation {
    /// The static headers and the ones whose values the environment holds.
    fn headers(&self) -> Result<HeaderMap, String> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.config.headers {
            headers.append(name.clone(), value.clone());
        }
        for (name, variable) in &self.config.headers_env {
            let value = std::env::var(variable).map_err(|_| {
                format!("the environment variable {variable} (for header {name}) is not set")
            })?;
            let value = value.parse().map_err(|_| {
                format!("the environment variable {variable} is not a valid value for {name}")
            })?;
            headers.append(name.clone(), value);
        }
        Ok(headers)
    }

    async fn send(
        &self,
        ready: &Ready,
        url: &str,
        delivery: Delivery<'_>,
    ) -> Result<Response, Failure> {
        let body = delivery.body;
        let content_type = match &self.config.content_type {
            Some(value) => value.clone(),
            None => content_type_for(body.kind, body.charset.as_deref())
                .parse()
                .map_err(|_| Failure::BeforeSending("the body's charset is no header".into()))?,
        };
        let request = ready
            .client
            .request(self.config.method.clone(), url)
            .headers(ready.headers.clone())
            .header(
                &self.config.idempotency_header,
                delivery.header.id.to_string(),
            )
            .header(CONTENT_TYPE, content_type)
            .body(body.bytes.clone());

        request.send().await.map_err(|error| {
            let reason = error_chain(&error);
            if error.is_connect() || error.is_builder() {
                if let Some(problem) = tls_problem(&error) {
                    let text = format!("TLS with {} refused: {problem}", host_of(url));
                    ready.report.trouble("TLS handshake failed", text);
                }
                Failure::BeforeSending(reason)
            } else if error.is_timeout() {
                Failure::AfterSending(format!("{reason}: timed out after sending"))
            } else {
                Failure::AfterSending(format!("{reason}: connection lost after sending"))
            }
        })
    }

    /// Reads the response (up to `max_response`) and applies the status actions.
    async fn judge(
        &self,
        mut response: Response,
        target: &str,
    ) -> Result<Delivered, DeliveryError> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| crate::retry_after::parse(value, jiff::Timestamp::now()));
        let media = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(MediaType::parse);

        let mut bytes = Vec::new();
        let mut cut = false;
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = self.config.max_response.saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                cut = true;
                break;
            }
        }

        let mut reason = format!("HTTP {} from {target}", status.as_u16());
        let preview = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        if !preview.trim().is_empty() {
            reason.push_str(": ");
            reason.push_str(preview.trim());
        }
        if cut {
            reason.push_str(&format!(
                " (response cut at max_response, {} bytes)",
                bytes.len()
            ));
        }
        let response = (!bytes.is_empty()).then(|| {
            let kind = media
                .as_ref()
                .and_then(|m| m.kind)
                .unwrap_or(ContentKind::Binary);
            let mut body = NewBody::new(kind, bytes);
            body.charset = media.and_then(|m| m.charset);
            body
        });

        let action = self.config.status_actions.action(status.as_u16());
        let outcome = action.outcome(reason, response);
        // Only a retry waits: the server's Retry-After paces the next attempt.
        match (action, retry_after) {
            (StatusAction::Retry, Some(delay)) => outcome.map_err(|e| e.with_retry_after(delay)),
            _ => outcome,
        }
    }
}

/// `host:port` of a URL, for reasons; the URL itself may carry message data.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_string(),
        },
        Err(_) => "the URL".to_owned(),
    }
}

/// An error and its causes, outermost first, each said once.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// The TLS failure inside a connect error, if that is what it was. Layers between
/// reqwest and rustls box their causes, and a boxed or `io::Error`-wrapped cause hides
/// itself from `source()`, so each of those wrappers is opened as well.
fn tls_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(tls) = cause.downcast_ref::<tokio_rustls::rustls::Error>() {
            return Some(tls.to_string());
        }
        let inner = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        if let Some(found) = inner.and_then(tls_problem) {
            return Some(found);
        }
        source = cause.source();
    }
    None
}
