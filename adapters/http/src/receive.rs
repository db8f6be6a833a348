//! One request to `service: http`: check it, read its body within the limits, store it,
//! answer.
//!
//! The checks run cheapest first and before any body byte is read: method, framing,
//! credentials, room in the queues, content type and encoding, declared length. Nothing
//! is stored for a request refused there. A body that was read but that the engine finds
//! unusable (bad HL7) is stored with status Error by the engine, and the answer names its
//! id. No 2xx leaves before [`Intake::submit`] (or [`Intake::request`]) has returned,
//! that is before the message is on disk.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use ferry_adapter::{
    CharsetChoice, InboundMessage, IntakeError, Reply, ReplyOutcome, ServiceContext, Submitted,
};
use ferry_message::{ContentKind, Status};
use serde_json::json;

use crate::auth::Credentials;
use crate::limits::{BodyError, BodyLimits, drain_later, read_body};
use crate::problem::Problem;
use crate::refusals::Refusals;
use crate::settings::{InboundConfig, ResponseMode};
use ferry_adapter::{MediaType, content_type_for};

/// What the listener knows of the connection a request came on.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
}

/// Serves the requests of one service.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) ctx: ServiceContext,
    pub(crate) config: InboundConfig,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) refusals: Refusals,
    /// Cancelled when the service is stopping and bodies still being read are abandoned.
    pub(crate) cut: tokio_util::sync::CancellationToken,
}

/// The handler of every configured path.
pub(crate) async fn receive(State(receiver): State<Arc<Receiver>>, request: Request) -> Response {
    let version = request.version();
    match receiver.take(request).await {
        Ok(response) => response,
        Err(problem) => {
            let mut response = problem.into_response();
            // HTTP/2 ends a stream, not the connection; hyper refuses the header there.
            if version >= Version::HTTP_2 {
                response.headers_mut().remove(CONNECTION);
            }
            response
        }
    }
}

/// The answer for a path no message is taken at.
pub(crate) async fn not_found() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "path",
        "no messages are taken at this path",
    )
    .into_response()
}

impl Receiver {
    async fn take(&self, request: Request) -> Result<Response, Problem> {
        let (parts, mut body) = request.into_parts();
        let peer = parts.extensions.get::<Peer>().cloned();
        let (media, gzip) = match self.check(&parts, peer.as_ref()) {
            Ok(checked) => checked,
            Err(problem) => {
                drain_later(body);
                return Err(problem);
            }
        };

        let limits = BodyLimits {
            max: self.config.max_body,
            idle: self.config.read_timeout,
            total: self.config.body_timeout,
            gzip,
        };
        let bytes = match read_body(&mut body, limits, &self.cut).await {
            Ok(bytes) => bytes,
            Err(error) => {
                if matches!(error, BodyError::TooLarge { .. } | BodyError::Corrupt(_)) {
                    drain_later(body);
                }
                return Err(self.body_problem(error, peer.as_ref()));
            }
        };

        let delivery_id = parts
            .headers
            .get(&self.config.idempotency_header)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty());
        let mut message = self.message(media, bytes, peer.as_ref())?;
        message.delivery_id = delivery_id;
        match &self.config.response {
            ResponseMode::Accepted => self.submit(message).await,
            ResponseMode::From { operation, timeout } => {
                let reply = self
                    .ctx
                    .intake
                    .request(message, operation, *timeout)
                    .await
                    .map_err(|error| intake_problem(error, self.config.retry_after))?;
                Ok(answer_reply(reply, operation.as_str()))
            }
        }
    }

    /// The checks made before any body byte is read; gives the media type and whether
    /// the body is gzip-compressed.
    fn check(&self, parts: &Parts, peer: Option<&Peer>) -> Result<(MediaType, bool), Problem> {
        self.check_method(parts)?;
        self.check_credentials(&parts.headers)?;
        if !self.ctx.intake.has_room() {
            let error = "the queue limit is reached or the service is disabled; try later";
            return Err(
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "service", error)
                    .retry_after(self.config.retry_after)
                    .closing(),
            );
        }
        let media = self.media_type(&parts.headers)?;
        let gzip = self.encoding(&parts.headers)?;
        self.check_length(&parts.headers, gzip, peer)?;
        Ok((media, gzip))
    }

    fn check_method(&self, parts: &Parts) -> Result<(), Problem> {
        if self.config.methods.contains(&parts.method) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.config.methods.iter().map(|m| m.as_str()).collect();
        let error = format!("method {} is not accepted here", parts.method);
        Err(
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method", error)
                .allow(allowed.join(", "))
                .closing(),
        )
    }

    fn check_credentials(&self, headers: &HeaderMap) -> Result<(), Problem> {
        match &self.credentials {
            Some(credentials) if !credentials.admits(headers) => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "Authorization header",
                "missing or wrong credentials",
            )
            .challenge(credentials.challenge())
            .closing()),
            _ => Ok(()),
        }
    }

    fn media_type(&self, headers: &HeaderMap) -> Result<MediaType, Problem> {
        let place = "Content-Type header";
        let unsupported = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        let value = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| Problem::new(unsupported, place, "no Content-Type").closing())?;
        let media = MediaType::parse(value)
            .ok_or_else(|| Problem::new(unsupported, place, "not a media type").closing())?;
        match media.kind {
            Some(kind) if self.config.accept.contains(&kind) => Ok(media),
            _ => {
                let accepted: Vec<&str> = self.config.accept.iter().map(|k| k.as_str()).collect();
                let error = format!(
                    "{} is not accepted here (accepted: {})",
                    media.essence,
                    accepted.join(", ")
                );
                Err(Problem::new(unsupported, place, error).closing())
            }
        }
    }

    /// Whether the body is gzip-compressed; other encodings are refused.
    fn encoding(&self, headers: &HeaderMap) -> Result<bool, Problem> {
        let Some(value) = headers.get(CONTENT_ENCODING) else {
            return Ok(false);
        };
        let value = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
        match value.as_str() {
            "" | "identity" => Ok(false),
            "gzip" | "x-gzip" if self.config.gzip => Ok(true),
            other => Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Encoding header",
                format!("Content-Encoding '{other}' is not accepted here"),
            )
            .closing()),
        }
    }

    /// Refuses a plain body whose declared length is over the limit before reading it.
    fn check_length(
        &self,
        headers: &HeaderMap,
        gzip: bool,
        peer: Option<&Peer>,
    ) -> Result<(), Problem> {
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        match declared {
            Some(length) if !gzip && length > self.config.max_body as u64 => {
                self.note_refusal(peer, &format!("a declared Content-Length of {length}"));
                Err(self.too_large())
            }
            _ => Ok(()),
        }
    }

    fn too_large(&self) -> Problem {
        let limit = self.config.max_body;
        let error = format!("the body is larger than max_body ({limit} bytes)");
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "body", error).closing()
    }

    fn body_problem(&self, error: BodyError, peer: Option<&Peer>) -> Problem {
        match error {
            BodyError::TooLarge { wire, .. } => {
                self.note_refusal(peer, &format!("{wire} bytes read before stopping"));
                self.too_large()
            }
            BodyError::Timeout { wire, .. } => {
                let what = format!("a body that stopped after {wire} bytes");
                let peer = peer.map_or_else(String::new, |peer| format!(" from {}", peer.addr));
                self.refusals.warn(
                    self.ctx.intake.as_ref(),
                    format!(
                        "{what}{peer} timed out after {:?}",
                        self.config.read_timeout
                    ),
                );
                Problem::new(StatusCode::REQUEST_TIMEOUT, "body", error.to_string()).closing()
            }
            BodyError::TooSlow { wire, .. } => {
                let peer = peer.map_or_else(String::new, |peer| format!(" from {}", peer.addr));
                self.refusals.warn(
                    self.ctx.intake.as_ref(),
                    format!(
                        "a body{peer} still unfinished after body_timeout ({:?}), after {wire} \
                         bytes",
                        self.config.body_timeout
                    ),
                );
                Problem::new(StatusCode::REQUEST_TIMEOUT, "body", error.to_string()).closing()
            }
            BodyError::Stopping { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service",
                error.to_string(),
            )
            .closing(),
            BodyError::Corrupt(_) | BodyError::Cut(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "body", error.to_string()).closing()
            }
        }
    }

    fn note_refusal(&self, peer: Option<&Peer>, size: &str) {
        let peer = peer.map_or_else(String::new, |peer| format!(" from {}", peer.addr));
        let text = format!(
            "refused a body over max_body ({} bytes){peer}: {size}",
            self.config.max_body
        );
        self.refusals.warn(self.ctx.intake.as_ref(), text);
    }

    fn message(
        &self,
        media: MediaType,
        bytes: bytes::Bytes,
        peer: Option<&Peer>,
    ) -> Result<InboundMessage, Problem> {
        let kind = media.kind.unwrap_or(ContentKind::Binary);
        let charset = match media.charset.as_deref() {
            None => self.config.charset,
            Some(label) => match encoding_rs::Encoding::for_label(label.as_bytes())
                .or_else(|| ferry_hl7::encoding_for_msh18(label))
            {
                Some(encoding) => CharsetChoice::Forced(encoding),
                None => {
                    return Err(Problem::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "Content-Type header",
                        format!("unknown charset '{label}'"),
                    ));
                }
            },
        };
        let mut message = InboundMessage::new(kind, bytes);
        message.charset = charset;
        message.origin = peer.map(|peer| peer.addr.to_string());
        message.duplicates = self.config.duplicates;
        message.invalid_text = self.config.invalid_charset;
        Ok(message)
    }

    async fn submit(&self, message: InboundMessage) -> Result<Response, Problem> {
        let submitted = self
            .ctx
            .intake
            .submit(vec![message])
            .await
            .map_err(|error| intake_problem(error, self.config.retry_after))?;
        match submitted.into_iter().next() {
            Some(submitted) => Ok(answer_submitted(submitted)),
            None => Err(Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "service",
                "the engine returned no record for the message",
            )),
        }
    }
}

fn answer_submitted(submitted: Submitted) -> Response {
    match submitted {
        Submitted::Accepted {
            id,
            session,
            possible_duplicate,
            warnings,
            already_stored,
        } => {
            let body = json!({
                "id": id.to_string(),
                "session": session.to_string(),
                "possible_duplicate": possible_duplicate,
                "already_stored": already_stored,
                "warnings": warnings,
            });
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Submitted::Rejected { id, reason } => rejected(id, reason),
    }
}

fn rejected(id: ferry_message::MessageId, reason: String) -> Response {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "body", reason)
        .stored_as(id)
        .into_response()
}

fn answer_reply(reply: Reply, operation: &str) -> Response {
    let (id, session) = match reply.submitted {
        Submitted::Rejected { id, reason } => return rejected(id, reason),
        Submitted::Accepted { id, session, .. } => (id, session),
    };
    match reply.outcome {
        Some(ReplyOutcome::Finished(Status::Completed)) => match reply.response {
            Some(body) => {
                let content_type = content_type_for(body.kind, body.charset.as_deref());
                let mut response = (StatusCode::OK, body.bytes).into_response();
                if let Ok(value) = HeaderValue::from_str(&content_type) {
                    response.headers_mut().insert(CONTENT_TYPE, value);
                }
                response
            }
            None => {
                let body = json!({ "id": id.to_string(), "session": session.to_string() });
                (StatusCode::OK, Json(body)).into_response()
            }
        },
        Some(ReplyOutcome::Finished(status)) => {
            let error = format!("{operation} ended the message with status {status:?}");
            Problem::new(StatusCode::BAD_GATEWAY, "operation", error)
                .stored_as(id)
                .into_response()
        }
        Some(ReplyOutcome::NotRouted) | None => {
            let error = format!("the message was stored but never reached {operation}");
            Problem::new(StatusCode::BAD_GATEWAY, "routing", error)
                .stored_as(id)
                .into_response()
        }
    }
}

fn intake_problem(error: IntakeError, retry_after: std::time::Duration) -> Problem {
    let service = StatusCode::SERVICE_UNAVAILABLE;
    match error {
        IntakeError::Store(_) => {
            Problem::new(service, "store", error.to_string()).retry_after(retry_after)
        }
        IntakeError::ShuttingDown => Problem::new(service, "service", error.to_string()).closing(),
        IntakeError::Timeout { ref submitted, .. } => {
            let id = match submitted {
                Submitted::Accepted { id, .. } | Submitted::Rejected { id, .. } => *id,
            };
            Problem::new(StatusCode::GATEWAY_TIMEOUT, "operation", error.to_string()).stored_as(id)
        }
        IntakeError::NoResponder(_) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "service",
            error.to_string(),
        ),
    }
}
