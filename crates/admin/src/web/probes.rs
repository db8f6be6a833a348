//! The endpoints that answer without credentials, as orchestrators and Prometheus expect:
//! liveness, readiness and metrics. None of them says anything about messages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::router::WebState;

/// The Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// 200 while the process answers at all.
pub(super) async fn healthz() -> &'static str {
    "alive\n"
}

/// 200 when the production is ready for traffic, 503 with the reason otherwise.
pub(super) async fn readyz(State(web): State<WebState>) -> Response {
    match web.admin.engine.ready() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

/// The Prometheus exposition, or 503 when this process has no recorder of its own.
pub(super) async fn metrics(State(web): State<WebState>) -> Response {
    match &web.admin.metrics {
        Some(handle) => ([(CONTENT_TYPE, PROMETHEUS_TEXT)], handle.render()).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not available: another metrics recorder was installed first\n",
        )
            .into_response(),
    }
}
