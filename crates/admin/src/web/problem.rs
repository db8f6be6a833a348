//! Failures of the web API as answers: a status and a JSON body `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed API call: its status and a sentence for the person using the UI.
#[derive(Debug)]
pub(super) struct Problem {
    status: StatusCode,
    text: String,
}

impl Problem {
    /// A failure with `status` and `text`.
    pub(super) fn new(status: StatusCode, text: impl Into<String>) -> Self {
        Problem {
            status,
            text: text.into(),
        }
    }

    /// 400: the request itself is wrong (a bad filter, an id that is not a number).
    pub(super) fn bad_request(text: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, text)
    }

    /// 404: nothing by that name or id.
    pub(super) fn not_found(text: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, text)
    }

    /// 400 for a search the production cannot answer (a field it does not index), 500
    /// when the store could not be read.
    pub(super) fn engine(error: &ferry_runtime::EngineError) -> Self {
        match error {
            ferry_runtime::EngineError::Admin(store) => Problem::store(store),
            other => Problem::bad_request(other.to_string()),
        }
    }

    /// 500: the store could not be read; the cause is logged, the UI gets a sentence.
    pub(super) fn store(error: &ferry_store::StoreError) -> Self {
        tracing::error!(%error, "admin web: the store could not be read");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the store could not be read: {error}"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.text }))).into_response()
    }
}
