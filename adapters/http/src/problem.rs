//! Every answer the service gives other than success: a status and a JSON body saying
//! what went wrong, where, and the id of the Error record when one was stored.
//!
//! This is the one place where failures become HTTP answers. Answers given before the
//! body was read to its end also close the connection (`Connection: close`): the unread
//! rest of the body would otherwise be taken for the next request.

use std::time::Duration;

use axum::Json;
use axum::http::header::{ALLOW, CONNECTION, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_message::MessageId;
use serde_json::json;

/// A refused or failed request.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    status: StatusCode,
    error: String,
    place: &'static str,
    id: Option<MessageId>,
    close: bool,
    retry_after: Option<Duration>,
    challenge: Option<&'static str>,
    allow: Option<String>,
}

impl Problem {
    /// A problem with `status`; `place` says where in the request it is (`body`,
    /// `Content-Type header`, `request line`).
    pub(crate) fn new(status: StatusCode, place: &'static str, error: impl Into<String>) -> Self {
        Problem {
            status,
            error: error.into(),
            place,
            id: None,
            close: false,
            retry_after: None,
            challenge: None,
            allow: None,
        }
    }

    /// The id of the Error record the engine stored for the request.
    pub(crate) fn stored_as(mut self, id: MessageId) -> Self {
        self.id = Some(id);
        self
    }

    /// Closes the connection after answering.
    pub(crate) fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// Asks the client to wait before trying again.
    pub(crate) fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The `WWW-Authenticate` challenge of a 401.
    pub(crate) fn challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }
}

impl Problem {
    /// The methods a 405 names in its `Allow` header.
    pub(crate) fn allow(mut self, methods: String) -> Self {
        self.allow = Some(methods);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error, "where": self.place });
        if let Some(id) = self.id {
            body["id"] = json!(id.to_string());
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.close {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(delay) = self.retry_after {
            let seconds = delay.as_secs().max(1);
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(allow) = self
            .allow
            .and_then(|allow| HeaderValue::from_str(&allow).ok())
        {
            headers.insert(ALLOW, allow);
        }
        response
    }
}
